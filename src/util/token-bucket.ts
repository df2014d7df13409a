/**
 * Token buckets: a rate with a burst allowance, for work that outsiders can ask for (signature checks, tasks,
 * opinions, MQTT messages). {@link TokenBucket} is one rate; {@link TokenBuckets} keeps one per key (a peer,
 * a topic) in a {@link BoundedMap}, so a flood of new keys costs memory up to a bound and no more.
 */
import { BoundedMap } from './bounded-map.ts'

export interface TokenBucketInit {
  /** tokens added per second */
  ratePerSec: number
  /** most tokens the bucket holds; it starts full */
  burst: number
  /** the clock, in ms; default `Date.now` */
  now?: () => number
}

/**
 * One token bucket: `take()` spends a token or says no, refilling at `ratePerSec` up to `burst`.
 *
 * @example
 * const bucket = new TokenBucket({ ratePerSec: 10, burst: 20 })
 * if (!bucket.take()) return 'limited'
 */
export class TokenBucket {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  #tokens: number
  #at: number

  /** `at`: when the bucket was filled; default now by its clock. */
  constructor(init: TokenBucketInit, at?: number) {
    this.#rate = init.ratePerSec
    this.#burst = init.burst
    this.#now = init.now ?? Date.now
    this.#tokens = init.burst
    this.#at = at ?? this.#now()
  }

  /** Tokens held now, refill included. */
  get tokens(): number {
    this.#refill(this.#now())
    return this.#tokens
  }

  /**
   * Takes `n` tokens; false (taking none) when the bucket holds fewer. `now` defaults to the bucket's clock,
   * for a caller that has already read it.
   */
  take(n = 1, now = this.#now()): boolean {
    this.#refill(now)
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  #refill(now: number): void {
    // a clock that stepped back refills nothing rather than draining the bucket
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) * this.#rate) / 1000)
    this.#at = now
  }
}

export interface TokenBucketsInit extends TokenBucketInit {
  /** keys tracked at most; the least recently used go first (and start full again). Default 1024 */
  maxKeys?: number
}

/**
 * A token bucket per key: `take(key)` spends one of that key's tokens or says no. A new key starts full.
 *
 * @example
 * const budget = new TokenBuckets({ ratePerSec: 50, burst: 200 })
 * if (!budget.take(peer)) return 'limited'
 */
export class TokenBuckets<K = string> {
  readonly #init: TokenBucketInit
  readonly #buckets: BoundedMap<K, TokenBucket>

  constructor(init: TokenBucketsInit) {
    const { maxKeys, ...bucket } = init
    this.#init = bucket
    this.#buckets = new BoundedMap({ max: maxKeys ?? 1024, refresh: 'access' })
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /**
   * Takes `n` tokens from `key`'s bucket; false (taking none) when it holds fewer. `now` defaults to the
   * clock of `init`, for a caller that keeps its own time.
   */
  take(key: K, n = 1, now?: number): boolean {
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#init, now)
      this.#buckets.set(key, bucket)
    }
    return bucket.take(n, now)
  }
}
