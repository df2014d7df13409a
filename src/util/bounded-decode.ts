/**
 * The opening every decoder of untrusted msgpack shares: refuse bytes over the format's cap before any
 * work, decode, then check the shape. Each wire format keeps its own error class and reasons; this module
 * only says which of the two ways the bytes failed (`oversize` or `malformed`) and why, through `fail`.
 */
import type { z } from 'zod'
import { decodeMsgpack } from './canonical.ts'

/** How bytes failed before their fields could be checked. */
export type DecodeFailure = 'oversize' | 'malformed'

export interface BoundedDecodeInit {
  /** the format's name in the oversize message: "opinion is 9000 bytes; the limit is 8192" */
  what: string
  /** largest encoding accepted */
  maxBytes: number
  /** builds the format's own error from the failure and a message */
  fail: (reason: DecodeFailure, message: string) => Error
}

/**
 * Checks the size, then decodes msgpack; the result is unchecked. Throws what `init.fail` builds: `oversize`
 * ("`what` is N bytes; the limit is M") or `malformed` ("not msgpack: …").
 *
 * @example
 * const raw = decodeBounded(bytes, { what: 'receipt', maxBytes: 1024, fail: (r, m) => new EvidenceError(r, m) })
 */
export function decodeBounded(bytes: Uint8Array, init: BoundedDecodeInit): unknown {
  if (bytes.byteLength > init.maxBytes)
    throw init.fail('oversize', `${init.what} is ${bytes.byteLength} bytes; the limit is ${init.maxBytes}`)
  try {
    return decodeMsgpack(bytes)
  } catch (err) {
    throw init.fail('malformed', `not msgpack: ${(err as Error).message}`)
  }
}

/**
 * {@link decodeBounded}, then `schema`: a shape that does not fit is `malformed` with the first issue, as
 * "path.to.field: what is wrong" ("(root): …" for the value itself).
 *
 * @example
 * const opinion = decodeChecked(bytes, wireSchema, { what: 'opinion', maxBytes, fail: opinionError })
 */
export function decodeChecked<S extends z.ZodType>(
  bytes: Uint8Array,
  schema: S,
  init: BoundedDecodeInit,
): z.output<S> {
  const parsed = schema.safeParse(decodeBounded(bytes, init))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw init.fail('malformed', `${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  return parsed.data
}
