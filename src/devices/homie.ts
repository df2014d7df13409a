/**
 * The Homie convention: v5 devices describe themselves in one retained JSON document,
 * `homie/5/<device>/$description`; v3/v4 devices in retained attribute topics (`$homie`, `$nodes`,
 * `<node>/$properties`, `<node>/<property>/$datatype`, …), from which a device is assembled once its
 * nodes, property lists and datatypes have arrived, and updated as more attributes come. Every property
 * becomes a sensor; every settable one also an action publishing to `…/<property>/set`, confirmed when the
 * property topic reports the value sent (retained properties only). Availability is `$state`: `ready`
 * online, `lost`/`disconnected` offline.
 *
 * Refusals, never thrown: `oversize`, `malformed_json`, `bad_topic`, `bad_description`, `too_many_devices`.
 */
import { fitId, IdAllocator, MAX_PART_ID, slugify } from './slug.ts'
import type { ActionSpec, DeviceSpec, DiscoveryImporter, JsonSchema, SensorSpec } from './types.ts'
import { importing, type ImportResult, Refusal, refuse } from './refusal.ts'

export interface HomieImporterInit {
  /** base topic; default `homie` */
  prefix?: string
  /** larger messages are refused (`oversize`); default 16 KiB */
  maxPayloadBytes?: number
  /** messages for further devices are refused (`too_many_devices`); default 256 */
  maxDevices?: number
  /** ms an action waits for the property to report the value sent; default 5000 */
  confirmTimeout?: number
}

const DATATYPES = new Set([
  'integer',
  'float',
  'boolean',
  'string',
  'enum',
  'color',
  'datetime',
  'duration',
  'json',
])
/** Homie ids: lowercase letters, digits and hyphens, no hyphen at either end */
const HOMIE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/
const MAX_NODES = 64
const MAX_PROPERTIES = 64
const MAX_ATTRIBUTES = 2048
const V4_DEVICE_ATTRIBUTES = new Set(['$homie', '$name', '$nodes'])
const V4_NODE_ATTRIBUTES = new Set(['$name', '$type', '$properties'])
const V4_PROPERTY_ATTRIBUTES = new Set(['$name', '$datatype', '$format', '$settable', '$retained', '$unit'])

interface Property {
  id: string
  name?: string
  datatype: string
  format?: string
  settable: boolean
  retained: boolean
  unit?: string
}

interface HomieNode {
  id: string
  name?: string
  type?: string
  properties: Property[]
}

interface Description {
  version: string
  name?: string
  nodes: HomieNode[]
}

interface Tracked {
  id: string
  /** v4 attributes by path below the device (`$nodes`, `pump/$properties`, `pump/power/$datatype`) */
  attributes?: Map<string, string>
  /** the spec last reported, as JSON */
  last?: string
}

type Result = ImportResult

/**
 * Imports Homie v5 descriptions and v3/v4 attribute trees.
 *
 * @example
 * const homie = new HomieImporter()
 * homie.handle('homie/5/lamp/$description', new TextEncoder().encode(JSON.stringify({
 *   homie: '5.0', version: 1, nodes: { light: { properties: { on: { datatype: 'boolean', settable: true } } } } })))
 * // { events: [{ type: 'upsert', device: { id: 'lamp', actions: [{ id: 'light_on_set', … }], … } }], … }
 */
export class HomieImporter implements DiscoveryImporter {
  readonly source = 'homie' as const
  readonly subscriptions: string[]
  readonly #prefix: string
  readonly #maxPayloadBytes: number
  readonly #maxDevices: number
  readonly #timeout: number
  /** by `5:<id>` or `4:<id>` */
  readonly #devices = new Map<string, Tracked>()
  readonly #ids = new IdAllocator()

