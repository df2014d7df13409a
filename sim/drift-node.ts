/**
 * A node of the drift scenario, as a provider: its true state and offer, which drift in virtual time, and
 * what it advertises, decided the way kith's node decides it.
 *
 * - The truth: load, battery (battery-powered nodes), the capabilities offered, online or not. Each kind of
 *   change is a Poisson process drawn from a stream of the node's own, so the same seed gives every mode
 *   and every TTL the very same world.
 * - The sampler (src/discovery/sampler.ts): the node reads its state every `samplerMs`, from boot on; the
 *   first reading sets the bands silently; a later reading whose bands (`nextBands`, kith's thresholds and
 *   hysteresis) differ asks for an announce at once. A state change is therefore seen up to `samplerMs` late.
 * - The announcer's decisions, kith's own (src/discovery/announce-decision.ts, which the announcer calls):
 *   an announce every `refreshIntervalMs` (max(1 s, ttl/3)) and on every band crossing (`readingBands`) or
 *   offer change, coalesced to at most one per `minIntervalMs` (`announceWait`); `decideAnnounce` says
 *   whether it signs a new body (seq + 1, signed with `signDescriptor`: no libp2p host here) or is a
 *   heartbeat: kith gossips the notice `{peer, seq, digest, at, state}`, flooding re-sends the held body.
 * - The `periodic` ablation announces from its refresh timer only, with a reading taken then, and floods its
 *   body as `flood` does.
 * - Going offline is a restart: nothing is sent while down, and the node boots again with a new body.
 */
import {
  ANNOUNCER_DEFAULTS,
  type AnnounceRules,
  announceWait,
  decideAnnounce,
  offerOf,
  readingBands,
  refreshIntervalMs,
} from '../src/discovery/announce-decision.ts'
import { type Bands, BAND_DEFAULTS } from '../src/discovery/bands.ts'
import {
  type Capability,
  type NodeState,
  signDescriptor,
  type SignedDescriptor,
} from '../src/discovery/descriptor.ts'
import type { Announce } from '../src/discovery/wire.ts'
import type { Simulator } from './clock.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import { notice } from './drift-wire.ts'
import type { SimIdentity } from './keys.ts'
import type { Random } from './random.ts'

/** What a node hands to gossip: a notice (kith) or its signed body (flooding). */
export type Published =
  { kind: 'notice'; bytes: Uint8Array; announce: Announce } | { kind: 'body'; signed: SignedDescriptor }

export interface DriftNodeInit {
  index: number
  identity: SimIdentity
  caps: Capability[]
  onBattery: boolean
  /** household nodes never go offline */
  household: boolean
  mode: Advertising
  ttlMs: number
  scenario: DriftScenario
  sim: Simulator
  now: () => number
  /** the node's own stream: its initial state and every change it will go through */
  rng: Random
  publish(node: DriftNode, message: Published): void
  setOnline(online: boolean): void
}

export interface DriftNodeCounters {
  /** bodies signed (seq + 1) */
  signed: number
  /** announces of an unchanged body */
  heartbeats: number
  /** announces asked for by a band crossing */
  bandCrossings: number
  /** changes of the truth: load, battery, offer, offline */
  changes: number
}

/** Busy loads lie above kith's loadHigh band, idle ones below it (two decimals, as the sampler rounds). */
const IDLE_LOAD = { min: 0.05, max: BAND_DEFAULTS.loadHighEnter - 0.01 }
const BUSY_LOAD = { min: BAND_DEFAULTS.loadHighEnter + 0.01, max: 1.5 }

/**
 * @example
 * const node = new DriftNode({ index: 0, identity, caps, onBattery: false, household: false, mode: 'kith',
 *   ttlMs: 15_000, scenario, sim, now, rng: rng.fork('node:0'), publish, setOnline })
 * node.startDrift(1, 1_000)
 */
