/**
 * The non-lexical factors of a match's score, each in [0, 1] and smooth where a hard edge would make
 * rankings flap: availability from the provider's advertised state, latency from measured round trips,
 * and the default verification tier a provider can offer.
 */
import type { Capability, Descriptor, NodeState } from '../descriptor.ts'
import {
  FULL_BATTERY,
  LATENCY_HALF_MS,
  LOW_BATTERY,
  LOW_BATTERY_FACTOR,
  MID_BATTERY_FACTOR,
  QUEUE_HALF,
  THERMAL_FLOOR,
  THERMAL_HARD,
  THERMAL_SOFT,
  TRUST_FLOOR,
} from './constants.ts'
import type { Match, Tier } from './types.ts'

/**
 * 1 on mains power, while charging, or above half charge; down to 0.8 at 20 %; below 20 % a steep drop
 * (the announcer's low-battery band) from 0.4 towards 0.04 at empty.
 *
 * @example
 * batteryFactor({ battery: 90, load: 0, memFree: 0, queue: 0 }) // 1
 * batteryFactor({ battery: 10, charging: false, load: 0, memFree: 0, queue: 0 }) // 0.22
 */
export function batteryFactor(state: NodeState): number {
  const { battery, charging } = state
  if (battery === undefined || charging === true || battery >= FULL_BATTERY) return 1
  if (battery >= LOW_BATTERY) {
    const t = (battery - LOW_BATTERY) / (FULL_BATTERY - LOW_BATTERY)
    return MID_BATTERY_FACTOR + t * (1 - MID_BATTERY_FACTOR)
  }
  return LOW_BATTERY_FACTOR * (0.1 + (0.9 * Math.max(0, battery)) / LOW_BATTERY)
}

/**
 * 1 / (1 + load²) for the load average per core: 0.8 at 0.5, 0.5 at 1, 0.2 at 2.
 *
 * @example
 * loadFactor(1) // 0.5
 */
export function loadFactor(load: number): number {
  const l = Math.max(0, load)
  return 1 / (1 + l * l)
}

/**
 * 1 / (1 + queue / 4): one half with four tasks waiting or running.
 *
 * @example
 * queueFactor(4) // 0.5
 */
export function queueFactor(queue: number): number {
  return 1 / (1 + Math.max(0, queue) / QUEUE_HALF)
}

/**
 * 1 up to 70 °C, falling linearly to 0.5 at 90 °C and above (a throttled CPU runs slowly); 1 when unknown.
 *
 * @example
 * thermalFactor(80) // 0.75
 */
export function thermalFactor(thermal: number | undefined): number {
  if (thermal === undefined || thermal <= THERMAL_SOFT) return 1
  const t = Math.min(1, (thermal - THERMAL_SOFT) / (THERMAL_HARD - THERMAL_SOFT))
  return 1 - t * (1 - THERMAL_FLOOR)
}

/**
 * The availability part: battery x load x queue x thermal factors of the provider's advertised state.
 *
 * @example
 * availability({ load: 0, memFree: 1e9, queue: 0 }) // 1
 */
export function availability(state: NodeState): number {
  return (
    batteryFactor(state) * loadFactor(state.load) * queueFactor(state.queue) * thermalFactor(state.thermal)
  )
}

/**
 * The latency part: 1 when unknown or zero, 1 / (1 + ms / 250) otherwise (0.96 at 10 ms, 0.5 at 250 ms).
 *
 * @example
 * latencyFactor(undefined) // 1
 * latencyFactor(250) // 0.5
 */
export function latencyFactor(ms: number | undefined): number {
  if (ms === undefined || !(ms > 0)) return 1
  return 1 / (1 + ms / LATENCY_HALF_MS)
}

/**
 * The trust part from the trust plane's score t in [0, 1]: 0.25 + 0.75 · t, so a fully trusted provider
 * ranks four times above an untrusted one that is otherwise equal, and an untrusted one is still found
 * when nobody better offers the capability (whether it may be used is the policy's call, not the ranking's).
 *
 * @example
 * trustFactor(1) // 1
 * trustFactor(0.05) // 0.2875
 */
export function trustFactor(trust: number): number {
  return TRUST_FLOOR + (1 - TRUST_FLOOR) * unitInterval(trust)
}

/**
 * The tier a provider can offer when the caller has no better knowledge: 3 with a TPM (evidence packages),
 * else 2 for a deterministic capability (canaries and replays work), else 1 (reputation only).
 *
 * @example
 * defaultTier(capability, { ...descriptor, attest: { tpm: true } }) // 3
 */
export function defaultTier(capability: Capability, descriptor: Descriptor): Tier {
  if (descriptor.attest.tpm) return 3
  return capability.deterministic === true ? 2 : 1
}

/**
 * A hook's value clamped into [0, 1]; NaN counts as 0.
 *
 * @example
 * unitInterval(1.7) // 1
 */
export function unitInterval(value: number): number {
  return value > 0 ? Math.min(1, value) : 0
}

/**
 * Result order, best first: by score, then relevance, then provider and capability id, so that equal
 * scores always come out in one order.
 *
 * @example
 * matches.sort((a, b) => (ranksAbove(a, b) ? -1 : ranksAbove(b, a) ? 1 : 0))
 */
export function ranksAbove(a: Match, b: Match): boolean {
  if (a.score !== b.score) return a.score > b.score
  if (a.parts.relevance !== b.parts.relevance) return a.parts.relevance > b.parts.relevance
  if (a.peer !== b.peer) return a.peer < b.peer
  return a.capability.id < b.capability.id
}