  constructor(init: HomieImporterInit = {}) {
    this.#prefix = init.prefix ?? 'homie'
    this.#maxPayloadBytes = init.maxPayloadBytes ?? 16 * 1024
    this.#maxDevices = init.maxDevices ?? 256
    this.#timeout = init.confirmTimeout ?? 5_000
    const p = this.#prefix
    this.subscriptions = [
      `${p}/5/+/$description`,
      ...[...V4_DEVICE_ATTRIBUTES].map((a) => `${p}/+/${a}`),
      ...[...V4_NODE_ATTRIBUTES].map((a) => `${p}/+/+/${a}`),
      ...[...V4_PROPERTY_ATTRIBUTES].map((a) => `${p}/+/+/+/${a}`),
    ]
  }

  handle(topic: string, payload: Uint8Array): Result {
    return importing(topic, (result) => this.#handle(topic, payload, result))
  }

  #handle(topic: string, payload: Uint8Array, result: Result): void {
    if (typeof topic !== 'string' || !topic.startsWith(`${this.#prefix}/`))
      refuse('bad_topic', 'not a Homie topic')
    const levels = topic.slice(this.#prefix.length + 1).split('/')
    if (!(payload instanceof Uint8Array)) refuse('bad_description', 'payload is not bytes')
    if (payload.byteLength > this.#maxPayloadBytes) {
      refuse(
        'oversize',
        `message of ${payload.byteLength} bytes is over the ${this.#maxPayloadBytes}-byte limit`,
      )
    }
    if (levels[0] === '5') return this.#v5(levels, payload, result)
    return this.#v4(levels, payload, result)
  }

  #v5(levels: string[], payload: Uint8Array, result: Result): void {
    const [, deviceId = '', attribute] = levels
    if (levels.length !== 3 || attribute !== '$description') return
    if (!HOMIE_ID.test(deviceId)) refuse('bad_topic', `"${deviceId}" is not a Homie id`)
    const key = `5:${deviceId}`
    if (payload.byteLength === 0) return this.#remove(key, result)
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
    } catch (err) {
      refuse('malformed_json', `$description is not JSON: ${(err as Error).message}`)
    }
    const description = parseV5(raw)
    const tracked = this.#track(key, deviceId)
    this.#report(tracked, `${this.#prefix}/5/${deviceId}`, description, result)
  }

  #v4(levels: string[], payload: Uint8Array, result: Result): void {
    const [deviceId = '', ...path] = levels
    const attribute = path.at(-1) ?? ''
    const known =
      (path.length === 1 && V4_DEVICE_ATTRIBUTES.has(attribute)) ||
      (path.length === 2 && V4_NODE_ATTRIBUTES.has(attribute)) ||
      (path.length === 3 && V4_PROPERTY_ATTRIBUTES.has(attribute))
    if (!known) return
    for (const id of [deviceId, ...path.slice(0, -1)]) {
      if (!HOMIE_ID.test(id)) refuse('bad_topic', `"${id}" is not a Homie id`)
    }
    const key = `4:${deviceId}`
    if (attribute === '$homie' && payload.byteLength === 0) return this.#remove(key, result)
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(payload)
    } catch {
      refuse('bad_description', `${attribute} is not UTF-8 text`)
    }
    let tracked = this.#devices.get(key)
    if (tracked == null) {
      if (payload.byteLength === 0) return
      tracked = this.#track(key, deviceId)
    }
    const attributes = (tracked.attributes ??= new Map())
    const name = path.join('/')
    if (text === '') attributes.delete(name)
    else {
      if (!attributes.has(name) && attributes.size >= MAX_ATTRIBUTES) {
        refuse('bad_description', `device has more than ${MAX_ATTRIBUTES} attributes`)
      }
      attributes.set(name, text)
    }
    if (attribute === '$nodes' || attribute === '$properties') {
      const bad = list(text).filter((id) => !HOMIE_ID.test(id))
      if (bad.length > 0) {
        result.rejections.push({
          reason: 'bad_description',
          topic: `${this.#prefix}/${levels.join('/')}`,
          message: `not Homie ids (skipped): ${bad.slice(0, 5).join(', ')}`,
        })
      }
    }
    this.#report(tracked, `${this.#prefix}/${deviceId}`, assembleV4(attributes), result)
  }

  #track(key: string, deviceId: string): Tracked {
    const existing = this.#devices.get(key)
    if (existing != null) return existing
    if (this.#devices.size >= this.#maxDevices) {
      refuse('too_many_devices', `already ${this.#maxDevices} devices; refusing ${deviceId}`)
    }
    const tracked: Tracked = { id: this.#ids.claim(key, deviceId) }
    this.#devices.set(key, tracked)
    return tracked
  }

  #remove(key: string, result: Result): void {
    const tracked = this.#devices.get(key)
    if (tracked == null) return
    this.#devices.delete(key)
    this.#ids.release(key)
    if (tracked.last != null) result.events.push({ type: 'remove', deviceId: tracked.id })
  }

  /** Reports the device when it changed: upsert when complete, remove when it stopped being complete. */
  #report(tracked: Tracked, base: string, description: Description | undefined, result: Result): void {
    if (description == null) {
      if (tracked.last != null) {
        tracked.last = undefined
        result.events.push({ type: 'remove', deviceId: tracked.id })
      }
      return
    }
    const device = this.#build(tracked.id, base, description)
    const json = JSON.stringify(device)
    if (json === tracked.last) return
    tracked.last = json
    result.events.push({ type: 'upsert', device })
  }

  #build(id: string, base: string, description: Description): DeviceSpec {
    const sensors: SensorSpec[] = []
    const actions: ActionSpec[] = []
    for (const node of description.nodes) {
      for (const property of node.properties) {
        const topic = `${base}/${node.id}/${property.id}`
        const partKey = `${node.id}/${property.id}`
        const title = property.name ?? `${node.name ?? node.id} ${property.id}`
        const schema = schemaOf(property, description.version)
        sensors.push(
          compact({
            id: fitId(`${node.id}_${property.id}`.replaceAll('-', '_'), partKey, MAX_PART_ID),
            title,
            kind: kindOf(property),
            topic,
            unit: property.unit,
            schema,
          }),
        )
        if (!property.settable) continue
        actions.push(
          compact({
            id: fitId(`${node.id}_${property.id}_set`.replaceAll('-', '_'), `${partKey}/set`, MAX_PART_ID),
            title: `Set ${title}`,
            description: `Sets ${title} of ${description.name ?? id}${property.unit != null ? ` (${property.unit})` : ''}.`,
            risk: 'medium' as const,
            input: {
              type: 'object',
              properties: { value: schema },
              required: ['value'],
              additionalProperties: false,
            },
            commandTopic: `${topic}/set`,
            payload: payloadOf(property),
            confirm: property.retained
              ? { topic, when: confirmOf(property), timeout: this.#timeout }
              : undefined,
          }),
        )
      }
    }
    const types = description.nodes
      .map((n) => (n.type != null ? slugify(n.type) : ''))
      .filter((t) => t !== '')
    return compact({
      id,
      title: description.name ?? id,
      description: `Imported from Homie ${description.version} (${base}).`,
      tags: ['homie', ...new Set(types)],
      source: 'homie' as const,
      sensors,
      actions,
      availability: [{ topic: `${base}/$state`, online: ['ready'], offline: ['lost', 'disconnected'] }],
    })
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function optionalText(value: unknown, max = 256): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined
}