export class DriftNode {
  readonly index: number
  readonly identity: SimIdentity
  readonly peer: string
  readonly caps: readonly Capability[]
  readonly household: boolean
  readonly counters: DriftNodeCounters = { signed: 0, heartbeats: 0, bandCrossings: 0, changes: 0 }
  /** the true state, what a selection is judged against */
  truth: NodeState
  online = false
  readonly #withdrawn = new Set<string>()
  readonly #init: DriftNodeInit
  readonly #rng: Random
  /** boot generation: the timers of an earlier boot stop when it changes */
  #boot = 0
  #sampled: NodeState
  /** undefined until the first reading of a boot, which sets the bands silently */
  #bands: Bands | undefined
  #seq = 0
  #own: SignedDescriptor | undefined
  /** `offerOf` what `#own` was signed from */
  #ownOffer: Uint8Array | undefined
  readonly #rules: AnnounceRules
  #lastAt = Number.NEGATIVE_INFINITY
  #pending = false

  constructor(init: DriftNodeInit) {
    this.#init = init
    this.index = init.index
    this.identity = init.identity
    this.peer = init.identity.peer
    this.caps = init.caps
    this.household = init.household
    this.#rng = init.rng
    const first = this.#rng.fork('initial')
    this.truth = {
      load: draw(first, IDLE_LOAD),
      memFree: 1e9,
      queue: 0,
      ...(init.onBattery ? { battery: 20 + first.int(81), charging: false } : {}),
    }
    this.#sampled = this.truth
    // kith's bodyless notices, or bodies (flooding, and the periodic ablation, which floods its body too)
    const mode = init.mode === 'kith' ? 'bodyless' : 'flood'
    this.#rules = { mode, resignAfterMs: ANNOUNCER_DEFAULTS.resignAfterMs }
  }

  /** True when the node offers `capability` now (it may be offline). */
  offers(capability: string): boolean {
    return !this.#withdrawn.has(capability) && this.caps.some((c) => c.id === capability)
  }

  /** The body a pull for `digest` gets: the node's current one, if that is it (the announcer's `#bytesFor`). */
  serve(digest: Uint8Array): Uint8Array | undefined {
    const own = this.#own
    if (!this.online || own === undefined || !Buffer.from(own.digest).equals(digest)) return undefined
    return own.bytes
  }

