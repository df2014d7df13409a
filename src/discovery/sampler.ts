/**
 * The state sampler (DESIGN.md, "How data flows" 1): reads battery, charging, CPU load, available memory and
 * temperature every few seconds, keeps the node's advertised `state` current, and tells its listeners at once
 * when a state band is crossed, so the announcer can re-announce without waiting for the next refresh.
 *
 * Reading the machine must never crash or stall the node: every read has a deadline, a read that fails or
 * misses it keeps the last good values, and a read still running is never started a second time.
 */
import { EventBus, type Events } from '../util/event-bus.ts'
import type { Logger } from '../util/logger.ts'
import { silentLogger } from '../util/logger.ts'
import type { Bands, BandThresholds } from './bands.ts'
import { readingBands } from './announce-decision.ts'
import { BAND_DEFAULTS, NO_BANDS } from './bands.ts'
import type { DiscoveryEvents } from './events.ts'
import type { NodeState } from './descriptor.ts'
import { withTimeout } from './system-source.ts'

/** One look at the machine; the sampler rounds it and adds the task queue. */
export interface Reading {
  /** percent 0-100; absent on mains power (no battery), never 0 for "none" */
  battery?: number
  /** true while on external power; absent without a battery */
  charging?: boolean
  /** 1-minute load average divided by the core count */
  load: number
  /** available memory, bytes */
  memFree: number
  /** CPU temperature in °C; absent where the machine reports none */
  thermal?: number
}

export interface StateSource {
  read(): Promise<Reading>
}

export interface StateSamplerInit {
  /** ms between samples */
  intervalMs?: number
  /** deadline for one `source.read()`, ms */
  readTimeoutMs?: number
  /** tasks waiting or running, read whenever the state is asked for */
  queue: () => number
  log?: Logger
  thresholds?: Partial<BandThresholds>
  /** where samples and band crossings are published; default a bus of the sampler's own */
  events?: Events<Pick<DiscoveryEvents, 'state-sample' | 'state-band'>>
}

export type BandListener = (bands: Bands, state: NodeState, previous: Bands) => void

export const SAMPLER_DEFAULTS = Object.freeze({ intervalMs: 5000, readTimeoutMs: 2000 })

/**
 * Samples a {@link StateSource} every `intervalMs` and keeps the node's advertised state. The first good
 * reading sets the baseline bands silently (whoever announces reads `current()` after `start()`); every later
 * band crossing calls the band listeners once.
 *
 * @example
 * const sampler = new StateSampler(new SystemStateSource({ log }), { queue: () => scheduler.size, log })
 * const off = sampler.onBandChange(() => announcer.announceSoon())
 * await sampler.start()
 * sampler.current() // { load: 0.12, memFree: 3221225472, queue: 0 }
 */
export class StateSampler {
  readonly #source: StateSource
  readonly #intervalMs: number
  readonly #readTimeoutMs: number
  readonly #queue: () => number
  readonly #log: Logger
  readonly #thresholds: BandThresholds
  readonly #events: Events<Pick<DiscoveryEvents, 'state-sample' | 'state-band'>>
  /** one bus listener per band listener, so that one subscribed twice is still called once */
  readonly #bandListeners = new WeakMap<BandListener, (e: DiscoveryEvents['state-band']) => void>()
  #reading: Omit<NodeState, 'queue'> = { load: 0, memFree: 0 }
  #bands: Bands = NO_BANDS
  #baselined = false
  #inflight: Promise<Reading> | undefined
  #timer: NodeJS.Timeout | undefined
  #epoch = 0

  constructor(source: StateSource, init: StateSamplerInit) {
    this.#source = source
    this.#intervalMs = init.intervalMs ?? SAMPLER_DEFAULTS.intervalMs
    this.#readTimeoutMs = init.readTimeoutMs ?? SAMPLER_DEFAULTS.readTimeoutMs
    this.#queue = init.queue
    this.#log = init.log ?? silentLogger()
    this.#thresholds = { ...BAND_DEFAULTS, ...init.thresholds }
    this.#events = init.events ?? new EventBus({ log: this.#log })
  }

