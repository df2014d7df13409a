/**
 * The opinions this node holds: the latest valid one per (sender, topic), and the checks every arriving
 * opinion passes in order, cheapest first: the sender's rate, the wire checks of {@link decodeOpinion}, then
 * who sent it (a peer this node knows, speaking for itself) and whether it is fresh (its seq newer than the
 * last held, its `at` neither too old nor in the future).
 *
 * A refused opinion says whether it should count against its sender (`charge`). Only a fault its sender is
 * proven to have made does: bytes it signed that are malformed, oversized, out of range or about no topic,
 * or a message that speaks for another peer. A replay or a stale opinion is counted but charged to nobody:
 * anyone can re-send an honest peer's old signed message. An unknown sender is not charged either, since
 * recording it would let anyone fill the records with fresh peer ids.
 *
 * Bounded: at most `maxOpinions` held over all topics; when full, the opinion of the least trusted sender
 * makes room (a newcomer's own is refused if it is trusted least), so a flood of fresh identities cannot push
 * out the household's opinions.
 */
import type { SignatureVerifier } from '../../discovery/descriptor.ts'
import {
  OPINION_BURST,
  OPINION_MAX_AGE_MS,
  OPINION_MAX_SKEW_MS,
  OPINION_REFILL_MS,
  OPINIONS_PER_PEER,
  REPUTATION_DEFAULTS,
} from './constants.ts'
import type { OpinionRow } from './global.ts'
import {
  decodeOpinion,
  type Opinion,
  OpinionError,
  type OpinionRejectReason,
  OPINION_REJECT_REASONS,
} from './opinion.ts'
import type { PeerIds } from './peer-ids.ts'
import { TokenBuckets } from '../../util/token-bucket.ts'

export interface OpinionBookComponents {
  self: string
  /** where the peers of held opinions are interned */
  ids: PeerIds
  verify: SignatureVerifier
  /** true for a peer this node knows: a live descriptor in the discovery store, or pre-trusted */
  known(peer: string): boolean
  /** how much this node trusts `peer` on `topic` now: decides whose opinion makes room when full */
  trustOf(peer: string, topic: string): number
}

export interface OpinionBookInit {
  maxOpinions?: number
}

export type TakeResult =
  | { ok: true; opinion: Opinion }
  | { ok: false; reason: OpinionRejectReason; message: string; charge: boolean }

interface Held {
  opinion: Opinion
  row: OpinionRow
  /** the opinion's `caught` list, for lookups */
  caught: ReadonlySet<string> | undefined
}

const CHARGED: ReadonlySet<OpinionRejectReason> = new Set([
  'oversize',
  'malformed',
  'bad_signature',
  'out_of_range',
  'unknown_topic',
  'foreign',
])

/**
 * @example
 * const book = new OpinionBook({ self, verify, known: (p) => store.get(p) != null, trustOf })
 * const result = book.take(msg.data, msg.from.toString(), Date.now())
 * if (!result.ok && result.charge) records.add(sender, PEER_TOPIC, 'invalid_opinion', now)
 */
export class OpinionBook {
  readonly accepted = { count: 0 }
  readonly rejected = Object.fromEntries(OPINION_REJECT_REASONS.map((r) => [r, 0])) as Record<
    OpinionRejectReason,
    number
  >
  readonly #c: OpinionBookComponents
  readonly #max: number
  /** topic → sender → its latest opinion */
  readonly #topics = new Map<string, Map<string, Held>>()
  /** per sender; forgets the longest idle senders beyond the opinion cap */
  readonly #buckets: TokenBuckets
  /** per topic, the held rows copied into one contiguous pair of arrays; dropped when the topic changes */
  readonly #packed = new Map<string, OpinionRow[]>()
  #size = 0
  #entries = 0

