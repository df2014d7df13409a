/**
 * Tasmota's own discovery, what default Tasmota builds (SetOption19 0) publish and Home Assistant's tasmota
 * integration reads: retained `tasmota/discovery/<MAC>/config` (relays, lights, shutters, fan, switch inputs,
 * names, topics) and `tasmota/discovery/<MAC>/sensors` (the sensor JSON), one {@link DeviceSpec} per MAC.
 * Commands, topics and payloads are those hatasmota publishes (tasmota-relays.ts, tasmota-lights.ts,
 * tasmota-shutters.ts, tasmota-sensors.ts); availability is `tele/<topic>/LWT` with the config's
 * `onln`/`ofln` words.
 *
 * The device id is the last six hex digits of the MAC, lowercased: the id Home Assistant-format discovery
 * (SetOption19 1, device identifier `%06X`) gives the same device, so a device announced both ways is one id
 * and the bridge keeps the native one, whichever came first, counting the other as `id_taken`.
 *
 * Refusals, never thrown: `bad_topic`, `oversize`, `malformed_json`, `bad_config`, `mac_mismatch`,
 * `too_many_devices`, `too_many_entities`.
 */
import { emptyUnmapped } from './ha-unmapped.ts'
import { importing, type ImportResult, refuse } from './refusal.ts'
import { IdAllocator } from './slug.ts'
import {
  friendlyName,
  nativeTopics,
  type NativeConfig,
  parseNativeConfig,
  RL_LIGHT,
  RL_RELAY,
} from './tasmota-config.ts'
import { lightParts } from './tasmota-lights.ts'
import { fanParts, nativeNotes, type PartsCtx, relayParts, switchSensors } from './tasmota-relays.ts'
import { sensorParts } from './tasmota-sensors.ts'
import { shutterParts } from './tasmota-shutters.ts'
import type { ActionSpec, DeviceSpec, DiscoveryImporter, Risk, SensorSpec } from './types.ts'

export interface TasmotaImporterInit {
  /** discovery prefix; default `tasmota/discovery` */
  prefix?: string
  /** larger messages are refused (`oversize`); default 16 KiB */
  maxPayloadBytes?: number
  /** configs for further devices are refused (`too_many_devices`); default 256 */
  maxDevices?: number
  /** sensors beyond this many per device are left out, counted as `too_many_entities`; default 64 */
  maxSensorsPerDevice?: number
  /** risk of every action; default medium */
  risk?: Risk
  /** ms an action waits for `stat/<topic>/RESULT` to confirm it; default 5000 */
  confirmTimeout?: number
  /** ms a shutter's open, close or position waits for it to arrive; default 60000 */
  shutterTimeout?: number
}

/** hatasmota utils.py TOPIC_MATCHER: the MAC level of a discovery topic */
const MAC = /^[A-Z0-9_-]{1,32}$/

interface Tracked {
  config?: NativeConfig
  sn?: Record<string, unknown>
  id?: string
  /** the spec last reported, as JSON */
  last?: string
}

/**
 * Imports Tasmota's native discovery.
 *
 * @example
 * const tasmota = new TasmotaImporter()
 * tasmota.handle('tasmota/discovery/00000049A3BC/config', encode(JSON.stringify(config)))
 * // { events: [{ type: 'upsert', device: { id: '49a3bc', actions: [{ id: 'relay1', … }], … } }], … }
 */
export class TasmotaImporter implements DiscoveryImporter {
  readonly source = 'tasmota' as const
  readonly subscriptions: string[]
  readonly #prefix: string
  readonly #maxPayloadBytes: number
  readonly #maxDevices: number
  readonly #maxSensors: number
  readonly #risk: Risk
  readonly #timeout: number
  readonly #shutterTimeout: number
  readonly #devices = new Map<string, Tracked>()
  readonly #ids = new IdAllocator()

  constructor(init: TasmotaImporterInit = {}) {
    this.#prefix = init.prefix ?? 'tasmota/discovery'
    this.#maxPayloadBytes = init.maxPayloadBytes ?? 16 * 1024
    this.#maxDevices = init.maxDevices ?? 256
    this.#maxSensors = init.maxSensorsPerDevice ?? 64
    this.#risk = init.risk ?? 'medium'
    this.#timeout = init.confirmTimeout ?? 5_000
    this.#shutterTimeout = init.shutterTimeout ?? 60_000
    this.subscriptions = [`${this.#prefix}/+/config`, `${this.#prefix}/+/sensors`]
  }

