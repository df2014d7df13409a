/**
 * The soft-state store: the newest verified descriptor of each peer, for as long as it is live.
 *
 * - An entry lives until min(heard + ttl + skew, received + ttl), where `heard` is the later of its `iat` and
 *   the last authenticated notice from its origin (a heartbeat): a sender's clock cannot stretch its
 *   descriptor's life by more than the skew allowance, and a node whose clock is wrong still expires.
 * - The state is soft-state of its own: a heartbeat carries the origin's current state, and the entry's
 *   `descriptor.state` is the newest one its origin vouched for (`stateAt`), never an older one.
 * - An older seq never replaces a newer one; the same seq with another body is refused too (equivocation).
 *   Each wire version has its own sequence: a v2 summary replaces a peer's v1 descriptor whatever their seqs,
 *   and a v1 descriptor (the fitted copy a v2 node offers v1-only peers) never replaces a live v2 summary.
 * - Expiry is driven by a min-heap of deadlines and one timer armed for the earliest, not by a scan per query.
 * - The store is bounded: when full, the entry closest to expiry makes room, unless the newcomer itself
 *   would expire sooner, in which case the newcomer is refused.
 * Every outcome is counted.
 */
import { EventBus, type Events } from '../util/event-bus.ts'
import { DescriptorError, type NodeState, type RejectReason, type SignedDescriptor } from './descriptor.ts'
import type { DiscoveryEvents } from './events.ts'

/**
 * A held descriptor. Every field of `descriptor` is exactly the signed body (`bytes`), except `state`: that is
 * the newest state its origin vouched for, from the body or from a later authenticated notice, at `stateAt`.
 */
export interface StoreEntry extends SignedDescriptor {
  /** hex of the digest, the key announcements refer to */
  digestHex: string
  receivedAt: number
  expiresAt: number
  /** the origin's time (ms) of the state in `descriptor.state`: its `iat`, or a later notice's `at` */
  stateAt: number
}

/** An authenticated notice from a descriptor's origin: it vouched at `at` that the descriptor is live. */
export interface Vouch {
  at: number
  /** its state at `at`, when the notice carried one */
  state?: NodeState
}

export interface StoreInit {
  maxEntries?: number
  /** clock skew tolerated between peers (ms) */
  maxSkewMs?: number
  now?: () => number
  /** where puts, state updates and removals are published; default a bus of the store's own */
  events?: Events<Pick<DiscoveryEvents, 'descriptor'>>
}

export type StoreEvent =
  | { type: 'put'; entry: StoreEntry; previous?: StoreEntry }
  /** the held descriptor is unchanged; its origin reported a newer state */
  | { type: 'state'; entry: StoreEntry; previous: StoreEntry }
  | { type: 'remove'; entry: StoreEntry; why: 'expired' | 'evicted' }

