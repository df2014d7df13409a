import { createHash } from 'node:crypto'
import { join } from 'node:path'
import * as ed from '@noble/ed25519'
import { Packr } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import {
  DescriptorError,
  decodeDescriptor,
  MAX_DESCRIPTOR_BYTES,
  parseDescriptor,
  signDescriptor,
  type UnsignedDescriptor,
} from '../../src/discovery/descriptor.ts'
import { createVerifier, ed25519KeyOf } from '../../src/discovery/verify.ts'
import { tempDir } from '../helpers.ts'
import { canonicalEncode } from '../../src/util/canonical.ts'

ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest())

let id: Identity
let other: Identity
beforeAll(async () => {
  const { dir } = await tempDir()
  id = await createIdentity(join(dir, 'a.key'))
  other = await createIdentity(join(dir, 'b.key'))
})

function unsigned(overrides: Partial<UnsignedDescriptor> = {}): UnsignedDescriptor {
  return {
    v: 1,
    peer: id.peerId.toString(),
    seq: 1,
    iat: 1_700_000_000_000,
    ttl: 15_000,
    addrs: ['/ip4/127.0.0.1/tcp/7701'],
    state: { load: 0.25, memFree: 1_000_000, queue: 0 },
    caps: [
      {
        id: 'light.hall',
        title: 'Hall light',
        description: 'Switch the hall light',
        tags: ['light'],
        kind: 'device',
        risk: 'low',
        input: { type: 'object' },
        output: {},
      },
    ],
    attest: { tpm: false },
    ...overrides,
  }
}

const verify = createVerifier()
const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

/** The reason `bytes` are refused, or 'accepted'. */
function reason(bytes: Uint8Array): string {
  try {
    decodeDescriptor(bytes, verify)
  } catch (err) {
    return (err as DescriptorError).reason
  }
  return 'accepted'
}

describe('descriptor codec', () => {
  it('round-trips and re-encodes to the same canonical bytes', () => {
    const signed = signDescriptor(unsigned(), id.sign)
    const back = decodeDescriptor(signed.bytes, verify)
    const plain = (d: typeof back.descriptor) => ({ ...d, sig: Buffer.from(d.sig).toString('hex') })
    expect(plain(back.descriptor)).toEqual(plain(signed.descriptor))
    expect(Buffer.from(back.digest)).toEqual(Buffer.from(signed.digest))
    expect(Buffer.from(canonicalEncode(back.descriptor))).toEqual(Buffer.from(signed.bytes))
  })

  it('encodes canonically whatever the key order of the input', () => {
    const a = unsigned()
    const reversed = Object.fromEntries(Object.entries(a).reverse()) as UnsignedDescriptor
    expect(Buffer.from(signDescriptor(reversed, id.sign).bytes)).toEqual(
      Buffer.from(signDescriptor(a, id.sign).bytes),
    )
  })

  it('signs with a signature that @noble/ed25519 and node:crypto both accept', async () => {
    const signed = signDescriptor(unsigned(), id.sign)
    const { sig, ...rest } = signed.descriptor
    const body = canonicalEncode(rest)
    const pub = ed25519KeyOf(rest.peer)!
    expect(await ed.verifyAsync(sig, body, pub)).toBe(true)
    expect(verify(rest.peer, body, sig)).toBe(true)
    // and the reverse: a noble signature verifies with node:crypto
    const seed = id.keyObject.export({ format: 'jwk' }).d!
    const nobleSig = await ed.signAsync(body, Buffer.from(seed, 'base64url'))
    expect(Buffer.from(nobleSig)).toEqual(Buffer.from(sig))
  })

  it('agrees with RFC 8032 test vector 1 through node:crypto', () => {
    const pub = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')
    const sig = Buffer.from(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      'hex',
    )
    expect(ed.verify(sig, new Uint8Array(0), pub)).toBe(true)
  })

  it('rejects a forged signature', () => {
    const signed = signDescriptor(unsigned(), other.sign) // signed by someone else, claims id's peer
    expect(() => decodeDescriptor(signed.bytes, verify)).toThrow(
      expect.objectContaining({ reason: 'bad_signature' }),
    )
  })

  it('rejects tampered bytes', () => {
    const signed = signDescriptor(unsigned(), id.sign)
    const tampered = packr.pack({ ...(packr.unpack(signed.bytes) as object), seq: 2 })
    expect(() => decodeDescriptor(tampered, verify)).toThrow(DescriptorError)
  })

  it('rejects oversize, non-msgpack and schema-violating input as such', () => {
    expect(reason(new Uint8Array(MAX_DESCRIPTOR_BYTES + 1))).toBe('oversize')
    expect(reason(new Uint8Array([0xc1]))).toBe('malformed')
    expect(reason(packr.pack({ v: 1, peer: 'x' }))).toBe('malformed')
    const signed = signDescriptor(unsigned(), id.sign)
    const decoded = packr.unpack(signed.bytes) as Record<string, unknown>
    expect(reason(packr.pack({ ...decoded, extra: 1 }))).toBe('malformed')
    const { sig: _, ...noSig } = decoded
    expect(reason(packr.pack({ ...noSig, zzz: 1 }))).toBe('malformed')
  })

  it('checks the signature over the exact body received, not over a re-encoding of it', () => {
    const signed = signDescriptor(unsigned(), id.sign)
    const decoded = packr.unpack(signed.bytes) as Record<string, unknown>
    // the same fields in another key order are not the bytes the owner signed
    expect(reason(packr.pack(Object.fromEntries(Object.entries(decoded).reverse())))).toBe('bad_signature')
    // the owner's body with its sig field moved: still exactly the owner's fields, and the owner's digest
    const { sig, ...rest } = decoded
    const moved = packr.pack({ sig, ...rest })
    expect(Buffer.from(moved)).not.toEqual(Buffer.from(signed.bytes))
    const back = decodeDescriptor(moved, verify)
    expect(Buffer.from(back.digest)).toEqual(Buffer.from(signed.digest))
    expect(Buffer.from(canonicalEncode(back.descriptor))).toEqual(Buffer.from(signed.bytes))
  })

  it('takes the digest over the signed body, which parsing alone already yields', () => {
    const signed = signDescriptor(unsigned(), id.sign)
    const { sig: _, ...fields } = signed.descriptor
    const body = canonicalEncode(fields)
    expect(Buffer.from(signed.digest)).toEqual(createHash('sha256').update(body).digest())
    const parsed = parseDescriptor(signed.bytes)
    expect(Buffer.from(parsed.body)).toEqual(Buffer.from(body))
    expect(Buffer.from(parsed.digest)).toEqual(Buffer.from(signed.digest))
  })

  it('refuses to sign a descriptor over 16 KiB', () => {
    const caps = Array.from({ length: 20 }, (_, i) => ({
      ...unsigned().caps[0]!,
      id: `c${i}`,
      description: 'x'.repeat(1000),
    }))
    expect(() => signDescriptor(unsigned({ caps }), id.sign)).toThrow(`limit is ${MAX_DESCRIPTOR_BYTES}`)
  })

  it('rejects a peer id that is not an Ed25519 key', () => {
    expect(ed25519KeyOf('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toBeUndefined()
    expect(ed25519KeyOf('nonsense')).toBeUndefined()
  })
})
