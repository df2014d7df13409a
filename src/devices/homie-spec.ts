/**
 * The {@link DeviceSpec} a Homie description becomes: every property a sensor, every settable one also an
 * action publishing to `…/<property>/set`, confirmed when the property topic reports the value sent
 * (retained properties only). Availability is `$state`: `ready` online, `lost`/`disconnected` offline.
 */
import { fitId, MAX_PART_ID, slugify } from './slug.ts'
import type { ActionSpec, DeviceSpec, JsonSchema, SensorSpec } from './types.ts'
import { compact, list } from './homie-description.ts'
import type { Description, Property } from './homie-description.ts'

/**
 * The device spec of `description`, published under topic `base`; actions wait `timeout` ms to confirm.
 *
 * @example
 * homieDevice('lamp', 'homie/5/lamp', description, 5000)
 * // { id: 'lamp', sensors: [{ id: 'light_on', … }], actions: [{ id: 'light_on_set', … }], … }
 */
export function homieDevice(id: string, base: string, description: Description, timeout: number): DeviceSpec {
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
          confirm: property.retained ? { topic, when: confirmOf(property), timeout } : undefined,
        }),
      )
    }
  }
  const types = description.nodes.map((n) => (n.type != null ? slugify(n.type) : '')).filter((t) => t !== '')
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