  /** Starts the node (sampler, refresh timer, first announce), as `kith start` does. */
  boot(): void {
    const { sim, scenario, ttlMs } = this.#init
    const boot = ++this.#boot
    this.online = true
    this.#init.setOnline(true)
    this.#own = undefined
    this.#lastAt = Number.NEGATIVE_INFINITY
    this.#pending = false
    this.#bands = undefined
    this.#sample()
    sim.every(scenario.samplerMs, () => boot === this.#boot && (this.#sample(), true))
    sim.every(refreshIntervalMs(ttlMs), () => {
      if (boot !== this.#boot) return false
      // the ablation reads its state when it refreshes, as a TTL-only design would: no sampler phase to
      // line up with its period
      if (this.#init.mode === 'periodic') this.#sample()
      this.announce()
      return true
    })
    this.announce()
  }

  /** Takes the node off the network: no timer of this boot runs again. */
  shutdown(): void {
    this.#boot++
    this.online = false
    this.#init.setOnline(false)
  }

  /**
   * Starts the drift processes with every rate times `scale`; `bootAt` is the first boot, from which the
   * node may go offline.
   */
  startDrift(scale: number, bootAt: number): void {
    const { drift } = this.#init.scenario
    this.#process('load', drift.load * scale, (rng) => {
      this.truth = { ...this.truth, load: draw(rng, rng.chance(drift.busyShare) ? BUSY_LOAD : IDLE_LOAD) }
    })
    if (this.truth.battery !== undefined)
      this.#process('battery', drift.battery * scale, (rng) => {
        const low = rng.chance(drift.lowShare)
        const battery = low ? 3 + rng.int(BAND_DEFAULTS.batteryLowEnter - 3) : 20 + rng.int(81)
        this.truth = { ...this.truth, battery }
      })
    this.#process('withdraw', drift.withdraw * scale, (rng) => {
      const cap = rng.pick(this.caps)
      if (this.#withdrawn.has(cap.id)) this.#withdrawn.delete(cap.id)
      else this.#withdrawn.add(cap.id)
      // a capability withdrawn or restored (a config reload, a device unplugged): the node re-announces at once
      if (this.online && this.#init.mode !== 'periodic') this.announce()
    })
    const rate = drift.offline * scale
    if (this.household || !(rate > 0)) return
    const { sim } = this.#init
    const rng = this.#rng.fork('offline')
    const goOffline = () => {
      this.counters.changes++
      this.shutdown()
      sim.after(rng.exp(drift.meanDownMs), () => {
        this.boot()
        sim.after(rng.exp(60_000 / rate), goOffline)
      })
    }
    sim.at(bootAt + rng.exp(60_000 / rate), goOffline)
  }

  /**
   * An announce, as the announcer makes it: coalesced (`announceWait`), then a new body or a heartbeat
   * (`decideAnnounce`), then published.
   *
   * @example
   * node.announce() // the offer changed: a new body goes out (kith: its notice, then pulls)
   */
  announce(): void {
    if (!this.online) return
    const { sim, now, mode, ttlMs } = this.#init
    const wait = announceWait(this.#lastAt, sim.now, this.#init.scenario.announcer.minIntervalMs)
    if (wait > 0) {
      if (!this.#pending) {
        this.#pending = true
        const boot = this.#boot
        sim.after(wait, () => {
          if (boot !== this.#boot) return
          this.#pending = false
          this.announce()
        })
      }
      return
    }
    this.#lastAt = sim.now
    const at = Math.floor(now())
    const state = this.#sampled
    const offered = this.caps.filter((c) => !this.#withdrawn.has(c.id))
    const parts = { addrs: [], caps: offered, attest: { tpm: false } }
    const offer = offerOf(parts)
    let own = this.#own
    const held =
      own !== undefined && this.#ownOffer !== undefined
        ? { iat: own.descriptor.iat, state: own.descriptor.state, offer: this.#ownOffer }
        : undefined
    const decision = decideAnnounce(held, at, { offer, state, resign: false }, this.#rules)
    if (decision.body === 'sign') {
      this.#seq++
      own = signDescriptor(
        { v: 1, peer: this.peer, seq: this.#seq, iat: at, ttl: ttlMs, state, ...parts },
        this.identity.sign,
      )
      this.#own = own
      this.#ownOffer = offer
      this.counters.signed++
    } else this.counters.heartbeats++
    if (own === undefined) return
    if (mode !== 'kith') {
      this.#init.publish(this, { kind: 'body', signed: own })
      return
    }
    const announce: Announce = { peer: this.peer, seq: own.descriptor.seq, digest: own.digest, at, state }
    this.#init.publish(this, {
      kind: 'notice',
      bytes: notice(announce.peer, announce.seq, announce.digest, at, state),
      announce,
    })
  }

  /** One reading of the machine: the truth as it is now; a band crossing asks for an announce. */
  #sample(): void {
    this.#sampled = this.truth
    const reading = readingBands(this.#bands, this.#sampled)
    this.#bands = reading.bands
    if (reading.announce) {
      this.counters.bandCrossings++
      if (this.#init.mode !== 'periodic') this.announce()
    }
  }

  /** A Poisson process of `perMinute` events of one kind, from a stream of its own. */
  #process(kind: string, perMinute: number, apply: (rng: Random) => void): void {
    if (!(perMinute > 0)) return
    const { sim } = this.#init
    const rng = this.#rng.fork(kind)
    const mean = 60_000 / perMinute
    const next = () => {
      this.counters.changes++
      apply(rng)
      sim.after(rng.exp(mean), next)
    }
    sim.after(rng.exp(mean), next)
  }
}

/** A load in `range`, with two decimals. */
function draw(rng: Random, range: { min: number; max: number }): number {
  return Math.round(rng.uniform(range.min, range.max) * 100) / 100
}
