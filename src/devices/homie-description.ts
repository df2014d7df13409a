/**
 * What a Homie device says about itself, read into nodes and properties: a v5 `$description` document
 * checked as a whole, or a v3/v4 device assembled from its retained attribute topics once its nodes,
 * property lists and datatypes have arrived. Bad input throws a `bad_description` {@link Refusal}.
 */
import { Refusal, refuse } from './refusal.ts'

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
export const HOMIE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/
const MAX_NODES = 64
const MAX_PROPERTIES = 64
/** v3/v4 attributes the importer subscribes to, below the device, a node and a property */
export const V4_DEVICE_ATTRIBUTES = new Set(['$homie', '$name', '$nodes'])
export const V4_NODE_ATTRIBUTES = new Set(['$name', '$type', '$properties'])
export const V4_PROPERTY_ATTRIBUTES = new Set([
  '$name',
  '$datatype',
  '$format',
  '$settable',
  '$retained',
  '$unit',
])

/** One checked property, whichever version described it. */
export interface Property {
  id: string
  name?: string
  datatype: string
  format?: string
  settable: boolean
  retained: boolean
  unit?: string
}

/** One node and its properties. */
export interface HomieNode {
  id: string
  name?: string
  type?: string
  properties: Property[]
}

/** A whole device description; `version` is the `homie` version it declared. */
export interface Description {
  version: string
  name?: string
  nodes: HomieNode[]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Deletes `value`'s undefined keys, so a spec's JSON is the same whichever way it was built. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

/** A Homie comma-separated list: `list('a, b,,c')` is `['a', 'b', 'c']`. */
export function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function optionalText(value: unknown, max = 256): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined
}

/**
 * A v5 `$description` as nodes and properties; throws `bad_description`.
 *
 * @example
 * parseV5({ homie: '5.0', nodes: { light: { properties: { on: { datatype: 'boolean' } } } } })
 * // { version: '5.0', nodes: [{ id: 'light', properties: [{ id: 'on', datatype: 'boolean', … }] }] }
 */
export function parseV5(raw: unknown): Description {
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

/**
 * A v3/v4 device from its attributes, or undefined while nodes, property lists or datatypes are missing.
 *
 * @example
 * assembleV4(new Map([['$homie', '4.0'], ['$nodes', 'pump'], ['pump/$properties', 'on'],
 *   ['pump/on/$datatype', 'boolean']]))
 * // { version: '4.0', nodes: [{ id: 'pump', properties: [{ id: 'on', datatype: 'boolean', … }] }] }
 */
export function assembleV4(attributes: Map<string, string>): Description | undefined {
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
