/**
 * What a fleet render needs to know about the node schema's shape without validating against it: which
 * keys a map takes (to report an unknown key in a label no node uses) and in which order (so that rendered
 * files list keys the way the schema and the README do, whatever order the fleet file used).
 */
import type { z } from 'zod'
import { unwrapSchema } from '../config/env.ts'

interface SchemaNode {
  _zod: {
    def: {
      type: string
      innerType?: SchemaNode
      in?: SchemaNode
      out?: SchemaNode
      shape?: Record<string, SchemaNode>
      catchall?: SchemaNode
      element?: SchemaNode
      valueType?: SchemaNode
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v)
}

/** The schema of `key` inside a value described by `schema`: a map's field, a record's or a list's values. */
function childSchema(schema: SchemaNode | undefined, key: string | number): SchemaNode | undefined {
  if (schema == null) return undefined
  const def = unwrapSchema(schema)._zod.def
  if (def.type === 'object') return def.shape?.[String(key)]
  if (def.type === 'record') return def.valueType
  if (def.type === 'array') return def.element
  return undefined
}

/** A path into a value: map keys and list indexes. */
export type Path = Array<string | number>

/**
 * The keys of `value` that `schema` does not take, wherever a strict map of the schema meets a map of the
 * value. A list entry with a `remove` key is a fleet removal marker (the merge checks it) and is skipped.
 *
 * @example
 * unknownKeys({ api: { lsten: 'x' } }, configSchema) // [{ path: ['api'], key: 'lsten' }]
 */
export function unknownKeys(value: unknown, schema: z.ZodType): Array<{ path: Path; key: string }> {
  const found: Array<{ path: Path; key: string }> = []
  const walk = (v: unknown, s: SchemaNode | undefined, path: Path) => {
    if (s == null) return
    const def = unwrapSchema(s)._zod.def
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (isPlainObject(item) && Object.hasOwn(item, 'remove')) return
        walk(item, childSchema(s, i), [...path, i])
      })
      return
    }
    if (!isPlainObject(v)) return
    const strict = def.type === 'object' && def.catchall?._zod.def.type === 'never'
    for (const [key, child] of Object.entries(v)) {
      const cs = childSchema(s, key)
      if (cs == null && strict) found.push({ path, key })
      else walk(child, cs, [...path, key])
    }
  }
  walk(value, schema as unknown as SchemaNode, [])
  return found
}

/**
 * A copy of `value` whose maps list the keys `schema` knows in the schema's order, then any others in the
 * order they came; lists keep their order. Output built from it is the same for the same input, byte for byte.
 *
 * @example
 * Object.keys(orderKeys({ trust: {}, api: 'x', version: 1 }, configSchema)) // ['version', 'api', 'trust']
 */
export function orderKeys(value: unknown, schema: z.ZodType): unknown {
  const walk = (v: unknown, s: SchemaNode | undefined): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, childSchema(s, i)))
    if (!isPlainObject(v)) return v
    const def = s != null ? unwrapSchema(s)._zod.def : undefined
    const known = def?.type === 'object' ? Object.keys(def.shape ?? {}) : []
    const keys = [...known.filter((k) => k in v), ...Object.keys(v).filter((k) => !known.includes(k))]
    return Object.fromEntries(keys.map((k) => [k, walk(v[k], childSchema(s, k))]))
  }
  return walk(value, schema as unknown as SchemaNode)
}
