/**
 * An attestation key's public area as a TPM exports it (TPM2B_PUBLIC, the `tss` format of tpm2-tools): parsed
 * into its algorithm, attributes and key, named the way the TPM names it, and turned into a node:crypto key.
 * This is what a descriptor carries in `attest.akPub`.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { HASHES, type ParseResult, parseWith, TPM_ALG, TpmParseError, type TpmReader } from './tpm-reader.ts'

/** The largest public area accepted: the descriptor's `attest.akPub` cap. */
export const MAX_PUBLIC_BYTES = 1024

/** TPMA_OBJECT bits that make a key an attestation key: the TPM signs only its own structures with it. */
export const TPMA = { fixedTPM: 0x2, restricted: 0x10000, decrypt: 0x20000, sign: 0x40000 } as const

const CURVES: ReadonlyMap<number, { crv: 'P-256' | 'P-384' | 'P-521'; size: number }> = new Map([
  [0x0003, { crv: 'P-256', size: 32 }],
  [0x0004, { crv: 'P-384', size: 48 }],
  [0x0005, { crv: 'P-521', size: 66 }],
])

export type TpmPublicKey =
  | { type: 'ecc'; curve: number; x: Uint8Array; y: Uint8Array }
  | { type: 'rsa'; bits: number; exponent: number; modulus: Uint8Array }

export interface TpmPublic {
  nameAlg: number
  attributes: number
  key: TpmPublicKey
  /** the TPMT_PUBLIC bytes inside the TPM2B: what the name is a hash of */
  area: Uint8Array
}

/** TPMT_SYM_DEF_OBJECT: an algorithm, then key bits and mode unless it is TPM_ALG_NULL. */
function skipSymmetric(r: TpmReader): void {
  if (r.u16('symmetric.algorithm') !== TPM_ALG.NULL) {
    r.u16('symmetric.keyBits')
    r.u16('symmetric.mode')
  }
}

/** A signing or KDF scheme: an algorithm, then its hash unless TPM_ALG_NULL (ECDAA also has a count). */
function skipScheme(r: TpmReader, what: string): void {
  const scheme = r.u16(`${what}.scheme`)
  if (scheme === TPM_ALG.NULL) return
  r.u16(`${what}.hashAlg`)
  if (scheme === 0x001a) r.u16(`${what}.count`)
}

function readArea(r: TpmReader): Omit<TpmPublic, 'area'> {
  const type = r.u16('type')
  const nameAlg = r.u16('nameAlg')
  if (!HASHES.has(nameAlg)) throw new TpmParseError(`nameAlg: unsupported 0x${nameAlg.toString(16)}`)
  const attributes = r.u32('objectAttributes')
  r.sized(64, 'authPolicy')
  skipSymmetric(r)
  if (type === TPM_ALG.ECC) {
    skipScheme(r, 'scheme')
    const curve = r.u16('curveID')
    if (!CURVES.has(curve)) throw new TpmParseError(`curveID: unsupported 0x${curve.toString(16)}`)
    skipScheme(r, 'kdf')
    const x = r.sized(66, 'unique.x')
    const y = r.sized(66, 'unique.y')
    return { nameAlg, attributes, key: { type: 'ecc', curve, x, y } }
  }
  if (type === TPM_ALG.RSA) {
    skipScheme(r, 'scheme')
    const bits = r.u16('keyBits')
    const exponent = r.u32('exponent')
    const modulus = r.sized(512, 'unique.rsa')
    if (bits < 2048 || modulus.byteLength * 8 !== bits) {
      throw new TpmParseError(`RSA key of ${bits} bits with a ${modulus.byteLength}-byte modulus`)
    }
    return { nameAlg, attributes, key: { type: 'rsa', bits, exponent, modulus } }
  }
  throw new TpmParseError(`type: 0x${type.toString(16)} is neither ECC nor RSA`)
}

/**
 * Parses a TPM2B_PUBLIC of an ECC or RSA key.
 *
 * @example
 * const ak = parsePublic(descriptor.attest.akPub)
 * if (ak.ok) ak.value.key.type // 'ecc'
 */
