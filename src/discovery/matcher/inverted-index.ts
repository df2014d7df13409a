/**
 * An inverted index that is updated in place: each term's postings are parallel arrays of document slots,
 * term frequencies and precomputed weights, and each document remembers where it sits in every posting list,
 * so removing it is a swap with the last entry rather than a search. Descriptors are refreshed every ttl/3,
 * so removal has to be cheap.
 *
 * Weights depend on the mean document length, which moves as documents come and go; a posting list keeps
 * the mean its weights were computed with and recomputes them when the mean has drifted by more than
 * `drift` (2 %), so queries read a ready number per posting instead of normalising each time.
 */

/** The documents containing one term, the (field-weighted) frequency of the term in each, and its weight. */
export interface Postings {
  readonly term: string
  readonly docs: number[]
  readonly tfs: number[]
  readonly weights: number[]
  /** the mean document length the weights were computed with */
  basis: number
}

/** Weight of one posting from its term frequency, its document's length and the mean length. */
export type Weigh = (tf: number, length: number, averageLength: number) => number

export interface InvertedIndexInit {
  /** by default the term frequency itself */
  weigh?: Weigh
  /** relative drift of the mean length that makes a posting list recompute its weights */
  drift?: number
}

interface DocTerms {
  postings: Postings[]
  /** positions[i] is this document's index in postings[i] */
  positions: number[]
  length: number
}

/**
 * Term → postings, plus document lengths for length normalisation.
 *
 * @example
 * const index = new InvertedIndex()
 * index.add(0, new Map([['light', 2]]), 2)
 * index.postings('light')?.docs // [0]
 */
export class InvertedIndex {
  readonly #terms = new Map<string, Postings>()
  readonly #docs: (DocTerms | undefined)[] = []
  readonly #weigh: Weigh
  readonly #drift: number
  #count = 0
  #totalLength = 0

  constructor(init: InvertedIndexInit = {}) {
    this.#weigh = init.weigh ?? ((tf) => tf)
    this.#drift = init.drift ?? 0.02
  }

  /** Documents indexed. */
  get count(): number {
    return this.#count
  }

  /** Mean document length, 1 when empty (a divisor). */
  get averageLength(): number {
    return this.#count === 0 ? 1 : this.#totalLength / this.#count
  }

  /** The highest document slot ever used, plus one. */
  get capacity(): number {
    return this.#docs.length
  }

  /** The postings of `term`, their weights current to within the drift allowance. */
  postings(term: string): Postings | undefined {
    const postings = this.#terms.get(term)
    if (postings === undefined) return undefined
    const average = this.averageLength
    if (Math.abs(postings.basis - average) > this.#drift * average) {
      const { docs, tfs, weights } = postings
      for (let i = 0; i < docs.length; i++)
        weights[i] = this.#weigh(tfs[i]!, this.#docs[docs[i]!]!.length, average)
      postings.basis = average
    }
    return postings
  }

  /**
   * Indexes document `doc` with its term frequencies and its length. Throws if `doc` is already indexed.
   *
   * @example
   * index.add(3, new Map([['kitchen', 2], ['temperature', 3.5]]), 5.5)
   */
  add(doc: number, frequencies: ReadonlyMap<string, number>, length: number): void {
    if (this.#docs[doc] !== undefined) throw new Error(`document ${doc} is already indexed`)
    this.#count++
    this.#totalLength += length
    const entry: DocTerms = { postings: [], positions: [], length }
    for (const [term, tf] of frequencies) {
      let postings = this.#terms.get(term)
      if (postings === undefined) {
        postings = { term, docs: [], tfs: [], weights: [], basis: this.averageLength }
        this.#terms.set(term, postings)
      }
      entry.positions.push(postings.docs.length)
      entry.postings.push(postings)
      postings.docs.push(doc)
      postings.tfs.push(tf)
      postings.weights.push(this.#weigh(tf, length, postings.basis))
    }
    this.#docs[doc] = entry
  }

  /**
   * Removes document `doc`; a no-op if it is not indexed. Terms left without documents are forgotten.
   *
   * @example
   * index.remove(3)
   */
  remove(doc: number): void {
    const entry = this.#docs[doc]
    if (entry === undefined) return
    for (let i = 0; i < entry.postings.length; i++) {
      const postings = entry.postings[i]!
      const at = entry.positions[i]!
      const lastDoc = postings.docs.pop()!
      const lastTf = postings.tfs.pop()!
      const lastWeight = postings.weights.pop()!
      if (at < postings.docs.length) {
        postings.docs[at] = lastDoc
        postings.tfs[at] = lastTf
        postings.weights[at] = lastWeight
        const moved = this.#docs[lastDoc]!
        moved.positions[moved.postings.indexOf(postings)] = at
      }
      if (postings.docs.length === 0) this.#terms.delete(postings.term)
    }
    this.#docs[doc] = undefined
    this.#count--
    this.#totalLength = this.#count === 0 ? 0 : this.#totalLength - entry.length
  }
}
