/**
 * State bands and capability gating: the coarse facts about a node's state that are worth an immediate
 * re-announce (DESIGN.md, "How data flows" 1), and which capabilities the node should withdraw while it is
 * short of battery or busy. Every threshold has a separate leave value (hysteresis), so a reading that hovers
 * at an edge changes nothing until it has clearly moved away from it.
 */
import type { NodeState } from './descriptor.ts'

export interface BandThresholds {
  /** batteryLow is entered below this percent, on battery power and not charging */
  batteryLowEnter: number
  /** batteryLow is left at or above this percent, or as soon as charging starts */
  batteryLowLeave: number
  /** loadHigh is entered above this load (1-minute load average per core) */
  loadHighEnter: number
  /** loadHigh is left below this load */
  loadHighLeave: number
  /** thermalThrottled is entered at or above this temperature (°C) */
  thermalEnter: number
  /** thermalThrottled is left at or below this temperature (°C) */
  thermalLeave: number
  /** a capability withdrawn for its `minBattery` returns at `minBattery` + this many percent */
  gateBatteryMargin: number
  /** a capability withdrawn for its `maxLoad` returns at `maxLoad` - this much load */
  gateLoadMargin: number
}

/** The defaults for every band and gate threshold. */
export const BAND_DEFAULTS: Readonly<BandThresholds> = Object.freeze({
  batteryLowEnter: 20,
  batteryLowLeave: 25,
  loadHighEnter: 0.8,
  loadHighLeave: 0.65,
  thermalEnter: 80,
  thermalLeave: 72,
  gateBatteryMargin: 5,
  gateLoadMargin: 0.1,
})

export interface Bands {
  batteryLow: boolean
  loadHigh: boolean
  thermalThrottled: boolean
}

/** The bands of a node with nothing to report: on mains power, idle, cool. */
export const NO_BANDS: Readonly<Bands> = Object.freeze({
  batteryLow: false,
  loadHigh: false,
  thermalThrottled: false,
})

/**
 * The bands for `state`, given the bands the node was in before: a band is entered past its enter
 * threshold, left past its leave threshold, and otherwise kept as it was.
 *
 * @example
 * let bands = nextBands(NO_BANDS, { battery: 19, load: 0.1, memFree: 1e9, queue: 0 }) // batteryLow: true
 * bands = nextBands(bands, { battery: 21, load: 0.1, memFree: 1e9, queue: 0 })        // still batteryLow
 * bands = nextBands(bands, { battery: 25, load: 0.1, memFree: 1e9, queue: 0 })        // batteryLow: false
 */
export function nextBands(
  previous: Bands,
  state: NodeState,
  thresholds: BandThresholds = BAND_DEFAULTS,
): Bands {
  const t = thresholds
  const { battery, load, thermal } = state
  const onBattery = battery !== undefined && state.charging !== true
  return {
    batteryLow: onBattery
      ? battery < t.batteryLowEnter || (previous.batteryLow && battery < t.batteryLowLeave)
      : false,
    loadHigh: load > t.loadHighEnter || (previous.loadHigh && load >= t.loadHighLeave),
    thermalThrottled:
      thermal === undefined
        ? false
        : thermal >= t.thermalEnter || (previous.thermalThrottled && thermal > t.thermalLeave),
  }
}

/**
 * True when two band sets differ in any band.
 *
 * @example
 * bandsChanged(NO_BANDS, { ...NO_BANDS, loadHigh: true }) // true
 */
export function bandsChanged(a: Bands, b: Bands): boolean {
  return (
    a.batteryLow !== b.batteryLow || a.loadHigh !== b.loadHigh || a.thermalThrottled !== b.thermalThrottled
  )
}

/** What gating needs of a capability: its id and its optional thresholds from the config. */
export interface GatedCapability {
  id: string
  /** percent; below it, on battery power and not charging, the capability is withdrawn */
  minBattery?: number
  /** load per core; above it the capability is withdrawn */
  maxLoad?: number
}

export interface CapabilityGate<C extends GatedCapability> {
  /** the capabilities to advertise now, in their configured order */
  offered: C[]
  /** ids withdrawn now; pass the whole result back as `previous` next time */
  withdrawn: ReadonlySet<string>
  /** true when `withdrawn` differs from the previous result's: worth a re-announce */
  changed: boolean
}

/**
 * Withdraws the capabilities whose `minBattery` or `maxLoad` the state does not meet. `minBattery` applies
 * only on battery power and not charging; a capability without thresholds (a sensor) always stays. A
 * capability withdrawn in `previous` returns only once every threshold is met with its margin (5 % battery,
 * 0.1 load by default), so a value hovering at a threshold does not make it flap.
 *
 * @example
 * const caps = [{ id: 'llm.summarize', minBattery: 30, maxLoad: 0.7 }, { id: 'sensor.temperature' }]
 * let gate = availableCapabilities(caps, { battery: 15, charging: false, load: 0.2, memFree: 1e9, queue: 0 })
 * gate.offered.map((c) => c.id) // ['sensor.temperature']
 * gate = availableCapabilities(caps, { battery: 32, charging: false, load: 0.2, memFree: 1e9, queue: 0 }, gate)
 * gate.offered.length // 1: 32 % is not yet 30 + 5
 */
export function availableCapabilities<C extends GatedCapability>(
  caps: readonly C[],
  state: NodeState,
  previous?: { withdrawn: ReadonlySet<string> },
  thresholds: Pick<BandThresholds, 'gateBatteryMargin' | 'gateLoadMargin'> = BAND_DEFAULTS,
): CapabilityGate<C> {
  const before = previous?.withdrawn ?? new Set<string>()
  const offered: C[] = []
  const withdrawn = new Set<string>()
  for (const cap of caps) {
    const wasWithdrawn = before.has(cap.id)
    const ok =
      batteryAllows(cap, state, wasWithdrawn, thresholds.gateBatteryMargin) &&
      loadAllows(cap, state, wasWithdrawn, thresholds.gateLoadMargin)
    if (ok) offered.push(cap)
    else withdrawn.add(cap.id)
  }
  const changed = withdrawn.size !== before.size || [...withdrawn].some((id) => !before.has(id))
  return { offered, withdrawn, changed }
}

function batteryAllows(
  cap: GatedCapability,
  state: NodeState,
  wasWithdrawn: boolean,
  margin: number,
): boolean {
  if (cap.minBattery === undefined || state.battery === undefined || state.charging === true) return true
  const needed = wasWithdrawn ? Math.min(100, cap.minBattery + margin) : cap.minBattery
  return state.battery >= needed
}

function loadAllows(cap: GatedCapability, state: NodeState, wasWithdrawn: boolean, margin: number): boolean {
  if (cap.maxLoad === undefined) return true
  // the margin never takes more than half of a small maxLoad, so the capability can always come back
  const limit = wasWithdrawn ? cap.maxLoad - Math.min(margin, cap.maxLoad / 2) : cap.maxLoad
  // loads are advertised with two decimals; compare at that precision so 0.9 - 0.1 is 0.8
  return state.load <= Math.round(limit * 100) / 100
}
