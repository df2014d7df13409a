/**
 * The intent matcher (DESIGN.md, "Discover"): live descriptors are indexed as they arrive, and an intent is
 * answered from the index by relevance, filtered by tags, constraints and schema fit, and ranked by
 * relevance x schema x availability x trust x latency. Only the best `limit` candidates are ever built:
 * a candidate whose upper bound (relevance x availability) cannot beat the current k-th is skipped before
 * any hook is called.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Capability, Descriptor } from '../descriptor.ts'
import { Bm25Scorer } from './bm25.ts'
import { DEFAULT_LIMIT, FIRST_PASS_SHARE } from './constants.ts'
import { availability, defaultTier, latencyFactor, ranksAbove, trustFactor, unitInterval } from './rank.ts'
import type { SchemaShape } from './schema-compat.ts'
import { inputFit, outputFit, shapeOf } from './schema-compat.ts'
import type { Analyzer } from './text.ts'
import { createAnalyzer, hasTagTerms } from './text.ts'
import { TopK } from './top-k.ts'
import type {
  CapabilityMeta,
  Intent,
  IntentConstraints,
  Match,
  QueryOptions,
  RelevanceScorer,
  Tier,
} from './types.ts'

export interface CapabilityIndexInit {
  /** relevance model; BM25 over title, description and tags by default */
  scorer?: RelevanceScorer
  /** word analysis for tag filters (and for the default scorer) */
  analyzer?: Analyzer
  /**
   * the trust plane's score for `peer` on `capability`, in [0, 1], for every query that brings no `trust`
   * hook of its own; its trust part is trustFactor(score) = 0.25 + 0.75 · score
   */
  trustOf?: (peer: string, capability: Capability) => number
}

interface PeerEntry {
  readonly peer: string
  descriptor: Descriptor
  local: boolean
  availability: number
  readonly docs: number[]
}

interface DocEntry {
  readonly peer: PeerEntry
  readonly capability: Capability
  tier: Tier
  /** the terms of every tag, for tag filters (a handful: an array beats a set here) */
  readonly tags: readonly string[]
  /** read on first use: most capabilities never meet an intent with a schema */
  schemas?: { input: SchemaShape | undefined; output: SchemaShape | undefined }
}

interface QueryState {
  readonly options: QueryOptions
  readonly constraints: IntentConstraints
  readonly tags: readonly string[][]
  readonly input: SchemaShape | undefined
  readonly output: SchemaShape | undefined
  readonly top: TopK<Match>
}

/**
 * Every live capability known to this node, indexed for intent queries and kept current descriptor by
 * descriptor: `put()` when one arrives or is refreshed, `remove()` when it expires.
 *
 * @example
 * const index = new CapabilityIndex()
 * index.put(descriptor.peer, descriptor, { local: false })
 * const [best] = index.query({ text: 'turn on the living room lamp' }, { latencyOf: (peer) => rtt.get(peer) })
 * best?.capability.id // 'light.living-room'
 */
export class CapabilityIndex {
  readonly #analyzer: Analyzer
  readonly #scorer: RelevanceScorer
  readonly #trustOf: ((peer: string, capability: Capability) => number) | undefined
  readonly #peers = new Map<string, PeerEntry>()
  readonly #docs: (DocEntry | undefined)[] = []
  readonly #free: number[] = []
  /** availability by document slot, beside the scorer's arrays: the bound check reads no objects */
  #availability = new Float64Array(64)
  /** per-query scratch: each hit's bound, relevance x availability */
  #bounds = new Float64Array(64)
  #size = 0

  constructor(init: CapabilityIndexInit = {}) {
    this.#analyzer = init.analyzer ?? createAnalyzer()
    this.#scorer = init.scorer ?? new Bm25Scorer({ analyzer: this.#analyzer })
    this.#trustOf = init.trustOf
  }

  /** Capabilities indexed, over all peers. */
  get size(): number {
    return this.#size
  }

