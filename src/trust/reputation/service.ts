/**
 * Tier 1 of the trust plane (DESIGN.md, "Tiers"): multi-topic reputation. Local records of what this node
 * observed, opinions gossiped by the others, and EigenTrust per topic with the household's nodes as
 * pre-trusted peers combine into `trust(peer, topic)` in [0, 1], which the matcher folds into its ranking:
 *
 *     trust = max(newcomer, score) × veto
 *
 * - `score` = min(1, t · N₊) from EigenTrust on the topic (see global.ts); this node itself is always 1.
 * - `newcomer` (config, default 0.05): nobody has evidence yet, so low but not zero. Evidence only raises a
 *   peer above it: successes this node saw, or opinions of peers that hold trust themselves.
 * - `veto` = (S + 1) / (S + F + 1) when this node's own weighted failures F of the peer on the topic (and
 *   per-peer ones) exceed its successes S, else 1: what this node verified itself is not outvoted.
 */
import type { Capability } from '../../discovery/descriptor.ts'
import { createVerifier } from '../../discovery/verify.ts'
import type { TaskOutcome } from '../../execution/delegate.ts'
import { WriteQueue } from '../../store/write-queue.ts'
import { KeyValue } from '../../store/kv.ts'
import { componentLogger } from '../../util/logger.ts'
import { OpinionBook, type TakeResult } from './book.ts'
import { LAZY_RECOMPUTE_MS, OPINIONS_PER_PEER, REPUTATION_DEFAULTS } from './constants.ts'
import { OpinionGossip } from './exchange.ts'
import { computeTopic, positionOf, type TopicScores } from './global.ts'
import { PeerIds } from './peer-ids.ts'
import { OpinionPublisher } from './publisher.ts'
import { LocalRecords, OUTCOME_KINDS, type OutcomeKind } from './records.ts'
import { PEER_TOPIC, topicOf } from './topic.ts'
import type { ReputationComponents, ReputationConfig, ReputationCounters, TopicExplanation } from './types.ts'

/**
 * @example
 * const reputation = createReputation({ db, identity, config, logger, libp2p: host, known })
 * await reputation.start()
 * reputation.record(peer, 'sensor.climate', 'success')
 * reputation.trust(peer, 'sensor.climate') // above the newcomer prior (0.05) from the next recompute on
 */
export class Reputation {
  readonly counters: ReputationCounters
  readonly records: LocalRecords
  readonly book: OpinionBook
  readonly #c: ReputationComponents
  readonly #config: ReputationConfig
  readonly #self: string
  readonly #now: () => number
  readonly #writes: WriteQueue
  readonly #publisher: OpinionPublisher
  readonly #gossip: OpinionGossip | undefined
  readonly #ids = new PeerIds()
  readonly #scores = new Map<string, TopicScores>()
  readonly #dirty = new Set<string>()
  readonly #topicCache = new WeakMap<Capability, string>()
  #lastRecompute = -Infinity
  #timer: NodeJS.Timeout | undefined

