/**
 * Canonical msgpack and hashing: the pure helpers every signed wire format (descriptors, catalog pages, task
 * frames, receipts, opinions, evidence) builds on. Canonical means one encoding per value: keys sorted at
 * every level, undefined fields dropped, msgpackr's minimal headers; so a signature or a digest over it
 * names the value, not one of its spellings.
 */
import { createHash } from 'node:crypto'
import { Packr } from 'msgpackr'

// plain maps (no records, no structure sharing) so that any msgpack reader can check what was signed
const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value == null || typeof value !== 'object' || value instanceof Uint8Array) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}

/**
 * The canonical msgpack encoding of any JSON-like value (keys sorted, undefined fields dropped).
 *
 * @example
 * canonicalEncode({ b: 1, a: 2 }) // the same bytes as canonicalEncode({ a: 2, b: 1 })
 */
export function canonicalEncode(value: unknown): Uint8Array {
  return packr.pack(sortKeys(value))
}

/**
 * The msgpack encoding of `value` with its keys in the order given: for frames that are not signed.
 *
 * @example
 * encodeMsgpack({ peer, seq }) // a map of two fields, peer first
 */
export function encodeMsgpack(value: unknown): Uint8Array {
  return packr.pack(value)
}

/**
 * Decodes msgpack into plain objects (maps as objects, bin as Buffer views over `bytes`). Throws on bytes
 * that are not msgpack; the result is unchecked and wants a schema.
 *
 * @example
 * decodeMsgpack(canonicalEncode({ a: 1 })) // { a: 1 }
 */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}

/**
 * The SHA-256 digest of `bytes`.
 *
 * @example
 * sha256(canonicalEncode(value)) // 32 bytes
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/**
 * The SHA-256 digest of `data` as lowercase hex.
 *
 * @example
 * sha256Hex(source) // 'e3b0c442…'
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}
