/**
 * Home Assistant MQTT discovery: retained configs on `<prefix>/<component>/[<node_id>/]<object_id>/config`
 * (and the device-based form on `<prefix>/device/<object_id>/config`, a `cmps` map of components) become
 * {@link DeviceSpec}s, one per Home Assistant device. Keys are expanded from Home Assistant's abbreviation
 * table and `~` is replaced by the base topic, as Home Assistant does. Payload templates send what Home
 * Assistant would send (`payload_on`, `command_template` applied to the value, JSON bodies for JSON lights),
 * built only from the config's literals and the action's validated input.
 *
 * Every message is checked and refused with a counted reason rather than thrown: `oversize`,
 * `malformed_json`, `not_an_object`, `unknown_component`, `unsupported_component`, `bad_topic`,
 * `bad_template`, `missing_field`, `too_many_devices`, `too_many_entities`.
 *
 * Its parts: what configs mean and how they are read (homeassistant-config.ts), the entity one config
 * declares (homeassistant-entity.ts), the sensors and actions each component becomes
 * (homeassistant-parts.ts, homeassistant-controls.ts, homeassistant-climate.ts), and the device spec a
 * device's entities make (homeassistant-device.ts).
 */
import { IdAllocator } from './slug.ts'
import type { DiscoveryImporter, Risk } from './types.ts'
import { importing, Refusal, refuse, type ImportResult } from './refusal.ts'
import { ABBREVIATIONS, isObject, nullObject, expand, type HaComponent } from './homeassistant-config.ts'
import { haEntity, type Entity, type EntityOptions } from './homeassistant-entity.ts'
import { haDevice } from './homeassistant-device.ts'

export { HA_COMPONENTS, type HaComponent } from './homeassistant-config.ts'

export interface HomeAssistantImporterInit {
  /** discovery prefix; default `homeassistant` */
  prefix?: string
  /** risk per component, over the defaults (lock, alarm panel, garage/gate/door cover, valve: high) */
  risk?: Partial<Record<HaComponent, Risk>>
  /** larger config payloads are refused (`oversize`); default 16 KiB */
  maxPayloadBytes?: number
  /** configs for further devices are refused (`too_many_devices`); default 256 */
  maxDevices?: number
  /** configs for further entities of one device are refused (`too_many_entities`); default 128 */
  maxEntitiesPerDevice?: number
  /** ms an action waits for its state topic to confirm; default 5000 */
  confirmTimeout?: number
}

interface DeviceRecord {
  id: string
  entities: Set<string>
  /** the spec last reported, as JSON, so identical retained re-deliveries report nothing */
  last?: string
}

type Result = ImportResult

const NODE_OR_OBJECT_ID = /^[a-zA-Z0-9_-]+$/

/**
 * Imports Home Assistant MQTT discovery configs.
 *
 * @example
 * const ha = new HomeAssistantImporter()
 * const { events } = ha.handle('homeassistant/switch/plug/config', new TextEncoder().encode(
 *   '{"name":"Plug","cmd_t":"plug/set","stat_t":"plug/state","uniq_id":"plug1"}'))
 * // events[0]: { type: 'upsert', device: { id: 'plug1', actions: [{ id: 'plug', … }], … } }
 */
export class HomeAssistantImporter implements DiscoveryImporter {
  readonly source = 'homeassistant' as const
  readonly subscriptions: string[]
  readonly #prefix: string
  readonly #maxPayloadBytes: number
  readonly #maxDevices: number
  readonly #maxEntities: number
  readonly #entityOptions: EntityOptions
  readonly #entities = new Map<string, Entity>()
  /** config topic → keys of the entities it declared */
  readonly #sources = new Map<string, string[]>()
  readonly #devices = new Map<string, DeviceRecord>()
  readonly #ids = new IdAllocator()

  constructor(init: HomeAssistantImporterInit = {}) {
    this.#prefix = init.prefix ?? 'homeassistant'
    this.#maxPayloadBytes = init.maxPayloadBytes ?? 16 * 1024
    this.#maxDevices = init.maxDevices ?? 256
    this.#maxEntities = init.maxEntitiesPerDevice ?? 128
    this.#entityOptions = { risk: { ...init.risk }, timeout: init.confirmTimeout ?? 5_000 }
    // `+/+/config` also covers the device-based form, `<prefix>/device/<object_id>/config`
    this.subscriptions = [`${this.#prefix}/+/+/config`, `${this.#prefix}/+/+/+/config`]
  }

