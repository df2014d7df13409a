/**
 * The discovery plane's small wire messages, each with its size cap: the announce notice gossiped on
 * `kith/announce/1`, and the request of the descriptor pull protocol `/kith/descriptor/1.0.0` (whose answer
 * is the descriptor's own wire bytes, or an empty frame when the peer does not hold it).
 */
import { z } from 'zod'
import { stateSchema } from './descriptor.ts'
import { decodeBounded } from '../util/bounded-decode.ts'
import { encodeMsgpack } from '../util/canonical.ts'
import { KithError } from '../util/errors.ts'

export const ANNOUNCE_TOPIC = 'kith/announce/1'
/** The full-body flooding baseline; only for benchmarks (`discovery.mode: flood`). */
export const FLOOD_TOPIC = 'kith/announce-full/1'
export const DESCRIPTOR_PROTOCOL = '/kith/descriptor/1.0.0'
/** Descriptor v2: notices of signed summaries (summary.ts); their pages are pulled over the catalog protocol. */
export const CATALOG_TOPIC = 'kith/announce/2'
export const CATALOG_PROTOCOL = '/kith/catalog/2.0.0'

export const MAX_ANNOUNCE_BYTES = 512
export const MAX_PULL_REQUEST_BYTES = 256
/** A catalog request: a summary, or up to 64 page digests (34 bytes each on the wire) */
export const MAX_CATALOG_REQUEST_BYTES = 4096
/** Most page digests one catalog request may ask for. */
export const MAX_PAGES_PER_REQUEST = 64

const digestBytes = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array && v.byteLength === 32,
  'expected 32 bytes',
)

const announceSchema = z.strictObject({
  peer: z.string().min(1).max(128),
  seq: z.number().int().min(0),
  digest: digestBytes,
  /** when the origin sent this notice (ms); with gossipsub's signature it makes a refresh unreplayable */
  at: z.number().int().min(0),
  /** the origin's state at `at`: volatile, so it travels here rather than in a re-signed body */
  state: stateSchema.optional(),
})
const pullSchema = z.strictObject({
  peer: z.string().min(1).max(128),
  digest: digestBytes.optional(),
})

/** The v2 notice: the same fields, and any field a later version adds is ignored rather than refused. */
const noticeV2Schema = z.object({
  ...announceSchema.shape,
  state: z.object(stateSchema.shape).optional(),
})
/** `{peer, digest?}` asks for `peer`'s summary; `{pages: [digest…]}` asks for those pages, one frame each. */
const catalogRequestSchema = z.union([
  z.object({ pages: z.array(digestBytes).min(1).max(MAX_PAGES_PER_REQUEST) }),
  z.object({ peer: z.string().min(1).max(128), digest: digestBytes.optional() }),
])

/**
 * `{peer, seq, digest, at, state}`: a small notice that a peer's descriptor is live and what state the peer is
 * in now. A new digest means the body changed (pull it); the digest already held means the body is unchanged
 * and still live (a heartbeat), and its state replaces the held one. Notices are authenticated by gossipsub's
 * message signature (StrictSign: the origin's Ed25519 key over topic, seqno, from and data), and a receiver
 * takes one only from `from` = `peer`.
 */
export type Announce = z.output<typeof announceSchema>
/** Asks for `peer`'s descriptor; with `digest`, only that exact one. */
export type PullRequest = z.output<typeof pullSchema>
export type CatalogRequest = z.output<typeof catalogRequestSchema>

/** A discovery message from a peer that kith refuses. */
export class WireError extends KithError {
  static override readonly code = 'bad_message'
  static override readonly status = 502
  /** `oversize` or `malformed`, what the refusal is counted under */
  readonly reason: 'oversize' | 'malformed'
  constructor(message: string, reason: 'oversize' | 'malformed' = 'malformed') {
    super(message)
    this.name = 'WireError'
    this.reason = reason
  }
}

function decode<T>(bytes: Uint8Array, max: number, schema: z.ZodType<T>, what: string): T {
  const raw = decodeBounded(bytes, {
    what,
    maxBytes: max,
    fail: (reason, message) =>
      new WireError(reason === 'malformed' ? `${what} is ${message}` : message, reason),
  })
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new WireError(`${what}: ${parsed.error.issues[0]?.message}`)
  return parsed.data
}

/** @example decodeAnnounce(encodeAnnounce({ peer, seq: 7, digest, at: Date.now(), state })) */
export function encodeAnnounce(announce: Announce): Uint8Array {
  const { peer, seq, digest, at, state } = announce
  return encodeMsgpack(state != null ? { peer, seq, digest, at, state } : { peer, seq, digest, at })
}

export function decodeAnnounce(bytes: Uint8Array): Announce {
  return decode(bytes, MAX_ANNOUNCE_BYTES, announceSchema, 'announce')
}

export function encodePullRequest(request: PullRequest): Uint8Array {
  return encodeMsgpack(
    request.digest != null ? { peer: request.peer, digest: request.digest } : { peer: request.peer },
  )
}

export function decodePullRequest(bytes: Uint8Array): PullRequest {
  return decode(bytes, MAX_PULL_REQUEST_BYTES, pullSchema, 'pull request')
}

/** A v2 notice (on {@link CATALOG_TOPIC}); fields it does not know are dropped, not refused. */
export function decodeNoticeV2(bytes: Uint8Array): Announce {
  return decode(bytes, MAX_ANNOUNCE_BYTES, noticeV2Schema, 'announce')
}

export function encodeCatalogRequest(request: CatalogRequest): Uint8Array {
  if ('pages' in request) return encodeMsgpack({ pages: request.pages })
  return encodeMsgpack(
    request.digest != null ? { peer: request.peer, digest: request.digest } : { peer: request.peer },
  )
}

export function decodeCatalogRequest(bytes: Uint8Array): CatalogRequest {
  return decode(bytes, MAX_CATALOG_REQUEST_BYTES, catalogRequestSchema, 'catalog request')
}
