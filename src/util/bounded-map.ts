/**
 * A Map that holds at most `max` entries and forgets the oldest beyond it. Every cache, rate table and
 * record of peers that outsiders can grow is one of these, so that no input makes memory grow without bound.
 *
 * "Oldest" is insertion order, as a Map iterates. `refresh` makes it recency instead: `'set'` moves a key to
 * the newest end whenever it is written, `'access'` also when it is read (a least recently used cache).
 */

/** How a key's place in the eviction order moves: never, on every write, or on every read and write. */
export type Refresh = 'none' | 'set' | 'access'

export interface BoundedMapInit<K, V> {
  /** entries kept at most; 0 keeps none */
  max: number
  /** default `'none'`: a key keeps the place of its first insertion until deleted */
  refresh?: Refresh
  /** called for each entry forgotten to stay within `max` (not for `delete` or `clear`) */
  onEvict?: (key: K, value: V) => void
}

/**
 * A Map bounded to `max` entries; adding past the bound evicts the oldest first.
 *
 * @example
 * const names = new BoundedMap<string, string>({ max: 2 })
 * names.set('a', '1').set('b', '2').set('c', '3')
 * [...names.keys()] // ['b', 'c']
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number
  readonly #refresh: Refresh
  readonly #onEvict: ((key: K, value: V) => void) | undefined

  constructor(init: BoundedMapInit<K, V>) {
    super()
    this.#max = checkedMax(init.max)
    this.#refresh = init.refresh ?? 'none'
    this.#onEvict = init.onEvict
  }

  /** The bound. */
  get max(): number {
    return this.#max
  }

  override get(key: K): V | undefined {
    if (this.#refresh !== 'access' || !super.has(key)) return super.get(key)
    const value = super.get(key) as V
    super.delete(key)
    super.set(key, value)
    return value
  }

  override set(key: K, value: V): this {
    if (this.#refresh !== 'none') super.delete(key)
    super.set(key, value)
    this.#trim()
    return this
  }

  /**
   * Evicts the oldest entry (through `onEvict`), for a caller with a bound of its own such as a byte budget.
   * False when the map is empty.
   *
   * @example
   * while (bytes + cost > maxBytes && cache.evictOldest()) {}
   */
  evictOldest(): boolean {
    const first = super.entries().next()
    if (first.done === true) return false
    const [key, value] = first.value
    super.delete(key)
    this.#onEvict?.(key, value)
    return true
  }

  #trim(): void {
    while (this.size > this.#max) this.evictOldest()
  }
}

/**
 * Deletes the oldest entries of `map` (insertion order) until it holds at most `max`, passing each to
 * `onEvict`: for a caller that bounds a plain Map at a moment of its own choosing, such as after loading a
 * table whose rows refresh entries out of order, or when its bound changes on a config reload.
 *
 * @example
 * trimOldest(peers, maxPeers, (peer) => forgotten.add(peer))
 */
export function trimOldest<K, V>(map: Map<K, V>, max: number, onEvict?: (key: K, value: V) => void): void {
  while (map.size > max) {
    const [key, value] = map.entries().next().value as [K, V]
    map.delete(key)
    onEvict?.(key, value)
  }
}

function checkedMax(max: number): number {
  if (!Number.isInteger(max) || max < 0)
    throw new RangeError(`a bound must be a whole number >= 0, not ${max}`)
  return max
}

/**
 * A Set of at most `max` keys that forgets the oldest beyond it; `add` of a key already held makes it the
 * newest, so the set remembers what was seen most recently.
 *
 * @example
 * const seen = new BoundedSet<string>(2)
 * seen.add('a').add('b').add('a').add('c')
 * [...seen] // ['a', 'c']
 */
export class BoundedSet<K> extends Set<K> {
  readonly #max: number

  constructor(max: number) {
    super()
    this.#max = checkedMax(max)
  }

  override add(key: K): this {
    super.delete(key)
    super.add(key)
    while (this.size > this.#max) super.delete(super.values().next().value as K)
    return this
  }
}