  constructor(components: OpinionBookComponents, init: OpinionBookInit = {}) {
    this.#c = components
    this.#max = init.maxOpinions ?? REPUTATION_DEFAULTS.maxPeers * OPINIONS_PER_PEER
    this.#buckets = new TokenBuckets({
      ratePerSec: 1000 / OPINION_REFILL_MS,
      burst: OPINION_BURST,
      maxKeys: this.#max,
    })
  }

  /** Opinions held, over all topics. */
  get size(): number {
    return this.#size
  }

  /** Peer ids the held opinions refer to, senders included, counting repeats. */
  get references(): number {
    return this.#entries
  }

  /**
   * Checks `bytes` from `sender` (the peer the transport authenticated) and holds the opinion if it passes.
   * Never throws on any input.
   */
  take(bytes: Uint8Array, sender: string, now: number): TakeResult {
    if (!this.#buckets.take(sender, 1, now))
      return this.#refuse('rate_limited', `${sender} sends too many opinions`)
    let opinion: Opinion
    try {
      opinion = decodeOpinion(bytes, this.#c.verify)
    } catch (err) {
      if (err instanceof OpinionError) return this.#refuse(err.reason, err.message)
      throw err
    }
    if (opinion.from !== sender)
      return this.#refuse('foreign', `${sender} sent an opinion of ${opinion.from}`)
    if (opinion.from === this.#c.self) return this.#refuse('foreign', 'an opinion of this node came back')
    if (!this.#c.known(opinion.from))
      return this.#refuse('unknown_sender', `${opinion.from} is not known here`)
    if (opinion.at < now - OPINION_MAX_AGE_MS || opinion.at > now + OPINION_MAX_SKEW_MS)
      return this.#refuse('stale', `opinion made at ${opinion.at}, now is ${now}`)
    let senders = this.#topics.get(opinion.topic)
    const held = senders?.get(opinion.from)
    if (held !== undefined && opinion.seq <= held.opinion.seq)
      return this.#refuse('replayed', `seq ${opinion.seq} is not newer than ${held.opinion.seq}`)
    if (held === undefined && this.#size >= this.#max && !this.#makeRoom(opinion))
      return this.#refuse('full', 'the opinion book is full of more trusted senders')
    if (senders === undefined) this.#topics.set(opinion.topic, (senders = new Map()))
    if (held === undefined) this.#size++
    else this.#entries -= 1 + held.row.cols.length
    const row = this.#intern(opinion)
    this.#entries += 1 + row.cols.length
    const caught = opinion.caught !== undefined ? new Set(opinion.caught) : undefined
    senders.set(opinion.from, { opinion, row, caught })
    this.#packed.delete(opinion.topic)
    this.accepted.count++
    return { ok: true, opinion }
  }

  /**
   * The opinions on `topic` no older than the maximum age at `now`, as rows of ids; expired ones are
   * dropped. The rows are read on every recompute, so they are served from one contiguous copy (opinions
   * arrive one by one, their arrays scattered through memory, and reading them so was half a recompute).
   */
  rows(topic: string, now: number): readonly OpinionRow[] {
    const senders = this.#topics.get(topic)
    if (senders === undefined) return []
    for (const [from, held] of senders)
      if (held.opinion.at < now - OPINION_MAX_AGE_MS) this.#drop(topic, from)
    let packed = this.#packed.get(topic)
    if (packed === undefined) this.#packed.set(topic, (packed = pack([...senders.values()])))
    return packed
  }

  /** Interns every held opinion again (after the owner started a new {@link PeerIds} table). */
  reintern(): void {
    this.#packed.clear()
    for (const senders of this.#topics.values())
      for (const held of senders.values()) held.row = this.#intern(held.opinion)
  }

  /** Topics with opinions held. */
  topics(): string[] {
    return [...this.#topics.keys()].filter((t) => (this.#topics.get(t)?.size ?? 0) > 0)
  }

  /**
   * True when one of `senders` names `peer` as caught lying, on any topic, in an opinion no older than the
   * maximum age at `now`.
   */
  named(peer: string, senders: readonly string[], now: number): boolean {
    if (senders.length === 0) return false
    for (const bySender of this.#topics.values()) {
      for (const from of senders) {
        const held = bySender.get(from)
        if (held?.caught?.has(peer) === true && held.opinion.at >= now - OPINION_MAX_AGE_MS) return true
      }
    }
    return false
  }

  /** What `from` last said about `peer` on `topic`, if anything. */
  opinionOf(from: string, topic: string, peer: string): number | undefined {
    return this.#topics
      .get(topic)
      ?.get(from)
      ?.opinion.entries.find((e) => e.peer === peer)?.value
  }

  /** The row of an opinion: the sender's own entry and zeros left out. */
  #intern(opinion: Opinion): OpinionRow {
    const ids = this.#c.ids
    const kept = opinion.entries.filter((e) => e.peer !== opinion.from && e.value > 0)
    const cols = new Int32Array(kept.length)
    const vals = new Float64Array(kept.length)
    kept.forEach((e, i) => {
      cols[i] = ids.id(e.peer)
      vals[i] = e.value
    })
    return { from: ids.id(opinion.from), cols, vals }
  }

  #drop(topic: string, from: string): void {
    const senders = this.#topics.get(topic)
    const held = senders?.get(from)
    if (senders === undefined || held === undefined) return
    senders.delete(from)
    this.#size--
    this.#entries -= 1 + held.row.cols.length
    this.#packed.delete(topic)
  }

  #refuse(reason: OpinionRejectReason, message: string): TakeResult {
    this.rejected[reason]++
    return { ok: false, reason, message, charge: CHARGED.has(reason) }
  }

  /** Drops the held opinion of the least trusted sender, if it is trusted less than `incoming`'s. */
  #makeRoom(incoming: Opinion): boolean {
    let worst: { topic: string; from: string; trust: number } | undefined
    for (const [topic, senders] of this.#topics) {
      for (const from of senders.keys()) {
        const trust = this.#c.trustOf(from, topic)
        if (worst === undefined || trust < worst.trust) worst = { topic, from, trust }
      }
    }
    if (worst === undefined || worst.trust >= this.#c.trustOf(incoming.from, incoming.topic)) return false
    this.#drop(worst.topic, worst.from)
    return true
  }
}

/** Copies the rows of `held` into one array of ids and one of values, each row a view into them. */
function pack(held: readonly Held[]): OpinionRow[] {
  let total = 0
  for (const { row } of held) total += row.cols.length
  const cols = new Int32Array(total)
  const vals = new Float64Array(total)
  let at = 0
  return held.map(({ row }) => {
    const end = at + row.cols.length
    cols.set(row.cols, at)
    vals.set(row.vals, at)
    const packed = { from: row.from, cols: cols.subarray(at, end), vals: vals.subarray(at, end) }
    at = end
    return packed
  })
}