  /** Takes the first sample (at most `readTimeoutMs`), then samples every `intervalMs`. */
  async start(): Promise<void> {
    if (this.#timer !== undefined) return
    // sampleNow() keeps its read failures to itself; the catch is for anything else (a band listener, the queue)
    const sample = () =>
      void this.sampleNow().catch((err: unknown) => {
        this.#log.warn({ err }, 'state sample failed')
      })
    this.#timer = setInterval(sample, this.#intervalMs)
    this.#timer.unref()
    await this.sampleNow()
  }

  /** Stops sampling; a read still running when this is called is dropped when it finishes. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#epoch++
  }

  /** The state to advertise now: the last good reading and the current queue length. */
  current(): NodeState {
    return { ...this.#reading, queue: this.#queueLength() }
  }

  /** The bands the node is in now. */
  bands(): Bands {
    return { ...this.#bands }
  }

  /** Reads the source now (joining a read already running) and returns the state; never rejects. */
  async sampleNow(): Promise<NodeState> {
    const epoch = this.#epoch
    this.#inflight ??= Promise.resolve()
      .then(() => this.#source.read())
      .finally(() => {
        this.#inflight = undefined
      })
    try {
      const reading = await withTimeout(this.#inflight, this.#readTimeoutMs, 'state read')
      if (epoch === this.#epoch) this.#apply(reading)
    } catch (err) {
      this.#log.debug({ err }, 'state read failed; keeping the last good state')
    }
    return this.current()
  }

  /** Calls `listener` on every band crossing; returns the function that removes it. */
  onBandChange(listener: BandListener): () => void {
    let wrapped = this.#bandListeners.get(listener)
    if (wrapped === undefined) {
      wrapped = ({ bands, state, previous }) => listener(bands, state, previous)
      this.#bandListeners.set(listener, wrapped)
    }
    return this.#events.on('state-band', wrapped)
  }

  /** Calls `listener` after every good sample (e.g. to re-check capability thresholds); returns its remover. */
  onSample(listener: (state: NodeState) => void): () => void {
    return this.#events.on('state-sample', listener)
  }

  #apply(reading: Reading): void {
    this.#reading = clean(reading, this.#reading)
    const state = this.current()
    this.#events.emit('state-sample', state)
    const previous = this.#bands
    // the first reading sets the baseline silently (announce-decision.ts, shared with the simulator)
    const step = readingBands(this.#baselined ? previous : undefined, state, this.#thresholds)
    this.#bands = step.bands
    this.#baselined = true
    if (!step.announce) return
    this.#log.info({ bands: this.#bands, state }, 'state band crossed')
    this.#events.emit('state-band', { bands: this.bands(), state, previous })
  }

  #queueLength(): number {
    try {
      const n = this.#queue()
      return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0
    } catch {
      return 0
    }
  }
}

/** Rounds a reading to what the descriptor carries; a value that is not a sane number keeps the last one. */
function clean(r: Reading, last: Omit<NodeState, 'queue'>): Omit<NodeState, 'queue'> {
  const load =
    Number.isFinite(r.load) && r.load >= 0 ? Math.round(Math.min(r.load, 1000) * 100) / 100 : last.load
  const memFree = Number.isFinite(r.memFree) && r.memFree >= 0 ? Math.floor(r.memFree) : last.memFree
  const out: Omit<NodeState, 'queue'> = { load, memFree }
  if (r.battery !== undefined && Number.isFinite(r.battery)) {
    out.battery = Math.round(Math.min(Math.max(r.battery, 0), 100))
    if (r.charging !== undefined) out.charging = r.charging
  }
  if (r.thermal !== undefined && Number.isFinite(r.thermal) && r.thermal >= -50 && r.thermal <= 200) {
    out.thermal = Math.round(r.thermal * 10) / 10
  }
  return out
}
