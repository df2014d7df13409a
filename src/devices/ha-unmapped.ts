/**
 * Options of an imported config that kith does not map, or maps only partly: each is recorded on the device
 * with a counted reason, so that `GET /v1/devices` shows what an import lost instead of dropping it silently.
 *
 * Two ways in:
 * - an importer that builds {@link DeviceSpec}s itself keeps an {@link UnmappedReport} per device and calls
 *   {@link noteUnmapped} (Tasmota's native discovery);
 * - the Home Assistant builders read their config through {@link trackConfig}: every key a builder never reads
 *   is recorded as `not_mapped`, and a builder that reads a key yet cannot honour it (or only partly) calls
 *   {@link unmapped} with the config it was given.
 */
import type { DeviceSpec, UnmappedOption, UnmappedReason, UnmappedReport } from './types.ts'

/** Options kept per device (the counts go on counting past it): a 16 KiB config cannot flood a device view. */
export const MAX_UNMAPPED_OPTIONS = 64
const MAX_DETAIL = 200

/** An empty report. */
export function emptyUnmapped(): UnmappedReport {
  return { counts: {}, options: [] }
}

/**
 * Records one option in `report`: always counted under its reason, listed while the list has room.
 *
 * @example
 * const report = emptyUnmapped()
 * noteUnmapped(report, { entity: 'kitchen', option: 'effect_list', reason: 'not_supported', detail: '…' })
 * // report.counts: { not_supported: 1 }
 */
export function noteUnmapped(report: UnmappedReport, entry: UnmappedOption): void {
  report.counts[entry.reason] = (report.counts[entry.reason] ?? 0) + 1
  if (report.options.length < MAX_UNMAPPED_OPTIONS) {
    report.options.push({ ...entry, detail: entry.detail.slice(0, MAX_DETAIL) })
  }
}

/** Adds `from` to `into`: every count, and its options while `into` has room. */
export function mergeUnmapped(into: UnmappedReport, from: UnmappedReport): void {
  addCounts(into.counts, from.counts)
  for (const o of from.options) {
    if (into.options.length >= MAX_UNMAPPED_OPTIONS) break
    into.options.push(o)
  }
}

/** Adds every count of `from` to `into` (the per-reason totals over several devices). */
export function addCounts(
  into: Record<string, number>,
  from: Readonly<Partial<Record<string, number>>>,
): void {
  for (const [reason, n] of Object.entries(from)) if (n != null) into[reason] = (into[reason] ?? 0) + n
}

/**
 * The per-reason totals over `devices` (specs, or rows that carry a spec's `unmapped`): what `GET /v1/devices`
 * shows beside each device's own counts.
 *
 * @example
 * unmappedTotals([{ unmapped: { counts: { partly: 2 }, options: [] } }]) // { partly: 2 }
 */
export function unmappedTotals(devices: Iterable<object>): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const d of devices) {
    const report = (d as Pick<DeviceSpec, 'unmapped'>).unmapped
    if (report != null) addCounts(totals, report.counts)
  }
  return totals
}

interface Tracking {
  read: Set<string>
  notes: Map<string, { reason: UnmappedReason; detail: string }>
}

const tracked = new WeakMap<object, Tracking>()

/**
 * A view of `config` that remembers which keys were read (`config.x`, `'x' in config`), so that the keys
 * nobody read can be counted after the builders ran ({@link trackedReport}).
 */
export function trackConfig<T extends Record<string, unknown>>(config: T): T {
  const tracking: Tracking = { read: new Set(), notes: new Map() }
  const proxy = new Proxy(config, {
    get(target, key, receiver) {
      if (typeof key === 'string') tracking.read.add(key)
      return Reflect.get(target, key, receiver) as unknown
    },
    has(target, key) {
      if (typeof key === 'string') tracking.read.add(key)
      return Reflect.has(target, key)
    },
  })
  tracked.set(proxy, tracking)
  return proxy
}

/**
 * Records that the builder reading `config` cannot honour `option` (or only partly). A config that is not
 * tracked (a test calling a builder directly) ignores the note.
 *
 * @example
 * unmapped(c, 'flash', 'not_supported', 'kith sends no flash; the light is turned on or off')
 */
export function unmapped(config: object, option: string, reason: UnmappedReason, detail: string): void {
  const tracking = tracked.get(config)
  if (tracking == null) return
  tracking.read.add(option)
  tracking.notes.set(option, { reason, detail })
}

/** Options every component may carry, with what kith does with them when no builder read them. */
const COMMON: Record<string, { reason: UnmappedReason; detail: string }> = {
  icon: { reason: 'display_only', detail: 'how Home Assistant draws the entity; agents do not see it' },
  entity_picture: { reason: 'display_only', detail: 'a picture for Home Assistant’s cards' },
  entity_category: { reason: 'display_only', detail: 'config/diagnostic grouping in Home Assistant’s UI' },
  enabled_by_default: { reason: 'display_only', detail: 'kith imports every entity, enabled or not' },
  suggested_display_precision: { reason: 'display_only', detail: 'values are kept as the device sends them' },
  display_precision: { reason: 'display_only', detail: 'values are kept as the device sends them' },
  object_id: {
    reason: 'display_only',
    detail: 'Home Assistant’s entity id; kith names parts from the topic',
  },
  default_entity_id: {
    reason: 'display_only',
    detail: 'Home Assistant’s entity id; kith names parts itself',
  },
  has_entity_name: { reason: 'display_only', detail: 'kith always names parts after their device' },
  json_attributes_topic: {
    reason: 'not_supported',
    detail: 'extra attributes are not read; publish them as their own sensor entity',
  },
  json_attributes_template: { reason: 'not_supported', detail: 'extra attributes are not read' },
  qos: { reason: 'partly', detail: 'kith publishes commands with QoS 1 and subscribes with QoS 1 always' },
  encoding: { reason: 'partly', detail: 'payloads are read as UTF-8 text' },
  optimistic: {
    reason: 'partly',
    detail:
      'an action is confirmed by its state topic when there is one, else by the broker’s acknowledgement',
  },
  device_class: {
    reason: 'display_only',
    detail: 'how Home Assistant draws the entity and names it; kith uses it for the name only',
  },
  precision: { reason: 'display_only', detail: 'values are kept as the device sends them' },
  force_update: { reason: 'display_only', detail: 'kith keeps every reading; no history is written' },
  expire_after: { reason: 'not_supported', detail: 'readings keep their age (ageMs) instead of expiring' },
}

/**
 * The options of `config` (a tracked view) that the builders did not map, recorded in `report` for entity
 * `entity`. `consumed` lists keys the importer itself read before the builders ran.
 */
export function trackedReport(
  config: object,
  entity: string,
  consumed: ReadonlySet<string>,
  report: UnmappedReport,
): void {
  const tracking = tracked.get(config)
  if (tracking == null) return
  for (const [option, note] of tracking.notes) noteUnmapped(report, { entity, option, ...note })
  for (const option of Object.keys(config)) {
    if (tracking.notes.has(option) || consumed.has(option) || tracking.read.has(option)) continue
    noteUnmapped(report, {
      entity,
      option,
      ...(COMMON[option] ?? {
        reason: 'not_mapped',
        detail: 'kith does not read this option for this component (docs/devices.md lists what it reads)',
      }),
    })
  }
}
