/**
 * A bounded reader of TPM 2.0 marshalled structures (big-endian, sizes before contents). Every read is checked
 * against the bytes that remain, and a sized field is never allocated: it is a view into the input, so a
 * hostile length costs nothing but a rejection.
 */
import { KithError } from '../../util/errors.ts'

/** A structure that does not parse; `message` says which field and why. Internal to the parsers. */
export class TpmParseError extends KithError {
  static override readonly code = 'bad_tpm_structure'
  static override readonly status = 502
  constructor(message: string) {
    super(message)
    this.name = 'TpmParseError'
  }
}

/** The parse of untrusted bytes: the value, or why not. Parsers return this and never throw. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string }

/** TPM_ALG_ID values kith understands. */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECC: 0x0023,
} as const

/** Hash algorithms by TPM_ALG_ID: node:crypto name and digest size. */
export const HASHES: ReadonlyMap<number, { name: 'sha1' | 'sha256' | 'sha384' | 'sha512'; size: number }> =
  new Map([
    [TPM_ALG.SHA1, { name: 'sha1', size: 20 }],
    [TPM_ALG.SHA256, { name: 'sha256', size: 32 }],
    [TPM_ALG.SHA384, { name: 'sha384', size: 48 }],
    [TPM_ALG.SHA512, { name: 'sha512', size: 64 }],
  ])

/** The TPM_ALG_ID of a hash by its name, e.g. `sha256` -> 0x000b. */
export function hashAlgId(name: string): number | undefined {
  for (const [id, hash] of HASHES) if (hash.name === name) return id
  return undefined
}

export class TpmReader {
  private readonly bytes: Uint8Array
  private readonly view: DataView
  private offset = 0

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new TpmParseError(`${what}: needs ${n} bytes, ${this.remaining} left`)
    }
  }

  u8(what: string): number {
    this.need(1, what)
    return this.view.getUint8(this.offset++)
  }

  u16(what: string): number {
    this.need(2, what)
    const v = this.view.getUint16(this.offset)
    this.offset += 2
    return v
  }

  u32(what: string): number {
    this.need(4, what)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }

  u64(what: string): bigint {
    this.need(8, what)
    const v = this.view.getBigUint64(this.offset)
    this.offset += 8
    return v
  }

  /** `n` raw bytes, as a view into the input. */
  raw(n: number, what: string): Uint8Array {
    this.need(n, what)
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  /** A TPM2B: a 16-bit size, then that many bytes (at most `max`). */
  sized(max: number, what: string): Uint8Array {
    const size = this.u16(`${what} size`)
    if (size > max) throw new TpmParseError(`${what}: ${size} bytes; at most ${max}`)
    return this.raw(size, what)
  }

  /** Throws unless every byte was read: trailing bytes are as suspect as missing ones. */
  end(what: string): void {
    if (this.remaining !== 0) throw new TpmParseError(`${what}: ${this.remaining} trailing bytes`)
  }
}

/**
 * Runs a parser over untrusted bytes and turns any failure into a reason.
 *
 * @example
 * const result = parseWith(bytes, (r) => r.u32('magic'))
 * if (!result.ok) console.log(result.reason)
 */
export function parseWith<T>(bytes: unknown, parse: (reader: TpmReader) => T): ParseResult<T> {
  if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'not bytes' }
  try {
    return { ok: true, value: parse(new TpmReader(bytes)) }
  } catch (err) {
    return { ok: false, reason: err instanceof TpmParseError ? err.message : `unparsable: ${String(err)}` }
  }
}
