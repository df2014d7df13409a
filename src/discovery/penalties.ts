/**
 * Limits on what one peer can make this node do. {@link PeerPenalties}: strikes against peers that send
 * invalid discovery messages, `maxStrikes` within `windowMs` and the peer is ignored for `banMs`.
 * {@link TokenBuckets}: a rate per peer for work that valid messages cost (signature checks). Both bounded:
 * the oldest records go first when their limit of peers is reached.
 */
export interface PenaltiesInit {
  maxStrikes?: number
  windowMs?: number
  banMs?: number
  maxPeers?: number
  now?: () => number
}

interface Record {
  strikes: number
  windowStart: number
  bannedUntil: number
}

export class PeerPenalties {
  readonly #records = new Map<string, Record>()
  readonly #maxStrikes: number
  readonly #windowMs: number
  readonly #banMs: number
  readonly #maxPeers: number
  readonly #now: () => number

  constructor(init: PenaltiesInit = {}) {
    this.#maxStrikes = init.maxStrikes ?? 10
    this.#windowMs = init.windowMs ?? 60_000
    this.#banMs = init.banMs ?? 300_000
    this.#maxPeers = init.maxPeers ?? 1024
    this.#now = init.now ?? Date.now
  }

  isBanned(peer: string): boolean {
    return (this.#records.get(peer)?.bannedUntil ?? 0) > this.#now()
  }

  /** Records one strike; returns true when this strike bans the peer. */
  strike(peer: string): boolean {
    const now = this.#now()
    let record = this.#records.get(peer)
    if (record == null || now - record.windowStart > this.#windowMs) {
      if (record == null && this.#records.size >= this.#maxPeers)
        this.#records.delete(this.#records.keys().next().value as string)
      record = { strikes: 0, windowStart: now, bannedUntil: record?.bannedUntil ?? 0 }
      this.#records.set(peer, record)
    }
    record.strikes++
    if (record.strikes >= this.#maxStrikes && record.bannedUntil <= now) {
      record.bannedUntil = now + this.#banMs
      return true
    }
    return false
  }
}

export interface TokenBucketsInit {
  /** tokens added per second */
  ratePerSec: number
  /** most tokens a key can hold; a new key starts full */
  burst: number
  /** keys tracked at most; the least recently refilled go first */
  maxKeys?: number
  now?: () => number
}

/**
 * A token bucket per key (a peer id): `take(key)` spends one token or says no. Bounded like
 * {@link PeerPenalties}: when `maxKeys` is reached the oldest key is forgotten (and starts full again).
 *
 * @example
 * const budget = new TokenBuckets({ ratePerSec: 50, burst: 200 })
 * if (!budget.take(peer)) return 'limited'
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  readonly #rate: number
  readonly #burst: number
  readonly #maxKeys: number
  readonly #now: () => number

  constructor(init: TokenBucketsInit) {
    this.#rate = init.ratePerSec
    this.#burst = init.burst
    this.#maxKeys = init.maxKeys ?? 1024
    this.#now = init.now ?? Date.now
  }

  /** Takes `n` tokens from `key`'s bucket; false (taking none) when it holds fewer. */
  take(key: string, n = 1): boolean {
    const now = this.#now()
    let bucket = this.#buckets.get(key)
    if (bucket == null) {
      if (this.#buckets.size >= this.#maxKeys)
        this.#buckets.delete(this.#buckets.keys().next().value as string)
      bucket = { tokens: this.#burst, at: now }
    } else {
      this.#buckets.delete(key)
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) * this.#rate) / 1000)
      bucket.at = now
    }
    // re-inserted on every use, so the map's order is least recently used first
    this.#buckets.set(key, bucket)
    if (bucket.tokens < n) return false
    bucket.tokens -= n
    return true
  }
}
