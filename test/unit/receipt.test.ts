/**
 * Receipts: canonical encoding, the provider's signature, and every way a receipt from the network is refused
 * (forged, tampered, truncated, for another task or provider, stale, replayed).
 */
import { join } from 'node:path'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import {
  decodeEvidence,
  decodeReceipt,
  encodeEvidence,
  encodeReceipt,
  EvidenceError,
  type EvidencePackage,
  hashValue,
  type Receipt,
  ReceiptReplayGuard,
  receiptHash,
  signReceipt,
  verifyEvidence,
  verifyReceipt,
} from '../../src/trust/evidence/index.ts'
import { tempDir } from '../helpers.ts'

let cleanup: () => Promise<void>
let provider: Identity
let other: Identity
const NOW = 1_800_000_000_000

beforeAll(async () => {
  const tmp = await tempDir('kith-receipt-')
  cleanup = tmp.cleanup
  provider = await createIdentity(join(tmp.dir, 'provider.key'))
  other = await createIdentity(join(tmp.dir, 'other.key'))
})
afterAll(() => cleanup())

function receipt(overrides: Partial<Receipt> = {}): Receipt {
  return {
    task: 'task-0123456789',
    cap: 'kitchen.light',
    codeHash: hashValue('function run(input) { return input }'),
    inputHash: hashValue({ on: true }),
    outputHash: hashValue({ on: true, changed: true }),
    start: NOW - 40,
    end: NOW - 5,
    provider: provider.peerId.toString(),
    ...overrides,
  }
}

function pkg(r: Receipt = receipt(), signer: Identity = provider): EvidencePackage {
  return { receipt: r, sig: signReceipt(r, signer.sign), kind: 'software' }
}

const expectations = () => ({
  expectedTask: 'task-0123456789',
  expectedProvider: provider.peerId.toString(),
  now: NOW,
})

function reason(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof EvidenceError) return err.reason
    throw err
  }
  return undefined
}

describe('receipt encoding', () => {
  it('encodes one way whatever the field order, and hashes that encoding', () => {
    const a = receipt()
    const b = Object.fromEntries(Object.entries(a).reverse()) as unknown as Receipt
    expect(encodeReceipt(a)).toEqual(encodeReceipt(b))
    expect(receiptHash(a)).toEqual(receiptHash(b))
    expect(receiptHash(a)).not.toEqual(receiptHash(receipt({ end: NOW - 4 })))
    expect(decodeReceipt(encodeReceipt(a))).toEqual(a)
  })

  it('hashes values independently of key order', () => {
    expect(hashValue({ a: 1, b: [1, 2] })).toEqual(hashValue({ b: [1, 2], a: 1 }))
    expect(hashValue(undefined)).toEqual(hashValue(null))
  })

  it('refuses fields out of bounds when encoding', () => {
    expect(reason(() => encodeReceipt(receipt({ task: '' })))).toBe('malformed')
    expect(reason(() => encodeReceipt(receipt({ cap: 'Not A Cap' })))).toBe('malformed')
    expect(reason(() => encodeReceipt(receipt({ codeHash: new Uint8Array(31) })))).toBe('malformed')
    expect(reason(() => encodeReceipt(receipt({ end: NOW - 100 })))).toBe('malformed')
    expect(reason(() => encodeReceipt(receipt({ start: -1 })))).toBe('malformed')
  })

  it('refuses bytes that are not a canonical receipt', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })
    const body = { ...receipt(), t: 'rcpt', v: 1 }
    // the same fields in insertion order: valid msgpack, valid fields, another encoding
    expect(reason(() => decodeReceipt(packr.pack(body)))).toBe('malformed')
    expect(reason(() => decodeReceipt(packr.pack({ ...body, extra: 1 })))).toBe('malformed')
    expect(reason(() => decodeReceipt(packr.pack({ ...body, t: 'req' })))).toBe('malformed')
    expect(reason(() => decodeReceipt(new Uint8Array(600)))).toBe('oversize')
    const bytes = encodeReceipt(receipt())
    for (let n = 0; n < bytes.byteLength; n++)
      expect(reason(() => decodeReceipt(bytes.subarray(0, n)))).toBe('malformed')
  })

  it('is signed by the provider and by no one else', () => {
    const verify = createVerifier()
    const r = receipt()
    expect(verifyReceipt(r, signReceipt(r, provider.sign), verify)).toBe(true)
    expect(verifyReceipt(r, signReceipt(r, other.sign), verify)).toBe(false)
    expect(verifyReceipt({ ...r, end: r.end + 1 }, signReceipt(r, provider.sign), verify)).toBe(false)
    expect(verifyReceipt(r, new Uint8Array(10), verify)).toBe(false)
  })
})