export type StoreCounters = {
  accepted: number
  replaced: number
  duplicate: number
  /** newer states taken from heartbeats, without a new body */
  stateUpdates: number
  /** v1 descriptors not taken because the peer's v2 summary is held */
  superseded: number
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
    stateUpdates: 0,
    superseded: 0,
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
  readonly #events: Events<Pick<DiscoveryEvents, 'descriptor'>>
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
    this.#events = init.events ?? new EventBus()
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

  /** Subscribes to puts, state updates and removals; returns the unsubscribe function. */
  onChange(listener: (event: StoreEvent) => void): () => void {
    return this.#events.on('descriptor', listener)
  }

  get(peer: string): StoreEntry | undefined {
    const entry = this.#entries.get(peer)
    return entry != null && entry.expiresAt > this.#now() ? entry : undefined
  }

  /**
   * True when the store already holds this exact descriptor, or a newer one from the same peer (of wire
   * version `v`, or any entry of a later version).
   */
  has(peer: string, seq: number, digestHex?: string, v: 1 | 2 = 1): boolean {
    const entry = this.get(peer)
    if (entry == null) return false
    if (entry.descriptor.v !== v) return entry.descriptor.v > v
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
   * The freshness verdict on a descriptor before its signature is checked, so that stale, expired, skewed or
   * already held bodies cost no signature: `new` (worth verifying and putting) or `duplicate` (this very body
   * is held). Throws {@link DescriptorError} (counted) when {@link put} would refuse it.
   */
  precheck(
    descriptor: { v?: 1 | 2; peer: string; seq: number; iat: number; ttl: number },
    digestHex: string,
    heardAt?: number,
  ): 'new' | 'duplicate' {
    this.#lifetime(descriptor, heardAt)
    const previous = this.get(descriptor.peer)
    const v = descriptor.v ?? 1
    if (previous == null || previous.descriptor.v < v) return 'new'
    if (previous.descriptor.v > v) this.#supersede()
    if (previous.descriptor.seq === descriptor.seq && previous.digestHex === digestHex) return 'duplicate'
    if (previous.descriptor.seq >= descriptor.seq) {
      this.#refuse('stale_seq', `seq ${descriptor.seq} is not newer than the held ${previous.descriptor.seq}`)
    }
    return 'new'
  }

  /**
   * Stores a verified descriptor; `vouch` is the authenticated notice of its origin that announced it, if
   * any (its time extends the entry's life, its state is newer than the body's). Returns whether it was
   * new, replaced an older one, or was already held; throws {@link DescriptorError} (counted) when freshness
   * rules refuse it.
   */
  put(signed: SignedDescriptor, vouch?: Vouch): 'accepted' | 'replaced' | 'duplicate' {
    const { descriptor } = signed
    const now = this.#now()
    const digestHex = Buffer.from(signed.digest).toString('hex')
    const expiresAt = this.#lifetime(descriptor, vouch?.at)
    const previous = this.#entries.get(descriptor.peer)
    if (previous != null && previous.expiresAt > now && previous.descriptor.v > descriptor.v)
      this.#supersede()
    if (previous != null && previous.expiresAt > now && previous.descriptor.v === descriptor.v) {
      if (previous.descriptor.seq === descriptor.seq && previous.digestHex === digestHex) {
        if (vouch != null) this.touch(descriptor.peer, descriptor.seq, digestHex, vouch)
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
    const newerState = vouch?.state != null && vouch.at > descriptor.iat
    const entry: StoreEntry = {
      ...signed,
      ...(newerState ? { descriptor: { ...descriptor, state: vouch.state as NodeState } } : {}),
      digestHex,
      receivedAt: now,
      expiresAt,
      stateAt: newerState ? vouch.at : descriptor.iat,
    }
    this.#entries.set(descriptor.peer, entry)
    this.#push(entry)
    if (previous != null) this.counters.replaced++
    else this.counters.accepted++
    this.#emit({ type: 'put', entry, ...(previous != null ? { previous } : {}) })
    this.#arm()
    return previous != null ? 'replaced' : 'accepted'
  }

  /**
   * Applies an authenticated notice for the held descriptor `peer`/`seq`/`digestHex`: extends its life
   * and, when the notice carries a state and is newer than the state held, takes that state. `unknown` when
   * that exact descriptor is not held live; `old` when a notice with a state is not newer than the last one
   * applied (reordered or replayed: neither its state nor its time is taken).
   */
  touch(peer: string, seq: number, digestHex: string, vouch: Vouch): 'unknown' | 'old' | 'refreshed' {
    const now = this.#now()
    const entry = this.#entries.get(peer)
    if (entry == null || entry.expiresAt <= now) return 'unknown'
    if (entry.descriptor.seq !== seq || entry.digestHex !== digestHex) return 'unknown'
    const { state } = vouch
    // only notices with a state are ordered by `at`; one without (a flooded body, a pull from the origin
    // itself) is stamped by the receiver's clock, which must not hold back the origin's later notices
    if (state != null && vouch.at <= entry.stateAt) return 'old'
    const heard = Math.min(vouch.at, now + this.#maxSkewMs)
    const expiresAt = Math.max(
      entry.expiresAt,
      Math.min(heard + entry.descriptor.ttl + this.#maxSkewMs, now + entry.descriptor.ttl),
    )
    if (state == null && expiresAt === entry.expiresAt) return 'refreshed'
    const updated: StoreEntry = {
      ...entry,
      ...(state != null ? { descriptor: { ...entry.descriptor, state }, stateAt: vouch.at } : {}),
      expiresAt,
    }
    this.#entries.set(peer, updated)
    // the heap finds live entries by identity, so the new object goes in and the old one becomes garbage
    this.#push(updated)
    this.#arm()
    if (state != null && !sameState(state, entry.descriptor.state)) {
      this.counters.stateUpdates++
      this.#emit({ type: 'state', entry: updated, previous: entry })
    }
    return 'refreshed'
  }

  /** When an entry for `descriptor`, last vouched for at `heardAt`, would expire; refuses dead ones. */
  #lifetime(descriptor: { iat: number; ttl: number }, heardAt = 0): number {
    const now = this.#now()
    if (descriptor.iat > now + this.#maxSkewMs)
      this.#refuse('clock_skew', `issued ${descriptor.iat - now} ms in the future`)
    // a body signed a while ago is still live when its origin vouched for it recently (a heartbeat)
    const heard = Math.max(descriptor.iat, Math.min(heardAt, now + this.#maxSkewMs))
    const expiresAt = Math.min(heard + descriptor.ttl + this.#maxSkewMs, now + descriptor.ttl)
    if (expiresAt <= now) this.#refuse('expired', `expired ${now - expiresAt} ms ago`)
    return expiresAt
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

  /** A v1 body of a peer whose v2 summary is held: not an error of the sender, only not wanted. */
  #supersede(): never {
    this.counters.superseded++
    throw new DescriptorError('stale_seq', 'this peer speaks descriptor v2; its v1 descriptor is not taken')
  }

  #refuse(reason: RejectReason | 'store_full', message: string): never {
    this.counters.rejected[reason]++
    throw new DescriptorError(reason === 'store_full' ? 'expired' : reason, message)
  }

  #emit(event: StoreEvent): void {
    this.#events.emit('descriptor', event)
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

function sameState(a: NodeState, b: NodeState): boolean {
  return (
    a.load === b.load &&
    a.memFree === b.memFree &&
    a.queue === b.queue &&
    a.battery === b.battery &&
    a.charging === b.charging &&
    a.thermal === b.thermal
  )
}