/** A v5 `$description` as nodes and properties; throws `bad_description`. */
function parseV5(raw: unknown): Description {
  if (!isObject(raw)) refuse('bad_description', '$description is not a JSON object')
  const version = raw.homie
  if (typeof version !== 'string' || !/^5\.\d+/.test(version))
    refuse('bad_description', '"homie" must be "5.x"')
  const nodes: HomieNode[] = []
  const rawNodes = raw.nodes ?? {}
  if (!isObject(rawNodes)) refuse('bad_description', '"nodes" must be an object')
  const entries = Object.entries(rawNodes)
  if (entries.length > MAX_NODES) refuse('bad_description', `more than ${MAX_NODES} nodes`)
  for (const [nodeId, node] of entries) {
    if (!HOMIE_ID.test(nodeId)) refuse('bad_description', `node id "${nodeId}" is not a Homie id`)
    if (!isObject(node)) refuse('bad_description', `node "${nodeId}" is not an object`)
    const rawProperties = node.properties ?? {}
    if (!isObject(rawProperties))
      refuse('bad_description', `node "${nodeId}": "properties" must be an object`)
    const props = Object.entries(rawProperties)
    if (props.length > MAX_PROPERTIES)
      refuse('bad_description', `node "${nodeId}" has more than ${MAX_PROPERTIES} properties`)
    const properties: Property[] = []
    for (const [propertyId, p] of props) {
      const where = `${nodeId}/${propertyId}`
      if (!HOMIE_ID.test(propertyId)) refuse('bad_description', `property id "${where}" is not a Homie id`)
      if (!isObject(p)) refuse('bad_description', `property "${where}" is not an object`)
      properties.push(
        property(where, {
          id: propertyId,
          name: optionalText(p.name),
          datatype: p.datatype,
          format: p.format,
          settable: p.settable,
          retained: p.retained,
          unit: p.unit,
        }),
      )
    }
    nodes.push(
      compact({ id: nodeId, name: optionalText(node.name), type: optionalText(node.type), properties }),
    )
  }
  return compact({ version, name: optionalText(raw.name), nodes })
}