export function parsePublic(bytes: unknown): ParseResult<TpmPublic> {
  if (bytes instanceof Uint8Array && bytes.byteLength > MAX_PUBLIC_BYTES) {
    return { ok: false, reason: `public area is ${bytes.byteLength} bytes; at most ${MAX_PUBLIC_BYTES}` }
  }
  return parseWith(bytes, (r) => {
    const area = r.sized(MAX_PUBLIC_BYTES, 'TPM2B_PUBLIC')
    r.end('TPM2B_PUBLIC')
    const parsed = parseWith(area, (inner) => {
      const fields = readArea(inner)
      inner.end('TPMT_PUBLIC')
      return fields
    })
    if (!parsed.ok) throw new TpmParseError(parsed.reason)
    return { ...parsed.value, area }
  })
}

/**
 * The TPM's name of a key: nameAlg (2 bytes) followed by the nameAlg hash of its TPMT_PUBLIC.
 *
 * @example
 * Buffer.from(publicName(ak)).toString('hex') // '000b…'
 */
export function publicName(pub: TpmPublic): Uint8Array {
  const hash = HASHES.get(pub.nameAlg)!
  const digest = createHash(hash.name).update(pub.area).digest()
  const out = new Uint8Array(2 + digest.byteLength)
  out[0] = pub.nameAlg >> 8
  out[1] = pub.nameAlg & 0xff
  out.set(digest, 2)
  return out
}

/** True for a restricted signing key that cannot leave its TPM: what an attestation key must be. */
export function isAttestationKey(pub: TpmPublic): boolean {
  const a = pub.attributes
  return (
    (a & TPMA.sign) !== 0 &&
    (a & TPMA.restricted) !== 0 &&
    (a & TPMA.fixedTPM) !== 0 &&
    (a & TPMA.decrypt) === 0
  )
}

/** Left-pads a big-endian integer to `size` bytes (leading zeros beyond it are dropped); undefined if too big. */
export function padTo(value: Uint8Array, size: number): Uint8Array | undefined {
  let start = 0
  while (start < value.byteLength - size && value[start] === 0) start++
  const trimmed = value.subarray(start)
  if (trimmed.byteLength > size) return undefined
  const out = new Uint8Array(size)
  out.set(trimmed, size - trimmed.byteLength)
  return out
}

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

/** The curve's byte size for an ECC key; undefined for RSA. */
export function curveSize(key: TpmPublicKey): number | undefined {
  return key.type === 'ecc' ? CURVES.get(key.curve)?.size : undefined
}

/**
 * A node:crypto public key from a parsed public area (JWK: EC x/y, or RSA n/e). A point that is not on its
 * curve, or any other key OpenSSL refuses, gives a reason.
 *
 * @example
 * const key = toKeyObject(parsePublic(akPub).value)
 */
export function toKeyObject(pub: TpmPublic): ParseResult<KeyObject> {
  try {
    const { key } = pub
    if (key.type === 'ecc') {
      const curve = CURVES.get(key.curve)!
      const x = padTo(key.x, curve.size)
      const y = padTo(key.y, curve.size)
      if (x == null || y == null) return { ok: false, reason: `coordinates longer than ${curve.crv} allows` }
      return {
        ok: true,
        value: createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64u(x), y: b64u(y) }, format: 'jwk' }),
      }
    }
    // exponent 0 means the default, 2^16 + 1; a JWK wants it without leading zero bytes
    const eBytes = Buffer.alloc(4)
    eBytes.writeUInt32BE(key.exponent === 0 ? 65537 : key.exponent)
    let start = 0
    while (start < 3 && eBytes[start] === 0) start++
    const jwk = { kty: 'RSA', n: b64u(key.modulus), e: b64u(eBytes.subarray(start)) }
    return { ok: true, value: createPublicKey({ key: jwk, format: 'jwk' }) }
  } catch (err) {
    return { ok: false, reason: `not a usable key: ${(err as Error).message}` }
  }
}
