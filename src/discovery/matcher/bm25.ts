/**
 * BM25 over a capability's title, description and tags, the fields weighted (BM25F-style: a title word counts
 * more than a description word). Relevance is reported relative to the best-scoring document for the same
 * intent, so the top lexical match has relevance 1 and the others the share of its score they reach.
 */
import type { Capability } from '../descriptor.ts'
import { BM25_B, BM25_K1, FIELD_WEIGHTS } from './constants.ts'
import type { Postings } from './inverted-index.ts'
import { InvertedIndex } from './inverted-index.ts'
import type { Analyzer } from './text.ts'
import { createAnalyzer } from './text.ts'
import type { Intent, RelevanceScorer, ScoredDocs } from './types.ts'

export interface Bm25Init {
  analyzer?: Analyzer
  k1?: number
  b?: number
}

/**
 * The lexical {@link RelevanceScorer}. Scratch buffers are reused across queries, so a query allocates
 * almost nothing; the result is valid until the next `score()`.
 *
 * @example
 * const bm25 = new Bm25Scorer()
 * bm25.add(0, livingRoomLight)
 * const hits = bm25.score({ text: 'turn on the lamp' })
 * hits?.count // 1, with hits.docs[0] === 0 and hits.relevance[0] === 1
 */
export class Bm25Scorer implements RelevanceScorer {
  readonly #analyzer: Analyzer
  readonly #k1: number
  readonly #b: number
  readonly #index: InvertedIndex
  #acc = new Float64Array(0)
  #stamp = new Uint32Array(0)
  #epoch = 0
  #docs = new Int32Array(0)
  #relevance = new Float64Array(0)

  constructor(init: Bm25Init = {}) {
    this.#analyzer = init.analyzer ?? createAnalyzer()
    this.#k1 = init.k1 ?? BM25_K1
    this.#b = init.b ?? BM25_B
    const k1 = this.#k1
    const b = this.#b
    // the length-normalised, saturated term frequency; only the idf is left for query time
    this.#index = new InvertedIndex({
      weigh: (tf, length, average) => (tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * length) / average)),
    })
  }

  add(doc: number, capability: Capability): void {
    const frequencies = new Map<string, number>()
    let length = 0
    const field = (text: string, weight: number) => {
      for (const term of this.#analyzer.terms(text)) {
        frequencies.set(term, (frequencies.get(term) ?? 0) + weight)
        length += weight
      }
    }
    field(capability.title, FIELD_WEIGHTS.title)
    field(capability.description, FIELD_WEIGHTS.description)
    for (const tag of capability.tags) field(tag, FIELD_WEIGHTS.tags)
    this.#index.add(doc, frequencies, length)
  }

  remove(doc: number): void {
    this.#index.remove(doc)
  }

  score(intent: Intent): ScoredDocs | undefined {
    const postings = this.#queryPostings(intent)
    if (postings === undefined) return undefined
    this.#ensureCapacity(this.#index.capacity)
    const epoch = this.#nextEpoch()
    const acc = this.#acc
    const stamp = this.#stamp
    const docs = this.#docs
    const n = this.#index.count
    let count = 0
    // rarest terms first: the documents they touch tend to score best, so the index's top-k fills early
    for (const p of postings) {
      const df = p.docs.length
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5))
      const pDocs = p.docs
      const pWeights = p.weights
      for (let i = 0; i < df; i++) {
        const doc = pDocs[i]!
        const weight = idf * pWeights[i]!
        if (stamp[doc] === epoch) {
          acc[doc]! += weight
        } else {
          stamp[doc] = epoch
          acc[doc] = weight
          docs[count++] = doc
        }
      }
    }
    // gather in hit order once, so the normalising pass and the index's passes read memory in sequence
    const relevance = this.#relevance
    let best = 0
    for (let i = 0; i < count; i++) {
      const raw = acc[docs[i]!]!
      relevance[i] = raw
      if (raw > best) best = raw
    }
    for (let i = 0; i < count; i++) relevance[i]! /= best
    return { count, docs, relevance }
  }

  /** The posting lists of the intent's distinct terms, rarest first; undefined when it has no terms at all. */
  #queryPostings(intent: Intent): Postings[] | undefined {
    const terms = new Set(this.#analyzer.terms(intent.text))
    for (const tag of intent.tags ?? []) for (const term of this.#analyzer.terms(tag)) terms.add(term)
    if (terms.size === 0) return undefined
    const postings: Postings[] = []
    for (const term of terms) {
      const p = this.#index.postings(term)
      if (p !== undefined) postings.push(p)
    }
    return postings.sort((a, b) => a.docs.length - b.docs.length)
  }

  #ensureCapacity(capacity: number): void {
    if (this.#acc.length >= capacity) return
    const size = Math.max(capacity, this.#acc.length * 2, 64)
    this.#acc = new Float64Array(size)
    this.#stamp = new Uint32Array(size)
    this.#epoch = 0
    this.#docs = new Int32Array(size)
    this.#relevance = new Float64Array(size)
  }

  #nextEpoch(): number {
    if (this.#epoch === 0xffff_ffff) {
      this.#stamp.fill(0)
      this.#epoch = 0
    }
    return ++this.#epoch
  }
}