/** Checks one property's attributes (either version); throws `bad_description`. */
function property(
  where: string,
  p: {
    id: string
    name?: string
    datatype: unknown
    format: unknown
    settable: unknown
    retained: unknown
    unit: unknown
  },
): Property {
  if (typeof p.datatype !== 'string' || !DATATYPES.has(p.datatype)) {
    refuse('bad_description', `property "${where}" has no valid datatype`)
  }
  if (p.format != null && typeof p.format !== 'string')
    refuse('bad_description', `property "${where}": format must be a string`)
  if (p.datatype === 'enum' && list((p.format as string | undefined) ?? '').length === 0) {
    refuse('bad_description', `enum property "${where}" lists no values in its format`)
  }
  const flag = (value: unknown, fallback: boolean) => (typeof value === 'boolean' ? value : fallback)
  return compact({
    id: p.id,
    name: p.name,
    datatype: p.datatype,
    format: optionalText(p.format, 4096),
    settable: flag(p.settable, false),
    retained: flag(p.retained, true),
    unit: optionalText(p.unit, 32),
  })
}

/** A v3/v4 device from its attributes, or undefined while nodes, property lists or datatypes are missing. */
function assembleV4(attributes: Map<string, string>): Description | undefined {
  const version = attributes.get('$homie')
  const nodeList = attributes.get('$nodes')
  if (version == null || !/^[34]\.\d+/.test(version) || nodeList == null) return undefined
  const nodes: HomieNode[] = []
  for (const nodeId of list(nodeList)
    .filter((id) => HOMIE_ID.test(id))
    .slice(0, MAX_NODES)) {
    const propertyList = attributes.get(`${nodeId}/$properties`)
    if (propertyList == null) return undefined
    const properties: Property[] = []
    for (const propertyId of list(propertyList)
      .filter((id) => HOMIE_ID.test(id))
      .slice(0, MAX_PROPERTIES)) {
      const at = (attribute: string) => attributes.get(`${nodeId}/${propertyId}/${attribute}`)
      const datatype = at('$datatype')
      if (datatype == null) return undefined
      const bool = (value: string | undefined) =>
        value == null ? undefined : value.trim().toLowerCase() === 'true'
      try {
        properties.push(
          property(`${nodeId}/${propertyId}`, {
            id: propertyId,
            name: optionalText(at('$name')),
            datatype: datatype.trim(),
            format: at('$format'),
            settable: bool(at('$settable')),
            retained: bool(at('$retained')),
            unit: at('$unit'),
          }),
        )
      } catch (err) {
        // a property with an unknown datatype or an enum without values is left out, the rest stays
        if (!(err instanceof Refusal)) throw err
      }
    }
    const name = optionalText(attributes.get(`${nodeId}/$name`))
    nodes.push(
      compact({ id: nodeId, name, type: optionalText(attributes.get(`${nodeId}/$type`)), properties }),
    )
  }
  return compact({ version, name: optionalText(attributes.get('$name')), nodes })
}