describe('verifyEvidence on receipts', () => {
  it('accepts a software receipt and says it is software-only', () => {
    const verdict = verifyEvidence(encodeEvidence(pkg()), expectations())
    expect(verdict).toMatchObject({ ok: true, kind: 'software' })
    expect(verdict.checks.every((c) => c.ok)).toBe(true)
    expect(verdict.checks.map((c) => c.name)).toEqual(['format', 'signature', 'task', 'provider', 'fresh'])
  })

  it('refuses a forged receipt: signed by another key in the provider’s name', () => {
    expect(verifyEvidence(pkg(receipt(), other), expectations())).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    })
  })

  it('refuses a receipt changed after signing', () => {
    const honest = pkg()
    const tampered = { ...honest, receipt: { ...honest.receipt, outputHash: hashValue({ on: false }) } }
    expect(verifyEvidence(encodeEvidence(tampered), expectations())).toMatchObject({
      reason: 'bad-signature',
    })
  })

  it('refuses evidence for another task, from another provider, or of another capability', () => {
    expect(verifyEvidence(pkg(receipt({ task: 'task-other-000' })), expectations())).toMatchObject({
      reason: 'wrong-task',
    })
    const theirs = pkg(receipt({ provider: other.peerId.toString() }), other)
    expect(verifyEvidence(theirs, expectations())).toMatchObject({ reason: 'wrong-provider' })
    expect(verifyEvidence(pkg(), { ...expectations(), expectedCap: 'door.unlock' })).toMatchObject({
      reason: 'wrong-cap',
    })
  })

  it('checks the hashes the requester knows', () => {
    const ok = {
      expectedInputHash: hashValue({ on: true }),
      expectedOutputHash: hashValue({ on: true, changed: true }),
    }
    expect(verifyEvidence(pkg(), { ...expectations(), ...ok }).ok).toBe(true)
    const wrong = { ...ok, expectedOutputHash: hashValue({ on: false }) }
    expect(verifyEvidence(pkg(), { ...expectations(), ...wrong })).toMatchObject({ reason: 'wrong-output' })
  })

  it('refuses stale receipts and receipts from the future', () => {
    const old = receipt({ start: NOW - 3_600_000, end: NOW - 3_599_000 })
    expect(verifyEvidence(pkg(old), expectations())).toMatchObject({ reason: 'stale' })
    const ahead = receipt({ start: NOW + 120_000, end: NOW + 121_000 })
    expect(verifyEvidence(pkg(ahead), expectations())).toMatchObject({ reason: 'clock-skew' })
  })

  it('detects a replayed receipt', () => {
    const replay = new ReceiptReplayGuard({ maxEntries: 2 })
    const bytes = encodeEvidence(pkg())
    expect(verifyEvidence(bytes, { ...expectations(), replay }).ok).toBe(true)
    expect(verifyEvidence(bytes, { ...expectations(), replay })).toMatchObject({
      ok: false,
      reason: 'replayed',
    })
    // bounded: the oldest is forgotten first
    for (const end of [NOW - 4, NOW - 3]) replay.remember(receiptHash(receipt({ end })))
    expect(replay.size).toBe(2)
    expect(verifyEvidence(bytes, { ...expectations(), replay }).ok).toBe(true)
  })

  it('refuses software-only evidence where hardware is required, and a quote with no AK to check it by', () => {
    expect(verifyEvidence(pkg(), { ...expectations(), requireHardware: true })).toMatchObject({
      ok: false,
      reason: 'hardware-required',
      kind: 'software',
    })
    const quoted: EvidencePackage = {
      ...pkg(),
      kind: 'tpm',
      quote: {
        attest: new Uint8Array(10),
        signature: new Uint8Array(10),
        akName: new Uint8Array(34),
        pcrs: { alg: 'sha256', selection: [7], values: [new Uint8Array(32)] },
      },
    }
    const attest = { tpm: false }
    expect(verifyEvidence(quoted, { ...expectations(), providerDescriptorAttest: attest })).toMatchObject({
      reason: 'no-ak',
    })
  })

  it('refuses truncated and malformed packages with a reason, never an exception', () => {
    const bytes = encodeEvidence(pkg())
    for (let n = 0; n < bytes.byteLength; n++) {
      const verdict = verifyEvidence(bytes.subarray(0, n), expectations())
      expect(verdict.ok).toBe(false)
      if (!verdict.ok) expect(['malformed', 'oversize']).toContain(verdict.reason)
    }
    expect(verifyEvidence(new Uint8Array(9000), expectations())).toMatchObject({ reason: 'oversize' })
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (junk) => {
        expect(verifyEvidence(junk, expectations()).ok).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  it('round-trips a package and refuses one that claims a quote it lacks', () => {
    const p = pkg()
    expect(decodeEvidence(encodeEvidence(p))).toEqual(p)
    expect(reason(() => encodeEvidence({ ...p, kind: 'tpm' }))).toBe('malformed')
    expect(verifyEvidence({ ...p, kind: 'tpm' }, expectations())).toMatchObject({
      ok: false,
      reason: 'malformed',
    })
  })
})
