/**
 * JSON Canonicalization Scheme (RFC 8785), for values that are plain JSON: what the agent card signs.
 *
 * RFC 8785 serializes strings and numbers exactly as ECMAScript's `JSON.stringify` does, so only the
 * structure is ours: object members sorted by their keys' UTF-16 code units (JavaScript's default string
 * order), no whitespace. Members whose value is `undefined` are left out, as `JSON.stringify` does.
 */
import { KithError } from '../util/errors.ts'

/** A value that has no canonical JSON form (a non-finite number, a function). */
export class CanonicalJsonError extends KithError {
  static override readonly code = 'not_json'
  constructor(message: string) {
    super(message)
    this.name = 'CanonicalJsonError'
  }
}

/**
 * The canonical JSON text of `value`.
 *
 * @example
 * canonicalJson({ b: [1, { d: true, c: null }], a: 'x' }) // '{"a":"x","b":[1,{"c":null,"d":true}]}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} has no JSON form`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  }
  if (typeof value === 'object' && isPlain(value)) {
    const record = value as Record<string, unknown>
    const members: string[] = []
    for (const key of Object.keys(record).sort()) {
      const v = record[key]
      if (v !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(v)}`)
    }
    return `{${members.join(',')}}`
  }
  throw new CanonicalJsonError(`a ${typeof value} is not plain JSON`)
}

/** `{}` or `Object.create(null)`: not a Date, Map, Uint8Array… whose JSON form would be surprising. */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