  handle(topic: string, payload: Uint8Array): Result {
    return importing(topic, (result) => this.#handle(topic, payload, result))
  }

  #handle(topic: string, payload: Uint8Array, result: Result): void {
    const levels = typeof topic === 'string' && topic.startsWith(`${this.#prefix}/`) ? topic.split('/') : []
    const rest = levels.slice(this.#prefix.split('/').length)
    if ((rest.length !== 3 && rest.length !== 4) || rest.at(-1) !== 'config') {
      refuse('bad_topic', 'not a discovery topic: <prefix>/<component>/[<node_id>/]<object_id>/config')
    }
    const [component = '', ...ids] = rest.slice(0, -1)
    if (!/^\w+$/.test(component) || !ids.every((id) => NODE_OR_OBJECT_ID.test(id))) {
      refuse('bad_topic', 'component, node id and object id must be letters, digits, "_" or "-"')
    }
    const nodeId = ids.length === 2 ? ids[0] : undefined
    const objectId = ids.at(-1) as string
    if (!(payload instanceof Uint8Array)) refuse('not_an_object', 'payload is not bytes')
    if (payload.byteLength > this.#maxPayloadBytes) {
      refuse(
        'oversize',
        `config of ${payload.byteLength} bytes is over the ${this.#maxPayloadBytes}-byte limit`,
      )
    }
    if (payload.byteLength === 0) {
      this.#replace(topic, [], result)
      return
    }
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
    } catch (err) {
      refuse('malformed_json', `config is not JSON: ${(err as Error).message}`)
    }
    if (!isObject(raw)) refuse('not_an_object', 'config is not a JSON object')

    const entities: Entity[] = []
    if (component === 'device') {
      const root = expand(raw, ABBREVIATIONS)
      const components = root.components
      if (!isObject(components)) refuse('missing_field', 'a device config needs a "cmps" (components) object')
      const shared = nullObject()
      for (const [key, value] of Object.entries(root)) {
        if (key !== 'components') shared[key] = value
      }
      for (const [componentId, value] of Object.entries(components)) {
        const key = `${topic}#${componentId}`
        try {
          if (!NODE_OR_OBJECT_ID.test(componentId))
            refuse('bad_topic', `component id "${componentId}" is not valid`)
          if (!isObject(value)) refuse('not_an_object', `component "${componentId}" is not an object`)
          const config = expand(value, ABBREVIATIONS)
          const platform = config.platform
          delete config.platform
          // a component reduced to its platform is Home Assistant's way of removing it
          if (Object.keys(config).length === 0) continue
          const merged = Object.assign(nullObject(), shared, config)
          entities.push(
            haEntity(
              platform,
              merged,
              { key, source: topic, nodeId: nodeId ?? objectId, objectId: componentId },
              this.#entityOptions,
            ),
          )
        } catch (err) {
          if (!(err instanceof Refusal)) throw err
          result.rejections.push({ reason: err.reason, topic, message: `${componentId}: ${err.message}` })
          const previous = this.#entities.get(key)
          if (previous != null) entities.push(previous)
        }
      }
    } else {
      entities.push(
        haEntity(
          component,
          expand(raw, ABBREVIATIONS),
          { key: topic, source: topic, nodeId, objectId },
          this.#entityOptions,
        ),
      )
    }
    this.#replace(topic, entities, result)
  }

  /** Makes `entities` the whole declaration of config topic `source` and reports the devices that changed. */
  #replace(source: string, entities: Entity[], result: Result): void {
    const touched = new Set<string>()
    const keep = new Set(entities.map((e) => e.key))
    for (const key of this.#sources.get(source) ?? []) {
      if (keep.has(key)) continue
      const old = this.#entities.get(key)
      if (old != null) this.#detach(old, touched)
    }
    const kept: string[] = []
    for (const entity of entities) {
      const old = this.#entities.get(entity.key)
      if (old != null && old.deviceKey !== entity.deviceKey) this.#detach(old, touched)
      let record = this.#devices.get(entity.deviceKey)
      if (record == null) {
        if (this.#devices.size >= this.#maxDevices) {
          result.rejections.push({
            reason: 'too_many_devices',
            topic: source,
            message: `already ${this.#maxDevices} devices; refusing ${entity.deviceKey}`,
          })
          continue
        }
        record = { id: this.#ids.claim(entity.deviceKey, entity.deviceLabel), entities: new Set() }
        this.#devices.set(entity.deviceKey, record)
      }
      if (!record.entities.has(entity.key) && record.entities.size >= this.#maxEntities) {
        result.rejections.push({
          reason: 'too_many_entities',
          topic: source,
          message: `device ${record.id} already has ${this.#maxEntities} entities`,
        })
        if (record.entities.size === 0) this.#drop(entity.deviceKey)
        continue
      }
      record.entities.add(entity.key)
      this.#entities.set(entity.key, entity)
      touched.add(entity.deviceKey)
      kept.push(entity.key)
    }
    if (kept.length > 0) this.#sources.set(source, kept)
    else this.#sources.delete(source)
    for (const deviceKey of [...touched].sort()) this.#report(deviceKey, result)
  }

  #detach(entity: Entity, touched: Set<string>): void {
    this.#entities.delete(entity.key)
    this.#devices.get(entity.deviceKey)?.entities.delete(entity.key)
    touched.add(entity.deviceKey)
  }

  #drop(deviceKey: string): void {
    this.#devices.delete(deviceKey)
    this.#ids.release(deviceKey)
  }

  #report(deviceKey: string, result: Result): void {
    const record = this.#devices.get(deviceKey)
    if (record == null) return
    if (record.entities.size === 0) {
      this.#drop(deviceKey)
      if (record.last != null) result.events.push({ type: 'remove', deviceId: record.id })
      return
    }
    const entities = [...record.entities].sort().map((key) => this.#entities.get(key) as Entity)
    const device = haDevice(record.id, entities)
    const json = JSON.stringify(device)
    if (json === record.last) return
    record.last = json
    result.events.push({ type: 'upsert', device })
  }
}
