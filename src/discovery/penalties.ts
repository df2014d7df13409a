/**
 * Strikes against peers that send invalid discovery messages: `maxStrikes` within `windowMs` and the peer is
 * ignored for `banMs`. Bounded: the oldest records go first when `maxPeers` is reached. (The rate per peer for
 * work that valid messages cost is a `TokenBuckets`, src/util/token-bucket.ts.)
 */
import { BoundedMap } from '../util/bounded-map.ts'
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
  readonly #records: BoundedMap<string, Record>
  readonly #maxStrikes: number
  readonly #windowMs: number
  readonly #banMs: number
  readonly #now: () => number

  constructor(init: PenaltiesInit = {}) {
    this.#maxStrikes = init.maxStrikes ?? 10
    this.#windowMs = init.windowMs ?? 60_000
    this.#banMs = init.banMs ?? 300_000
    this.#records = new BoundedMap({ max: init.maxPeers ?? 1024 })
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