  /**
   * Indexes `descriptor` as `peer`'s current one, replacing whatever that peer had. A refresh that changes
   * only the state (the common case) updates availability and tiers without re-indexing any text.
   *
   * @example
   * index.put(descriptor.peer, descriptor, { local: descriptor.peer === self })
   */
  put(peer: string, descriptor: Descriptor, meta: CapabilityMeta): void {
    const existing = this.#peers.get(peer)
    if (existing !== undefined && isDeepStrictEqual(existing.descriptor.caps, descriptor.caps)) {
      existing.descriptor = descriptor
      existing.local = meta.local
      existing.availability = availability(descriptor.state)
      for (const doc of existing.docs) {
        const entry = this.#docs[doc]!
        entry.tier = defaultTier(entry.capability, descriptor)
        this.#availability[doc] = existing.availability
      }
      return
    }
    if (existing !== undefined) this.remove(peer)
    const entry: PeerEntry = {
      peer,
      descriptor,
      local: meta.local,
      availability: availability(descriptor.state),
      docs: [],
    }
    for (const capability of descriptor.caps) {
      const doc = this.#free.pop() ?? this.#docs.length
      const tags = [...new Set(capability.tags.flatMap((tag) => this.#analyzer.terms(tag)))]
      this.#docs[doc] = { peer: entry, capability, tier: defaultTier(capability, descriptor), tags }
      this.#setAvailability(doc, entry.availability)
      this.#scorer.add(doc, capability)
      entry.docs.push(doc)
    }
    this.#peers.set(peer, entry)
    this.#size += entry.docs.length
  }

  /**
   * Forgets every capability of `peer`; false if none were indexed.
   *
   * @example
   * store.on('expired', (peer) => index.remove(peer))
   */
  remove(peer: string): boolean {
    const entry = this.#peers.get(peer)
    if (entry === undefined) return false
    for (const doc of entry.docs) {
      this.#scorer.remove(doc)
      this.#docs[doc] = undefined
      this.#availability[doc] = 0
      this.#free.push(doc)
    }
    this.#peers.delete(peer)
    this.#size -= entry.docs.length
    return true
  }

  /**
   * The best matches for `intent`, best first, at most `options.limit` (10). An intent with neither text nor
   * tags matches everything that passes its constraints, ranked by availability, trust and latency.
   *
   * @example
   * index.query({ text: 'temp in the kitchen', constraints: { kind: 'sensor' } }, { limit: 3 })
   * // [{ peer, capability: { id: 'temperature.kitchen', … }, local: false, score: 0.93, parts: { … } }, …]
   */
  query(intent: Intent, options: QueryOptions = {}): Match[] {
    const limit = options.limit ?? DEFAULT_LIMIT
    if (limit <= 0 || this.#size === 0) return []
    const q: QueryState = {
      options,
      constraints: intent.constraints ?? {},
      tags: (intent.tags ?? []).flatMap((tag) => this.#analyzer.tagGroups(tag)),
      input: shapeOf(intent.input),
      output: shapeOf(intent.output),
      top: new TopK<Match>(limit, ranksAbove),
    }
    const hits = this.#scorer.score(intent)
    if (hits === undefined) {
      for (let doc = 0; doc < this.#docs.length; doc++) {
        if (this.#docs[doc] !== undefined) this.#consider(doc, 1, q)
      }
      return q.top.sorted()
    }
    const { count, docs, relevance } = hits
    if (this.#bounds.length < count) this.#bounds = new Float64Array(Math.max(count, this.#bounds.length * 2))
    const bounds = this.#bounds
    const avail = this.#availability
    let best = 0
    for (let i = 0; i < count; i++) {
      const bound = relevance[i]! * avail[docs[i]!]!
      bounds[i] = bound
      if (bound > best) best = bound
    }
    // Two passes: first the candidates whose bound is near the best one, so the top-k bar rises early; then
    // the rest, most of which fall below the bar and cost one array read each.
    const cut = best * FIRST_PASS_SHARE
    let bar = -1
    for (let i = 0; i < count; i++) {
      if (bounds[i]! >= cut) bar = this.#consider(docs[i]!, relevance[i]!, q)
    }
    for (let i = 0; i < count; i++) {
      const bound = bounds[i]!
      if (bound < cut && bound >= bar) bar = this.#consider(docs[i]!, relevance[i]!, q)
    }
    return q.top.sorted()
  }

  /**
   * Filters one candidate and offers it to the top-k; cheap checks first, hooks last. Returns the bar a later
   * candidate's bound must reach: the k-th score once k are kept, else -1.
   */
  #consider(doc: number, relevance: number, q: QueryState): number {
    const top = q.top
    const bar = top.full ? top.worst!.score : -1
    const entry = this.#docs[doc]
    if (entry === undefined) return bar
    const peer = entry.peer
    if (relevance * peer.availability < bar) return bar
    const { options, constraints: c } = q
    const capability = entry.capability
    if (c.kind !== undefined && capability.kind !== c.kind) return bar
    if (c.local !== undefined && peer.local !== c.local) return bar
    if (q.tags.length > 0 && !hasTagTerms(entry.tags, q.tags)) return bar
    if (c.minTier !== undefined) {
      const tier = options.tierOf?.(peer.peer, capability, peer.descriptor) ?? entry.tier
      if (tier < c.minTier) return bar
    }
    const ms = peer.local ? 0 : options.latencyOf?.(peer.peer)
    if (c.maxLatencyMs !== undefined && ms !== undefined && ms > c.maxLatencyMs) return bar
    const schema = q.input === undefined && q.output === undefined ? 1 : this.#schemaFit(entry, q)
    if (schema <= 0) return bar
    const trust =
      options.trust !== undefined
        ? unitInterval(options.trust(peer.peer, capability))
        : this.#trustOf !== undefined
          ? trustFactor(this.#trustOf(peer.peer, capability))
          : 1
    const latency = latencyFactor(ms)
    const score = relevance * schema * peer.availability * trust * latency
    if (!(score > 0)) return bar
    q.top.offer({
      peer: peer.peer,
      capability,
      local: peer.local,
      score,
      parts: { relevance, schema, availability: peer.availability, trust, latency },
    })
    return top.full ? top.worst!.score : -1
  }

  #setAvailability(doc: number, value: number): void {
    if (doc >= this.#availability.length) {
      const grown = new Float64Array(this.#availability.length * 2)
      grown.set(this.#availability)
      this.#availability = grown
    }
    this.#availability[doc] = value
  }

  #schemaFit(entry: DocEntry, q: QueryState): number {
    entry.schemas ??= { input: shapeOf(entry.capability.input), output: shapeOf(entry.capability.output) }
    return inputFit(q.input, entry.schemas.input) * outputFit(q.output, entry.schemas.output)
  }
}
