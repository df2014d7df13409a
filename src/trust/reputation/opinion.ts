/**
 * The opinion message: what one node thinks of others on one topic, gossiped on `kith/trust/1`.
 *
 * Wire form: a msgpack map `{from, topic, seq, at, entries: [{peer, value}], caught?, sig}`, at most 8 KiB
 * and 64 entries. `value` is the sender's normalised local trust c_ij in [0, 1], the values summing to at most
 * 1 (the rest of its row goes to the pre-trusted peers). `caught` (optional, at most 64 peers, absent when
 * empty, so an opinion without it encodes as before) lists the peers the sender caught lying on the topic;
 * receivers heed it only from the household's own nodes. `seq` grows with every message the sender makes, so a
 * replay is recognised; `at` is the sender's clock (ms). `sig` is Ed25519 by the sender's node key over the
 * canonical encoding of every other field, as for descriptors, so an opinion stands on its own whoever relays
 * it. Checks run cheapest first and the signature before any check whose failure would be held against the
 * sender, so nothing is charged to a peer that did not sign it.
 */
import { z } from 'zod'
import type { SignatureVerifier } from '../../discovery/descriptor.ts'
import { MAX_OPINION_BYTES, MAX_OPINION_ENTRIES } from './constants.ts'
import { isTopic } from './topic.ts'
import { canonicalEncode } from '../../util/canonical.ts'
import { decodeChecked } from '../../util/bounded-decode.ts'
import { KithError } from '../../util/errors.ts'

export interface OpinionEntry {
  peer: string
  value: number
}

export interface Opinion {
  from: string
  topic: string
  seq: number
  at: number
  entries: OpinionEntry[]
  /** peers the sender caught lying on the topic (a wrong answer, a failed canary, invalid evidence) */
  caught?: string[]
}

/** Why an opinion was refused; each has its own counter. */
export type OpinionRejectReason =
  | 'oversize'
  | 'malformed'
  | 'bad_signature'
  | 'out_of_range'
  | 'unknown_topic'
  | 'unknown_sender'
  | 'foreign'
  | 'replayed'
  | 'stale'
  | 'rate_limited'
  | 'full'

export const OPINION_REJECT_REASONS: readonly OpinionRejectReason[] = [
  'oversize',
  'malformed',
  'bad_signature',
  'out_of_range',
  'unknown_topic',
  'unknown_sender',
  'foreign',
  'replayed',
  'stale',
  'rate_limited',
  'full',
]

/** An opinion from a peer that kith refuses; `reason` says why and is what the refusal is counted under. */
export class OpinionError extends KithError {
  static override readonly code = 'bad_opinion'
  static override readonly status = 502
  readonly reason: OpinionRejectReason
  constructor(reason: OpinionRejectReason, message: string) {
    super(message)
    this.name = 'OpinionError'
    this.reason = reason
  }
}

const peerId = z.string().min(1).max(128)

/** Shape only: ranges and the topic are checked after the signature, so their failures can be charged. */
const wireSchema = z.strictObject({
  from: peerId,
  topic: z.string().min(1).max(64),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  entries: z.array(z.strictObject({ peer: peerId, value: z.number() })),
  caught: z.array(peerId).optional(),
  sig: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength === 64, 'expected 64 bytes'),
})

/**
 * Signs `opinion` with `sign` (the node's Ed25519 key) and returns its wire bytes.
 *
 * @example
 * const bytes = signOpinion({ from: self, topic: 'sensor.climate', seq: 8, at: Date.now(), entries }, identity.sign)
 */
export function signOpinion(opinion: Opinion, sign: (data: Uint8Array) => Uint8Array): Uint8Array {
  const body: Opinion = {
    from: opinion.from,
    topic: opinion.topic,
    seq: opinion.seq,
    at: opinion.at,
    entries: opinion.entries.map(({ peer, value }) => ({ peer, value })),
    ...(opinion.caught !== undefined && opinion.caught.length > 0 ? { caught: [...opinion.caught] } : {}),
  }
  const bytes = canonicalEncode({ ...body, sig: sign(canonicalEncode(body)) })
  if (
    bytes.byteLength > MAX_OPINION_BYTES ||
    body.entries.length > MAX_OPINION_ENTRIES ||
    (body.caught?.length ?? 0) > MAX_OPINION_ENTRIES
  )
    throw new OpinionError('oversize', `an opinion holds at most ${MAX_OPINION_ENTRIES} entries`)
  return bytes
}

/**
 * Decodes and checks wire bytes: size, msgpack, shape, entry count, signature by `from`, then topic and
 * values (each in [0, 1], their sum at most 1, no peer twice). Freshness (seq, `at`) and who may send are
 * the receiver's business. Throws {@link OpinionError}; never anything else.
 *
 * @example
 * const opinion = decodeOpinion(msg.data, createVerifier())
 */
export function decodeOpinion(bytes: Uint8Array, verify: SignatureVerifier): Opinion {
  const { sig, ...opinion } = decodeChecked(bytes, wireSchema, {
    what: 'opinion',
    maxBytes: MAX_OPINION_BYTES,
    fail: (reason, message) => new OpinionError(reason, message),
  })
  if (opinion.entries.length > MAX_OPINION_ENTRIES)
    throw new OpinionError(
      'oversize',
      `opinion has ${opinion.entries.length} entries; the limit is ${MAX_OPINION_ENTRIES}`,
    )
  if ((opinion.caught?.length ?? 0) > MAX_OPINION_ENTRIES)
    throw new OpinionError(
      'oversize',
      `opinion names ${opinion.caught!.length} caught peers; the limit is ${MAX_OPINION_ENTRIES}`,
    )
  if (!verify(opinion.from, canonicalEncode(opinion), sig))
    throw new OpinionError('bad_signature', `signature does not match the key of ${opinion.from}`)
  if (!isTopic(opinion.topic)) throw new OpinionError('unknown_topic', `no topic ${opinion.topic}`)
  const seen = new Set<string>()
  let sum = 0
  for (const { peer, value } of opinion.entries) {
    if (!(value >= 0 && value <= 1)) throw new OpinionError('out_of_range', `value ${value} is not in [0, 1]`)
    if (seen.has(peer)) throw new OpinionError('malformed', `${peer} is rated twice`)
    seen.add(peer)
    sum += value
  }
  if (sum > 1 + 1e-9) throw new OpinionError('out_of_range', `values sum to ${sum}, more than 1`)
  if (opinion.caught !== undefined) {
    if (opinion.caught.length === 0) throw new OpinionError('malformed', 'caught: an empty list is left out')
    const named = new Set<string>()
    for (const peer of opinion.caught) {
      if (peer === opinion.from) throw new OpinionError('malformed', 'caught: the sender names itself')
      if (named.has(peer)) throw new OpinionError('malformed', `caught: ${peer} is named twice`)
      named.add(peer)
    }
  }
  return opinion
}