  handle(topic: string, payload: Uint8Array): ImportResult {
    return importing(topic, (result) => this.#handle(topic, payload, result))
  }

  #handle(topic: string, payload: Uint8Array, result: ImportResult): void {
    const rest =
      typeof topic === 'string' && topic.startsWith(`${this.#prefix}/`)
        ? topic.slice(this.#prefix.length + 1)
        : ''
    const [mac = '', kind, ...extra] = rest.split('/')
    if (extra.length > 0 || (kind !== 'config' && kind !== 'sensors') || !MAC.test(mac))
      refuse('bad_topic', 'not a Tasmota discovery topic: <prefix>/<MAC>/config or <prefix>/<MAC>/sensors')
    if (!(payload instanceof Uint8Array)) refuse('bad_config', 'payload is not bytes')
    if (payload.byteLength > this.#maxPayloadBytes)
      refuse(
        'oversize',
        `message of ${payload.byteLength} bytes is over the ${this.#maxPayloadBytes}-byte limit`,
      )
    if (payload.byteLength === 0) return this.#clear(mac, kind, result)
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
    } catch (err) {
      refuse('malformed_json', `${kind} is not JSON: ${(err as Error).message}`)
    }
    if (kind === 'config') {
      const config = parseNativeConfig(raw)
      if (config.mac !== mac)
        refuse('mac_mismatch', `the topic's MAC ${mac} is not the config's ${config.mac}`)
      nativeTopics(config)
      this.#track(mac).config = config
    } else {
      const sn = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).sn : undefined
      if (typeof sn !== 'object' || sn === null || Array.isArray(sn))
        refuse('bad_config', 'a sensors message needs an "sn" object')
      this.#track(mac).sn = sn as Record<string, unknown>
    }
    this.#report(mac, result)
  }

  #track(mac: string): Tracked {
    const existing = this.#devices.get(mac)
    if (existing != null) return existing
    if (this.#devices.size >= this.#maxDevices)
      refuse('too_many_devices', `already ${this.#maxDevices} devices; refusing ${mac}`)
    const tracked: Tracked = {}
    this.#devices.set(mac, tracked)
    return tracked
  }

  /** An empty retained message removes the config (the device is gone) or its sensors. */
  #clear(mac: string, kind: string, result: ImportResult): void {
    const tracked = this.#devices.get(mac)
    if (tracked == null) return
    if (kind === 'sensors') {
      tracked.sn = undefined
      return this.#report(mac, result)
    }
    tracked.config = undefined
    if (tracked.id != null && tracked.last != null)
      result.events.push({ type: 'remove', deviceId: tracked.id })
    tracked.last = undefined
    if (tracked.sn == null) {
      this.#devices.delete(mac)
      this.#ids.release(mac)
    }
  }

  #report(mac: string, result: ImportResult): void {
    const tracked = this.#devices.get(mac) as Tracked
    if (tracked.config == null) return
    tracked.id ??= this.#ids.claim(mac, mac.slice(-6))
    const device = this.#build(tracked.id, tracked.config, tracked.sn, result)
    const json = JSON.stringify(device)
    if (json === tracked.last) return
    tracked.last = json
    result.events.push({ type: 'upsert', device })
  }

  #build(
    id: string,
    c: NativeConfig,
    sn: Record<string, unknown> | undefined,
    result: ImportResult,
  ): DeviceSpec {
    const topics = nativeTopics(c)
    const report = emptyUnmapped()
    const ctx: PartsCtx = { c, topics, risk: this.#risk, timeout: this.#timeout, report }
    const actions: ActionSpec[] = []
    const sensors: SensorSpec[] = []
    const add = (parts: { actions: ActionSpec[]; sensors: SensorSpec[] }) => {
      actions.push(...parts.actions)
      sensors.push(...parts.sensors)
    }
    const forceLight = c.options['30'] === 1
    const components = new Set<string>()
    c.relays.forEach((type, idx) => {
      // the iFan's first relay is its (plain, not dimmable) light; hatasmota discovery.py get_light_entities
      const relayLight = type === RL_RELAY && (forceLight || (c.ifan && idx === 0))
      if (type === RL_LIGHT && !(c.ifan && idx === 0)) {
        components.add('light')
        add(lightParts(ctx, idx, friendlyName(c, 'Light', idx) ?? c.deviceName))
      } else if (relayLight || (type === RL_LIGHT && c.ifan)) {
        components.add('light')
        add(relayParts(ctx, idx, `light${idx + 1}`, friendlyName(c, 'Light', idx) ?? c.deviceName))
      } else if (type === RL_RELAY) {
        components.add('switch')
        add(relayParts(ctx, idx, `relay${idx + 1}`, friendlyName(c, 'Switch', idx) ?? c.deviceName))
      }
    })
    const shutters = shutterParts(ctx, this.#shutterTimeout)
    if (shutters.actions.length > 0) components.add('cover')
    add(shutters)
    if (c.ifan) {
      components.add('fan')
      add(fanParts(ctx, `${c.deviceName} fan`))
    }
    sensors.push(...switchSensors(ctx))
    if (sn != null) {
      const found = sensorParts(sn, topics.teleSensor, this.#maxSensors)
      if (found.sensors.length > 0) components.add('sensor')
      sensors.push(...found.sensors)
      if (found.skipped > 0)
        result.rejections.push({
          reason: 'too_many_entities',
          topic: `${this.#prefix}/${c.mac}/sensors`,
          message: `${found.skipped} sensors beyond the ${this.#maxSensors}-sensor limit were left out`,
        })
    }
    nativeNotes(c, report)
    return {
      id,
      title: c.deviceName,
      description: `Imported from Tasmota discovery (${this.#prefix}/${c.mac}), ${c.model}, Tasmota ${c.version}.`,
      tags: ['tasmota', ...[...components].sort()],
      source: 'tasmota',
      manufacturer: 'Tasmota',
      model: c.model,
      sensors,
      actions,
      availability: c.deepSleep ? [] : [{ topic: topics.lwt, online: [c.online], offline: [c.offline] }],
      ...(report.options.length > 0 ? { unmapped: report } : {}),
    }
  }
}
