/**
 * The soft-state store: the newest verified descriptor of each peer, for as long as it is live.
 *
 * - An entry lives until min(iat + ttl + skew, received + ttl): a sender's clock cannot stretch its
 *   descriptor's life by more than the skew allowance, and a node whose clock is wrong still expires.
 * - An older seq never replaces a newer one; the same seq with other bytes is refused too (equivocation).
 * - Expiry is driven by a min-heap of deadlines and one timer armed for the earliest, not by a scan per query.
 * - The store is bounded: when full, the entry closest to expiry makes room, unless the newcomer itself
 *   would expire sooner, in which case the newcomer is refused.
 * Every outcome is counted.
 */
import { DescriptorError, type RejectReason, type SignedDescriptor } from './descriptor.ts'

export interface StoreEntry extends SignedDescriptor {
  /** hex of the digest, the key announcements refer to */
  digestHex: string
  receivedAt: number
  expiresAt: number
}

export interface StoreInit {
  maxEntries?: number
  /** clock skew tolerated between peers (ms) */
  maxSkewMs?: number
  now?: () => number
}

export type StoreEvent =
  | { type: 'put'; entry: StoreEntry; previous?: StoreEntry }
  | { type: 'remove'; entry: StoreEntry; why: 'expired' | 'evicted' }

export type StoreCounters = {
  accepted: number
  replaced: number
  duplicate: number
  expired: number
  evicted: number
  rejected: Record<RejectReason | 'store_full', number>
}

export const STORE_DEFAULTS = { maxEntries: 10_000, maxSkewMs: 30_000 }

export class DescriptorStore {
  readonly counters: StoreCounters = {
    accepted: 0,
    replaced: 0,
    duplicate: 0,
    expired: 0,
    evicted: 0,
    rejected: {
      oversize: 0,
      malformed: 0,
      bad_signature: 0,
      stale_seq: 0,
      expired: 0,
      clock_skew: 0,
      store_full: 0,
    },
  }
  readonly #entries = new Map<string, StoreEntry>()
  readonly #heap: StoreEntry[] = []
  readonly #listeners = new Set<(event: StoreEvent) => void>()
  readonly #maxEntries: number
  readonly #maxSkewMs: number
  readonly #now: () => number
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #started = false

  constructor(init: StoreInit = {}) {
    this.#maxEntries = init.maxEntries ?? STORE_DEFAULTS.maxEntries
    this.#maxSkewMs = init.maxSkewMs ?? STORE_DEFAULTS.maxSkewMs
    this.#now = init.now ?? Date.now
  }

  get size(): number {
    return this.#entries.size
  }

  start(): void {
    this.#started = true
    this.#arm()
  }