  constructor(components: ReputationComponents) {
    this.#c = components
    this.#config = { ...REPUTATION_DEFAULTS, ...components.config.trust.reputation }
    this.#self = components.identity.peerId.toString()
    this.#now = components.now ?? Date.now
    const log = componentLogger(components.logger, 'kith:trust:reputation')
    this.#writes = components.writes ?? new WriteQueue(components.db, { log })
    this.records = new LocalRecords(components.db, {
      maxPeers: this.#config.maxPeers,
      halfLife: this.#config.halfLife,
      writes: this.#writes,
    })
    const pretrusted = () => this.#pretrusted()
    this.book = new OpinionBook(
      {
        self: this.#self,
        ids: this.#ids,
        verify: components.verify ?? createVerifier(),
        known: (peer) => pretrusted().includes(peer) || (components.known?.(peer) ?? false),
        // no recompute from inside the book: it may be iterating what a recompute would change
        trustOf: (peer, topic) => this.#value(peer, topic),
      },
      { maxOpinions: this.#config.maxPeers * OPINIONS_PER_PEER },
    )
    const host = components.libp2p
    this.#gossip =
      host === undefined
        ? undefined
        : new OpinionGossip({
            host,
            book: this.book,
            log,
            now: this.#now,
            onAccepted: (opinion) => this.#dirty.add(opinion.topic),
            onInvalid: (sender) => this.record(sender, PEER_TOPIC, 'invalid_opinion'),
          })
    const gossip = this.#gossip
    this.#publisher = new OpinionPublisher(
      {
        self: this.#self,
        sign: (data) => components.identity.sign(data),
        kv: new KeyValue(components.db),
        records: this.records,
        now: this.#now,
        ...(gossip !== undefined ? { send: (bytes: Uint8Array) => gossip.publish(bytes) } : {}),
        log,
      },
      { opinionInterval: this.#config.opinionInterval },
    )
    const book = this.book
    this.counters = {
      recorded: Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>,
      recomputes: 0,
      lastRecomputeMs: 0,
      idResets: 0,
      opinions: {
        get held() {
          return book.size
        },
        get accepted() {
          return book.accepted.count
        },
        rejected: this.book.rejected,
        get published() {
          return gossip?.counters.published ?? 0
        },
      },
    }
  }

  async start(): Promise<void> {
    this.records.load()
    this.recompute()
    this.#timer = setInterval(() => this.recompute(), this.#config.recomputeInterval).unref()
    this.#gossip?.start()
    if (this.#gossip !== undefined) this.#publisher.start()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#publisher.stop()
    this.#gossip?.stop()
    this.#writes.flush()
  }

  /**
   * Records an outcome `peer` showed on `topic` ({@link PEER_TOPIC} for one that concerns every topic).
   * Outcomes about this node itself are ignored.
   */
  record(peer: string, topic: string, outcome: OutcomeKind): void {
    if (peer === this.#self) return
    this.records.add(peer, topic, outcome, this.#now())
    this.counters.recorded[outcome]++
    this.#c.events?.emit('trust', { reason: 'recorded', peer, topic })
    if (topic === PEER_TOPIC) for (const t of this.#scores.keys()) this.#dirty.add(t)
    else {
      this.#dirty.add(topic)
      this.#publisher.changed(topic)
    }
  }

  /** {@link record} for what delegation or verification observed about a capability's provider. */
  recordOutcome(outcome: TaskOutcome): void {
    this.record(outcome.peer, this.topicOf(outcome.capability), outcome.kind)
  }

  /** {@link topicOf}, remembered per capability object. */
  topicOf(capability: Capability): string {
    let topic = this.#topicCache.get(capability)
    if (topic === undefined) this.#topicCache.set(capability, (topic = topicOf(capability)))
    return topic
  }

  /** Trust in `peer` on `topic`, in [0, 1] (see the file's comment for the formula). */
  trust(peer: string, topic: string): number {
    if (this.#dirty.size > 0 && this.#now() - this.#lastRecompute >= LAZY_RECOMPUTE_MS)
      this.recompute([...this.#dirty])
    return this.#value(peer, topic)
  }

  #value(peer: string, topic: string): number {
    if (peer === this.#self) return 1
    const scores = this.#scores.get(topic)
    const i = scores === undefined ? -1 : positionOf(scores, this.#ids.find(peer))
    const score = i < 0 ? 0 : (scores!.scores[i] as number)
    const { good, bad } = this.records.balance(peer, topic, this.#now())
    const veto = bad > good ? (good + 1) / (good + bad + 1) : 1
    return Math.max(this.#config.newcomer, score) * veto
  }

  /**
   * True when this node's own weighted failures of `peer` (per-peer ones included) exceed its successes on
   * `topic`, or when this node or one of the household's own nodes (the pre-trusted, through the `caught`
   * list of their opinions) caught the peer lying on any topic: a verified lie is slashed everywhere for
   * ordering, while trust itself stays per topic. Delegation tries such a peer last. Only the household's
   * reports count, so a stranger cannot push honest peers down by naming them.
   */
  caught(peer: string, topic: string): boolean {
    if (peer === this.#self) return false
    const now = this.#now()
    const { good, bad } = this.records.balance(peer, topic, now)
    if (bad > good) return true
    for (const t of this.records.topicsOf(peer))
      if (t !== PEER_TOPIC && this.records.lied(peer, t, now)) return true
    return this.book.named(peer, this.#pretrusted(), now)
  }

  /** Trust in the provider of `capability`: the matcher's hook. */
  readonly trustOf = (peer: string, capability: Capability): number =>
    this.trust(peer, this.topicOf(capability))

  /** What the requester's checks need to know of a provider: its trust, and whether this node caught it. */
  readonly standing = (peer: string, capability: Capability): { trust: number; caught: boolean } => {
    const topic = this.topicOf(capability)
    return { trust: this.trust(peer, topic), caught: this.caught(peer, topic) }
  }

  /** Recomputes global trust on `topics` (default: every topic with records or opinions). */
  recompute(topics?: readonly string[]): void {
    const started = performance.now()
    const now = this.#now()
    const present = new Set([...this.records.topics(), ...this.book.topics()])
    for (const topic of this.#scores.keys()) if (!present.has(topic)) this.#scores.delete(topic)
    const pretrustedPeers = this.#pretrusted()
    if (this.#compact(pretrustedPeers.length)) topics = undefined
    const ids = this.#ids
    const self = ids.id(this.#self)
    const pretrusted = pretrustedPeers.map((peer) => ids.id(peer))
    for (const topic of topics ?? present) {
      this.#dirty.delete(topic)
      const local = new Map<number, number>()
      for (const [peer, s] of this.records.row(topic, now)) local.set(ids.id(peer), s)
      const opinions = this.book.rows(topic, now)
      if (local.size === 0 && opinions.length === 0) {
        this.#scores.delete(topic)
        continue
      }
      const previous = this.#scores.get(topic)
      const input = { topic, universe: ids.size, self, pretrusted, local, opinions }
      this.#scores.set(
        topic,
        computeTopic(input, { alpha: this.#config.alpha, ...(previous ? { previous } : {}) }),
      )
    }
    if (topics === undefined) this.#dirty.clear()
    this.#lastRecompute = now
    this.counters.recomputes++
    this.#c.events?.emit('trust', { reason: 'recomputed' })
    this.counters.lastRecomputeMs = performance.now() - started
  }

  /** Per topic, what this node observed of `peer` and what it makes of it. */
  explain(peer: string): { peer: string; topics: TopicExplanation[] } {
    const now = this.#now()
    const topics = new Set(this.records.topicsOf(peer))
    const id = this.#ids.find(peer)
    for (const [topic, scores] of this.#scores) if (positionOf(scores, id) >= 0) topics.add(topic)
    return {
      peer,
      topics: [...topics].sort().map((topic) => {
        const scores = this.#scores.get(topic)
        const i = scores === undefined ? -1 : positionOf(scores, id)
        return {
          topic,
          counts: this.records.counts(peer, topic, now),
          local: this.records.localTrust(peer, topic, now),
          global: i < 0 ? 0 : (scores!.trust[i] as number),
          trust: topic === PEER_TOPIC ? 0 : this.trust(peer, topic),
        }
      }),
    }
  }

  /** Takes an opinion from another transport than gossip (and from tests): the same checks and effects. */
  receive(bytes: Uint8Array, sender: string): TakeResult {
    const result = this.book.take(bytes, sender, this.#now())
    if (result.ok) this.#dirty.add(result.opinion.topic)
    else if (result.charge) this.record(sender, PEER_TOPIC, 'invalid_opinion')
    return result
  }

  /** This node's signed opinion on `topic` now (a new seq each call); undefined when it rates nobody there. */
  opinion(topic: string): Uint8Array | undefined {
    return this.#publisher.sign(topic)
  }

  /** Sends this node's opinions on every topic now (also done every `opinionInterval`). */
  publish(): Promise<void> {
    return this.#publisher.publishAll()
  }

  /**
   * Starts a new id table when the current one holds far more ids than anything refers to (opinions were
   * replaced or dropped); every topic is then recomputed from scratch. True when it did.
   */
  #compact(pretrusted: number): boolean {
    const live = this.book.references + this.records.size + pretrusted + 1
    if (this.#ids.size <= Math.max(4 * this.#config.maxPeers, 2 * live)) return false
    this.#ids.reset()
    this.book.reintern()
    this.#scores.clear()
    this.counters.idResets++
    return true
  }

  #pretrusted(): readonly string[] {
    return this.#c.pretrusted?.() ?? this.#c.config.trust.pretrusted
  }
}
