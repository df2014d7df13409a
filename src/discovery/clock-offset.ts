/**
 * How far this node's clock is from its peers', from the announce notices they send it directly: each
 * notice's `at` is its sender's clock when it published, and arrives a few milliseconds later on a household
 * network. A peer whose clock is off is refused by the freshness rules (announcer.ts, store.ts) and drops out
 * of the household; without this estimate nothing but a counter would say why.
 *
 * One peer off shows as that peer's offset. This node off shows as every peer off by about the same amount:
 * the median over the peers then says so (`suspect`), which a Pi without a real-time clock, booted before
 * NTP answered, needs to be told.
 */
import { BoundedMap } from '../util/bounded-map.ts'
import type { Events } from '../util/event-bus.ts'
import type { DiscoveryEvents } from './events.ts'

export interface ClockOffsetInit {
  /** |median offset| beyond which this node's own clock is suspect; default 15 s */
  suspectMs?: number
  /** peers that must agree before this node's clock is suspect; default 2 */
  minPeers?: number
  /** samples older than this are forgotten; default 10 min */
  maxAgeMs?: number
  /** peers remembered at most (the least recently heard leaves first); default 256 */
  maxPeers?: number
  now?: () => number
  /** told when the verdict changes: this node suspect or not, or how many peers are off */
  events?: Events<Pick<DiscoveryEvents, 'clock'>>
}

export const CLOCK_OFFSET_DEFAULTS = Object.freeze({
  suspectMs: 15_000,
  minPeers: 2,
  maxAgeMs: 10 * 60_000,
  maxPeers: 256,
})

export interface ClockEstimate {
  /** median over peers of (their clock − ours), ms: positive means this node is behind; 0 without peers */
  offsetMs: number
  /** peers with a recent sample */
  peers: number
  /** enough peers agree that this node's clock is off by more than `suspectMs` */
  suspect: boolean
  /** the peers whose own offset is beyond `suspectMs`, largest first (at most 8) */
  outliers: Array<{ peer: string; offsetMs: number }>
}

export class ClockOffset {
  readonly #o: Required<Omit<ClockOffsetInit, 'now' | 'events'>>
  readonly #now: () => number
  /** peer → [offset, when heard]; insertion order is recency */
  readonly #samples: BoundedMap<string, [number, number]>
  readonly #events: Events<Pick<DiscoveryEvents, 'clock'>> | undefined
  /** the last verdict published: suspect, and the count of outlying peers */
  #verdict = 'false:0'

  constructor(init: ClockOffsetInit = {}) {
    const { now, events, ...rest } = init
    this.#o = { ...CLOCK_OFFSET_DEFAULTS, ...rest }
    this.#now = now ?? Date.now
    this.#samples = new BoundedMap({ max: this.#o.maxPeers, refresh: 'set' })
    this.#events = events
  }

  /**
   * Takes `peer`'s clock reading `theirs` (ms since the epoch) as received now.
   *
   * @example
   * clock.observe(announce.peer, announce.at)
   * clock.estimate() // { offsetMs: 312, peers: 1, suspect: false, outliers: [] }
   */
  observe(peer: string, theirs: number): void {
    if (!Number.isFinite(theirs)) return
    const now = this.#now()
    this.#samples.set(peer, [theirs - now, now])
    if (this.#events !== undefined) this.estimate()
  }

  /**
   * `peer`'s clock minus ours (ms) from its latest direct notice, while that is recent; undefined before
   * one came or once it is older than `maxAgeMs`.
   *
   * @example
   * clock.of(peer) // -10_042: that peer's clock is 10 s behind ours
   */
  of(peer: string): number | undefined {
    const sample = this.#samples.get(peer)
    if (sample === undefined || this.#now() - sample[1] > this.#o.maxAgeMs) return undefined
    return sample[0]
  }

  estimate(): ClockEstimate {
    const now = this.#now()
    const recent: Array<[string, number]> = []
    for (const [peer, [offset, at]] of this.#samples) {
      if (now - at > this.#o.maxAgeMs) this.#samples.delete(peer)
      else recent.push([peer, offset])
    }
    const sorted = recent.map(([, offset]) => offset).sort((a, b) => a - b)
    const mid = sorted.length >> 1
    const offsetMs =
      sorted.length === 0
        ? 0
        : sorted.length % 2 === 1
          ? (sorted[mid] as number)
          : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    const outliers = recent
      .filter(([, offset]) => Math.abs(offset) > this.#o.suspectMs)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 8)
      .map(([peer, offset]) => ({ peer, offsetMs: Math.round(offset) }))
    const estimate = {
      offsetMs: Math.round(offsetMs),
      peers: recent.length,
      suspect: recent.length >= this.#o.minPeers && Math.abs(offsetMs) > this.#o.suspectMs,
      outliers,
    }
    // samples also age out here, so a verdict can change on a read as well as on a notice
    const verdict = `${estimate.suspect}:${outliers.length}`
    if (verdict !== this.#verdict) {
      this.#verdict = verdict
      this.#events?.emit('clock', estimate)
    }
    return estimate
  }
}

/** How often {@link watchClock} looks, and how long it stays quiet about one peer once it warned. */
const WATCH_EVERY_MS = 30_000
const PEER_WARNING_EVERY_MS = 60 * 60_000

/**
 * Logs what the estimate says, on its changes: a warning when this node's clock becomes suspect (and a note
 * when it agrees again), and a warning per peer whose clock is off, at most once an hour for each.
 *
 * @example
 * const stop = watchClock(clock, log)
 */
export function watchClock(
  clock: ClockOffset,
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void },
  options: { everyMs?: number; now?: () => number } = {},
): () => void {
  const now = options.now ?? Date.now
  let suspect = false
  const warned = new Map<string, number>()
  const look = (): void => {
    const e = clock.estimate()
    if (e.suspect && !suspect)
      log.warn(
        { offsetMs: e.offsetMs, peers: e.peers },
        "this node's clock differs from its peers' by the offset (median; positive: this node is behind): " +
          'they refuse its descriptors and notices until it is set right (NTP)',
      )
    else if (!e.suspect && suspect)
      log.info({ offsetMs: e.offsetMs, peers: e.peers }, 'clock agrees with peers again')
    suspect = e.suspect
    if (e.suspect) return
    for (const { peer, offsetMs } of e.outliers) {
      if (now() - (warned.get(peer) ?? -Infinity) < PEER_WARNING_EVERY_MS) continue
      warned.set(peer, now())
      log.warn({ peer, offsetMs }, "a peer's clock differs from this node's: its notices are ignored")
    }
    if (warned.size > 1024) warned.clear()
  }
  const timer = setInterval(look, options.everyMs ?? WATCH_EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