  stop(): void {
    this.#started = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  /** Subscribes to puts and removals; returns the unsubscribe function. */
  onChange(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get(peer: string): StoreEntry | undefined {
    const entry = this.#entries.get(peer)
    return entry != null && entry.expiresAt > this.#now() ? entry : undefined
  }

  /** True when the store already holds this exact descriptor, or a newer one from the same peer. */
  has(peer: string, seq: number, digestHex?: string): boolean {
    const entry = this.get(peer)
    if (entry == null) return false
    return (
      entry.descriptor.seq > seq ||
      (entry.descriptor.seq === seq && (digestHex == null || entry.digestHex === digestHex))
    )
  }

  /** Every live entry. */
  *live(): IterableIterator<StoreEntry> {
    const now = this.#now()
    for (const entry of this.#entries.values()) if (entry.expiresAt > now) yield entry
  }

  /** Counts a rejection that happened before the store (decode, signature, size). */
  reject(reason: RejectReason): void {
    this.counters.rejected[reason]++
  }

  /**
   * Stores a verified descriptor. Returns whether it was new, replaced an older one, or was already held;
   * throws {@link DescriptorError} (counted) when freshness rules refuse it.
   */
  put(signed: SignedDescriptor, options: { heardAt?: number } = {}): 'accepted' | 'replaced' | 'duplicate' {
    const { descriptor } = signed
    const now = this.#now()
    const digestHex = Buffer.from(signed.digest).toString('hex')
    if (descriptor.iat > now + this.#maxSkewMs)
      this.#refuse('clock_skew', `issued ${descriptor.iat - now} ms in the future`)
    // a body signed a while ago is still live when its origin vouched for it recently (a heartbeat)
    const heard = Math.max(descriptor.iat, Math.min(options.heardAt ?? 0, now + this.#maxSkewMs))
    const expiresAt = Math.min(heard + descriptor.ttl + this.#maxSkewMs, now + descriptor.ttl)
    if (expiresAt <= now) this.#refuse('expired', `expired ${now - expiresAt} ms ago`)
    const previous = this.#entries.get(descriptor.peer)
    if (previous != null && previous.expiresAt > now) {
      if (previous.descriptor.seq === descriptor.seq && previous.digestHex === digestHex) {
        if (options.heardAt != null) this.touch(descriptor.peer, descriptor.seq, digestHex, options.heardAt)
        this.counters.duplicate++
        return 'duplicate'
      }
      if (previous.descriptor.seq >= descriptor.seq) {
        this.#refuse(
          'stale_seq',
          `seq ${descriptor.seq} is not newer than the held ${previous.descriptor.seq}`,
        )
      }
    }
    if (previous == null && this.#entries.size >= this.#maxEntries) this.#makeRoom(expiresAt)
    const entry: StoreEntry = { ...signed, digestHex, receivedAt: now, expiresAt }
    this.#entries.set(descriptor.peer, entry)
    this.#push(entry)
    if (previous != null) this.counters.replaced++
    else this.counters.accepted++
    this.#emit({ type: 'put', entry, ...(previous != null ? { previous } : {}) })
    this.#arm()
    return previous != null ? 'replaced' : 'accepted'
  }

  /**
   * Extends the life of the held descriptor `peer`/`seq`/`digestHex` because its origin vouched for it at
   * `heardAt` (an authenticated heartbeat). False when that exact descriptor is not held live.
   */
  touch(peer: string, seq: number, digestHex: string, heardAt: number): boolean {
    const now = this.#now()
    const entry = this.#entries.get(peer)
    if (entry == null || entry.expiresAt <= now) return false
    if (entry.descriptor.seq !== seq || entry.digestHex !== digestHex) return false
    const heard = Math.min(heardAt, now + this.#maxSkewMs)
    const expiresAt = Math.min(heard + entry.descriptor.ttl + this.#maxSkewMs, now + entry.descriptor.ttl)
    if (expiresAt <= entry.expiresAt) return true
    const extended: StoreEntry = { ...entry, expiresAt }
    this.#entries.set(peer, extended)
    this.#push(extended)
    this.#arm()
    return true
  }

  /** Removes every entry whose time is up; the timer calls this, tests with fake clocks may too. */
  expire(): number {
    const now = this.#now()
    let removed = 0
    for (let top = this.#heap[0]; top != null && top.expiresAt <= now; top = this.#heap[0]) {
      this.#pop()
      if (this.#entries.get(top.descriptor.peer) !== top) continue // superseded: a lazy heap deletion
      this.#entries.delete(top.descriptor.peer)
      this.counters.expired++
      removed++
      this.#emit({ type: 'remove', entry: top, why: 'expired' })
    }
    return removed
  }

  #makeRoom(newcomerExpiresAt: number): void {
    this.expire()
    if (this.#entries.size < this.#maxEntries) return
    while (this.#heap[0] != null && this.#entries.get(this.#heap[0].descriptor.peer) !== this.#heap[0])
      this.#pop()
    const victim = this.#heap[0]
    if (victim == null || victim.expiresAt >= newcomerExpiresAt)
      this.#refuse('store_full', 'the store is full of fresher descriptors')
    this.#pop()
    this.#entries.delete(victim.descriptor.peer)
    this.counters.evicted++
    this.#emit({ type: 'remove', entry: victim, why: 'evicted' })
  }

  #refuse(reason: RejectReason | 'store_full', message: string): never {
    this.counters.rejected[reason]++
    throw new DescriptorError(reason === 'store_full' ? 'expired' : reason, message)
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event)
  }

  #arm(): void {
    if (!this.#started) return
    const next = this.#heap[0]?.expiresAt ?? Number.POSITIVE_INFINITY
    if (next >= this.#timerAt) return
    clearTimeout(this.#timer)
    this.#timerAt = next
    if (next === Number.POSITIVE_INFINITY) return
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Number.POSITIVE_INFINITY
        this.expire()
        this.#arm()
      },
      Math.max(0, next - this.#now()),
    )
    this.#timer.unref?.()
  }

  #push(entry: StoreEntry): void {
    const heap = this.#heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((heap[parent] as StoreEntry).expiresAt <= entry.expiresAt) break
      heap[i] = heap[parent] as StoreEntry
      i = parent
    }
    heap[i] = entry
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last == null || heap.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      let value = last.expiresAt
      if (l < heap.length && (heap[l] as StoreEntry).expiresAt < value) {
        smallest = l
        value = (heap[l] as StoreEntry).expiresAt
      }
      if (r < heap.length && (heap[r] as StoreEntry).expiresAt < value) smallest = r
      if (smallest === i) break
      heap[i] = heap[smallest] as StoreEntry
      i = smallest
    }
    heap[i] = last
  }
}
