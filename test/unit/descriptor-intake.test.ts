import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { signDescriptor, type UnsignedDescriptor } from '../../src/discovery/descriptor.ts'
import { DescriptorIntake, DigestMismatchError } from '../../src/discovery/intake.ts'
import { DescriptorStore } from '../../src/discovery/store.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { tempDir } from '../helpers.ts'
import { canonicalEncode } from '../../src/util/canonical.ts'

let alice: Identity
let mallory: Identity
let clock = 1_700_000_000_000
const now = () => clock

beforeAll(async () => {
  const { dir } = await tempDir()
  alice = await createIdentity(join(dir, 'alice.key'))
  mallory = await createIdentity(join(dir, 'mallory.key'))
})

function body(seq: number, overrides: Partial<UnsignedDescriptor> = {}): UnsignedDescriptor {
  return {
    v: 1,
    peer: alice.peerId.toString(),
    seq,
    iat: clock,
    ttl: 15_000,
    addrs: [],
    state: { load: 0.1, memFree: 1_000_000, queue: 0 },
    caps: [],
    attest: { tpm: false },
    ...overrides,
  }
}

/** An intake over a fresh store, with a verifier that counts its calls. */
function setup(init: ConstructorParameters<typeof DescriptorIntake>[1] = {}) {
  const store = new DescriptorStore({ now })
  const real = createVerifier()
  const calls = { n: 0 }
  const verify = (peer: string, data: Uint8Array, sig: Uint8Array) => {
    calls.n++
    return real(peer, data, sig)
  }
  const intake = new DescriptorIntake({ store, verify, self: 'me' }, { now, ...init })
  return { store, intake, calls }
}

describe('DescriptorIntake', () => {
  it('verifies a new body once and stores it', () => {
    const { store, intake, calls } = setup()
    const signed = signDescriptor(body(1), alice.sign)
    expect(intake.take(signed.bytes, 'n1')).toMatchObject({ result: 'accepted' })
    expect(calls.n).toBe(1)
    expect(store.get(alice.peerId.toString())?.descriptor.seq).toBe(1)
  })

  it('checks no signature for a held, stale, expired, skewed or malformed body, and counts each refusal', () => {
    const { store, intake, calls } = setup()
    const held = signDescriptor(body(5), alice.sign)
    intake.take(held.bytes, 'n1')
    calls.n = 0
    // the very body held, even with a garbage signature: nothing to verify, and the held one is kept
    const garbage = canonicalEncode({ ...held.descriptor, sig: new Uint8Array(64) })
    expect(intake.take(garbage, 'n2')).toMatchObject({ result: 'duplicate' })
    expect(intake.take(signDescriptor(body(4), alice.sign).bytes, 'n2')).toEqual({
      result: 'ignored',
      why: 'stale_seq',
    })
    const future = signDescriptor(body(6, { iat: clock + 3_600_000 }), alice.sign)
    expect(() => intake.take(future.bytes, 'n2')).toThrow(expect.objectContaining({ reason: 'clock_skew' }))
    const old = signDescriptor(body(7, { iat: clock - 3_600_000 }), alice.sign)
    expect(intake.take(old.bytes, 'n2')).toEqual({ result: 'ignored', why: 'expired' })
    expect(() => intake.take(new Uint8Array([0x8a, 1, 2]), 'n2')).toThrow(
      expect.objectContaining({ reason: 'malformed' }),
    )
    expect(calls.n).toBe(0)
    expect(intake.counters.verifySkipped).toBe(1)
    expect(store.counters.rejected).toMatchObject({ stale_seq: 1, clock_skew: 1, expired: 1, malformed: 1 })
    expect(store.get(alice.peerId.toString())?.bytes).toBe(held.bytes)
  })

  it('rejects and counts a body signed by another key than its peer id names', () => {
    const { store, intake } = setup()
    const forged = signDescriptor(body(1), mallory.sign)
    expect(() => intake.take(forged.bytes, 'n1')).toThrow(
      expect.objectContaining({ reason: 'bad_signature' }),
    )
    expect(store.counters.rejected.bad_signature).toBe(1)
    expect(store.size).toBe(0)
  })

  it('does not verify a body again after it expired from the store (replay)', () => {
    const { store, intake, calls } = setup()
    const signed = signDescriptor(body(1), alice.sign)
    intake.take(signed.bytes, 'n1')
    clock += 20_000
    store.expire()
    // vouched for just now by its origin, so it is live again; its signature was checked before
    expect(intake.take(signed.bytes, 'n1', { peer: alice.peerId.toString(), at: clock })).toMatchObject({
      result: 'accepted',
    })
    expect(calls.n).toBe(1)
    clock -= 20_000
  })

  it('refuses a body that is not the digest its notice announced, before any signature', () => {
    const { intake, calls } = setup()
    const announced = signDescriptor(body(1), alice.sign)
    const served = signDescriptor(body(2), alice.sign)
    expect(() =>
      intake.take(served.bytes, 'n1', { peer: alice.peerId.toString(), at: clock, digest: announced.digest }),
    ).toThrow(DigestMismatchError)
    expect(calls.n).toBe(0)
    expect(intake.counters.digestMismatch).toBe(1)
  })

  it('limits the signatures one sender can make it check, and not the others', () => {
    const { intake, calls } = setup({ verifyRatePerSec: 1, verifyBurst: 2 })
    const results = [1, 2, 3].map(
      (seq) => intake.take(signDescriptor(body(seq), alice.sign).bytes, 'n1').result,
    )
    expect(results).toEqual(['accepted', 'replaced', 'limited'])
    expect(intake.take(signDescriptor(body(4), alice.sign).bytes, 'n2').result).toBe('replaced')
    clock += 1_000
    expect(intake.take(signDescriptor(body(5), alice.sign).bytes, 'n1').result).toBe('replaced')
    expect(calls.n).toBe(4)
    expect(intake.counters.limited).toBe(1)
    clock -= 1_000
  })

  it('takes life and state only from a notice by the descriptor’s own peer', () => {
    const { store, intake } = setup()
    const busy = { load: 0.95, memFree: 1, queue: 9 }
    const signed = signDescriptor(body(1, { iat: clock - 60_000 }), alice.sign)
    // a notice by someone else does not vouch for alice: her body signed a minute ago is dead
    expect(
      intake.take(signed.bytes, 'n1', { peer: mallory.peerId.toString(), at: clock, state: busy }),
    ).toEqual({ result: 'ignored', why: 'expired' })
    expect(
      intake.take(signed.bytes, 'n1', { peer: alice.peerId.toString(), at: clock, state: busy }),
    ).toMatchObject({ result: 'accepted' })
    expect(store.get(alice.peerId.toString())?.descriptor.state).toEqual(busy)
  })

  it('never takes this node’s own descriptor from the network', () => {
    const store = new DescriptorStore({ now })
    const intake = new DescriptorIntake(
      { store, verify: createVerifier(), self: alice.peerId.toString() },
      { now },
    )
    expect(intake.take(signDescriptor(body(1), alice.sign).bytes, 'n1')).toMatchObject({ result: 'ignored' })
    expect(store.size).toBe(0)
  })
})