function range(format: string | undefined): { minimum?: number; maximum?: number } {
  const [min, max] = (format ?? '').split(':')
  const read = (s: string | undefined) => (s == null || s.trim() === '' ? undefined : Number(s))
  const minimum = read(min)
  const maximum = read(max)
  const ok = (n: number | undefined) => n === undefined || Number.isFinite(n)
  if (!ok(minimum) || !ok(maximum) || (minimum !== undefined && maximum !== undefined && minimum > maximum))
    return {}
  return compact({ minimum, maximum })
}

const COLOR_VALUE: Record<string, string> = {
  rgb: '\\d{1,3},\\d{1,3},\\d{1,3}',
  hsv: '\\d{1,3},\\d{1,3},\\d{1,3}',
  xyz: '(?:0|1|0?\\.\\d+),(?:0|1|0?\\.\\d+)',
}

/** JSON Schema of a property's value; only kith-authored patterns, never one from the device. */
function schemaOf(p: Property, version: string): JsonSchema {
  switch (p.datatype) {
    case 'integer':
      return { type: 'integer', ...range(p.format) }
    case 'float':
      return { type: 'number', ...range(p.format) }
    case 'boolean':
      return { type: 'boolean' }
    case 'enum':
      return { type: 'string', enum: [...new Set(list(p.format ?? ''))] }
    case 'color': {
      const formats = list(p.format ?? 'rgb').filter((f) => f in COLOR_VALUE)
      const v5 = version.startsWith('5')
      const alternatives = (formats.length > 0 ? formats : ['rgb']).map(
        (f) => (v5 ? `${f},` : '') + COLOR_VALUE[f],
      )
      return { type: 'string', pattern: `^(?:${alternatives.join('|')})$` }
    }
    case 'json':
      return {}
    default:
      return { type: 'string', maxLength: 1024 }
  }
}

function payloadOf(p: Property): string {
  switch (p.datatype) {
    case 'boolean':
      return "{{ 'true' if input.value else 'false' }}"
    case 'json':
      return '{{ input.value | to_json }}'
    default:
      return '{{ input.value }}'
  }
}

function confirmOf(p: Property): string {
  switch (p.datatype) {
    case 'integer':
    case 'float':
      return '{{ (value | float(none)) == (input.value | float) }}'
    case 'boolean':
      return "{{ (value | trim | lower) == ('true' if input.value else 'false') }}"
    case 'json':
      return '{{ value_json == input.value }}'
    default:
      return '{{ value == input.value }}'
  }
}

const KIND_BY_UNIT: Record<string, string> = {
  '°C': 'temperature',
  '°F': 'temperature',
  K: 'temperature',
  W: 'power',
  kW: 'power',
  Wh: 'energy',
  kWh: 'energy',
  lx: 'illuminance',
  V: 'voltage',
  A: 'current',
  hPa: 'pressure',
}

/** Homie has no device classes: the unit says what is measured; a boolean is a state; else the property's id. */
function kindOf(p: Property): string {
  if (p.datatype === 'boolean') return 'state'
  const byUnit = p.unit != null ? KIND_BY_UNIT[p.unit] : undefined
  if (byUnit != null) return byUnit
  if (p.unit === '%' && /humid/.test(p.id)) return 'humidity'
  if (p.unit === '%' && /batt/.test(p.id)) return 'battery'
  return p.id
}
