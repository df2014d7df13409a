/**
 * Whether a capability's JSON Schemas fit what an intent offers and wants. Only the shape that matters for
 * plugging one into the other is read: top-level `type`, `properties` (with their `type`) and `required`.
 * The answer is a factor: 0 incompatible (the capability is dropped), 1 compatible, UNKNOWN_SCHEMA when the
 * capability's schema is too empty to check.
 */
import type { Capability } from '../descriptor.ts'
import { UNKNOWN_SCHEMA } from './constants.ts'
import type { Intent, JsonSchema } from './types.ts'

/** The parts of a schema the matcher reads; undefined fields were absent. */
export interface SchemaShape {
  types: ReadonlySet<string> | undefined
  /** property name → its types (an empty set when the property gives none) */
  properties: ReadonlyMap<string, ReadonlySet<string>> | undefined
  required: readonly string[]
}

const NO_TYPES: ReadonlySet<string> = new Set()

/** JSON Schema types as a set, with `integer` folded into `number` (an integer is a number, and vice versa). */
function typesOf(schema: unknown): ReadonlySet<string> | undefined {
  if (schema == null || typeof schema !== 'object') return undefined
  const type = (schema as JsonSchema).type
  const list = typeof type === 'string' ? [type] : Array.isArray(type) ? type : undefined
  if (list === undefined) return undefined
  return new Set(list.filter((t) => typeof t === 'string').map((t) => (t === 'integer' ? 'number' : t)))
}

/**
 * Reads the shape of a schema; undefined for an empty or unreadable one.
 *
 * @example
 * shapeOf({ type: 'object', properties: { room: { type: 'string' } }, required: ['room'] })
 * // { types: Set{'object'}, properties: Map{'room' => Set{'string'}}, required: ['room'] }
 */
export function shapeOf(schema: JsonSchema | undefined): SchemaShape | undefined {
  if (schema == null) return undefined
  const types = typesOf(schema)
  const rawProps = schema.properties
  let properties: Map<string, ReadonlySet<string>> | undefined
  if (rawProps != null && typeof rawProps === 'object' && !Array.isArray(rawProps)) {
    properties = new Map()
    for (const [name, sub] of Object.entries(rawProps)) properties.set(name, typesOf(sub) ?? NO_TYPES)
  }
  const required = Array.isArray(schema.required)
    ? schema.required.filter((r): r is string => typeof r === 'string')
    : []
  if (types === undefined && properties === undefined && required.length === 0) return undefined
  return { types, properties, required }
}

/** Two type sets conflict when both are given and share no type. */
function conflict(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined || a.size === 0 || b.size === 0) return false
  for (const t of a) if (b.has(t)) return false
  return true
}

/** Common properties whose types conflict. */
function propertiesConflict(a: SchemaShape, b: SchemaShape): boolean {
  if (a.properties === undefined || b.properties === undefined) return false
  for (const [name, types] of a.properties) if (conflict(types, b.properties.get(name))) return true
  return false
}

/**
 * How well the input an intent offers fits the input a capability accepts.
 *
 * @example
 * inputFit(shapeOf({ properties: { text: { type: 'string' } } }), shapeOf({ required: ['image'] })) // 0
 */
export function inputFit(offered: SchemaShape | undefined, accepted: SchemaShape | undefined): number {
  if (offered === undefined) return 1
  if (accepted === undefined) return UNKNOWN_SCHEMA
  if (conflict(offered.types, accepted.types) || propertiesConflict(offered, accepted)) return 0
  if (accepted.required.length > 0) {
    if (offered.properties === undefined) return UNKNOWN_SCHEMA
    for (const name of accepted.required) if (!offered.properties.has(name)) return 0
  }
  return 1
}

/**
 * How well the output a capability produces covers the output an intent wants.
 *
 * @example
 * outputFit(shapeOf({ properties: { celsius: {} } }), shapeOf({ properties: { celsius: { type: 'number' } } })) // 1
 */
export function outputFit(wanted: SchemaShape | undefined, produced: SchemaShape | undefined): number {
  if (wanted === undefined) return 1
  if (produced === undefined) return UNKNOWN_SCHEMA
  if (conflict(wanted.types, produced.types) || propertiesConflict(wanted, produced)) return 0
  if (wanted.properties !== undefined && wanted.properties.size > 0) {
    if (produced.properties === undefined) return UNKNOWN_SCHEMA
    for (const name of wanted.properties.keys()) if (!produced.properties.has(name)) return 0
  }
  return 1
}

/**
 * The schema part of a match: the input fit times the output fit, 0 when either is incompatible.
 *
 * @example
 * schemaCompatibility({ text: 'summarize', input: { properties: { text: { type: 'string' } } } }, summarizer) // 1
 */
export function schemaCompatibility(
  intent: Pick<Intent, 'input' | 'output'>,
  capability: Capability,
): number {
  return (
    inputFit(shapeOf(intent.input), shapeOf(capability.input)) *
    outputFit(shapeOf(intent.output), shapeOf(capability.output))
  )
}
