/**
 * A bounded min-heap that keeps the best k items seen, so ranking n candidates costs O(n log k) and never
 * sorts the whole candidate set. The heap's root is the worst item kept: the bar a newcomer must clear.
 */

/**
 * Keeps the `k` best items by `better(a, b)` (true when `a` ranks above `b`).
 *
 * @example
 * const top = new TopK<number>(2, (a, b) => a > b)
 * for (const n of [5, 1, 9, 7]) top.offer(n)
 * top.sorted() // [9, 7]
 */
export class TopK<T> {
  readonly #items: T[] = []
  readonly #k: number
  readonly #better: (a: T, b: T) => boolean

  constructor(k: number, better: (a: T, b: T) => boolean) {
    this.#k = Math.max(0, Math.floor(k))
    this.#better = better
  }

  get full(): boolean {
    return this.#items.length >= this.#k
  }

  /** The worst item kept, undefined while empty. */
  get worst(): T | undefined {
    return this.#items[0]
  }

  /** Whether `item` would be kept; lets a caller skip building an item that would be thrown away. */
  admits(item: T): boolean {
    if (this.#k === 0) return false
    return !this.full || this.#better(item, this.#items[0]!)
  }

  offer(item: T): void {
    if (!this.admits(item)) return
    const items = this.#items
    if (!this.full) {
      items.push(item)
      this.#up(items.length - 1)
    } else {
      items[0] = item
      this.#down(0)
    }
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.#items].sort((a, b) => (this.#better(a, b) ? -1 : this.#better(b, a) ? 1 : 0))
  }

  #up(i: number): void {
    const items = this.#items
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#better(items[parent]!, items[i]!)) break
      ;[items[parent], items[i]] = [items[i]!, items[parent]!]
      i = parent
    }
  }

  #down(i: number): void {
    const items = this.#items
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let worst = i
      if (l < items.length && this.#better(items[worst]!, items[l]!)) worst = l
      if (r < items.length && this.#better(items[worst]!, items[r]!)) worst = r
      if (worst === i) return
      ;[items[worst], items[i]] = [items[i]!, items[worst]!]
      i = worst
    }
  }
}
