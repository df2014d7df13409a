/**
 * Every key of `kith.yaml` with its type, default, allowed values and description, read from the schema
 * (its JSON Schema form, descriptions from `.meta()`), so `kith config explain KEY` and
 * docs/configuration.md say what the validator enforces and nothing else.
 */
import { z } from 'zod'
import { envNames } from './env.ts'
import { configSchema } from './schema.ts'

/** One config key as the reference shows it. */
export interface ConfigKey {
  /** dotted; `[]` marks the entries of a list, `*` any key of a map: `capabilities[].id`, `mqtt.imported.*.risk` */
  path: string
  /** what the value is: `integer`, `HOST:PORT`, `list of multiaddr`, `map` (a section of keys) … */
  type: string
  /** the values or range accepted, when the type alone does not say: `` `off`, `client`, `server` ``, `1 … 4096` */
  allowed?: string
  /** absent when the key has none (the description says what its absence means) */
  default?: unknown
  description: string
  examples?: unknown[]
  /** the env variable that sets it, for keys outside lists and maps */
  env?: string
  /** paths of the keys directly under this one */
  children: string[]
}

interface Json {
  type?: string | string[]
  format?: string
  const?: unknown
  enum?: unknown[]
  anyOf?: Json[]
  properties?: Record<string, Json>
  additionalProperties?: Json | boolean
  items?: Json
  default?: unknown
  description?: string
  examples?: unknown[]
  minimum?: number
  exclusiveMinimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
}

const UNBOUNDED = Number.MAX_SAFE_INTEGER

/** `a … b`, `at least a`, `at most b` or undefined, leaving out the bounds zod adds to every integer. */
function range(min: number | undefined, max: number | undefined, unit = ''): string | undefined {
  const lo = min != null && Math.abs(min) < UNBOUNDED ? min : undefined
  const hi = max != null && max < UNBOUNDED ? max : undefined
  if (lo != null && hi != null) return `${lo} … ${hi}${unit}`
  if (lo != null) return `at least ${lo}${unit}`
  if (hi != null) return `at most ${hi}${unit}`
  return undefined
}

function numberRange(s: Json): string | undefined {
  if (s.exclusiveMinimum == null) return range(s.minimum, s.maximum)
  const above = `more than ${s.exclusiveMinimum}`
  return s.maximum != null && s.maximum < UNBOUNDED ? `${above}, at most ${s.maximum}` : above
}

function literal(value: unknown): string {
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``
}

/** The type of a schema node in a few words. */
function typeOf(s: Json): string {
  if (s.const !== undefined) return literal(s.const)
  if (s.enum != null) return s.enum.map(literal).join(' | ')
  if (s.anyOf != null) return s.anyOf.map(typeOf).join(' | ')
  if (s.format != null) return s.format
  if (s.properties != null) return 'map'
  if (s.type === 'array') return `list of ${s.items != null ? plural(typeOf(s.items)) : 'values'}`
  if (s.type === 'object' && typeof s.additionalProperties === 'object')
    return `map of ${plural(typeOf(s.additionalProperties))}`
  if (typeof s.type === 'string') return s.type
  return 'any value'
}

function plural(type: string): string {
  if (type.startsWith('list of ')) return `lists of ${type.slice('list of '.length)}`
  return /^(map|string|integer|number|boolean|peer id|multiaddr)$/.test(type) ? `${type}s` : type
}

function allowedOf(s: Json): string | undefined {
  if (s.minimum != null || s.maximum != null || s.exclusiveMinimum != null) return numberRange(s)
  if (s.minItems != null || s.maxItems != null) return range(s.minItems, s.maxItems, ' entries')
  if (s.minLength === 1 && s.maxLength == null) return 'not empty'
  if (s.minLength != null || s.maxLength != null) return range(s.minLength, s.maxLength, ' characters')
  return undefined
}

/** The nodes a key's children hang from: its properties, its list's entries, its map's values, a union's maps. */
function childScopes(s: Json): Array<{ suffix: string; node: Json }> {
  if (s.properties != null) return [{ suffix: '', node: s }]
  if (s.type === 'array' && s.items?.properties != null) return [{ suffix: '[]', node: s.items }]
  if (typeof s.additionalProperties === 'object' && s.additionalProperties.properties != null)
    return [{ suffix: '.*', node: s.additionalProperties }]
  return (s.anyOf ?? []).filter((m) => m.properties != null).map((node) => ({ suffix: '', node }))
}

/**
 * Every key of `schema` (default: kith's config schema), parents before their children, in schema order.
 *
 * @example
 * configKeys().find((k) => k.path === 'api.maxConnections')?.default // 64
 */
export function configKeys(schema: z.ZodType = configSchema): ConfigKey[] {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json
  const env = new Map([...envNames(schema)].map(([name, key]) => [key.path.join('.'), name]))
  const keys: ConfigKey[] = []
  const walk = (node: Json, prefix: string): string[] => {
    const paths: string[] = []
    for (const { suffix, node: scope } of childScopes(node)) {
      for (const [name, child] of Object.entries(scope.properties ?? {})) {
        const path = `${prefix}${suffix}${prefix === '' && suffix === '' ? '' : '.'}${name}`
        const isSection = child.properties != null
        const key: ConfigKey = {
          path,
          type: typeOf(child),
          description: child.description ?? '',
          children: [],
        }
        const allowed = allowedOf(child)
        if (allowed != null) key.allowed = allowed
        // a section's `{}` default only says "fill in my keys' defaults"
        if (child.default !== undefined && !isSection) key.default = child.default
        if (child.examples != null) key.examples = child.examples
        const envName = env.get(path)
        if (envName != null) key.env = envName
        keys.push(key)
        key.children = walk(child, path)
        paths.push(path)
      }
    }
    return paths
  }
  walk(root, '')
  return keys
}

/**
 * A value as a user would write it in YAML: strings bare, everything else as JSON.
 *
 * @example
 * valueText('127.0.0.1:7700') // '127.0.0.1:7700'
 * valueText(['/ip4/127.0.0.1/tcp/7701']) // '["/ip4/127.0.0.1/tcp/7701"]'
 */
export function valueText(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : JSON.stringify(value)
}

function segments(path: string): string[] {
  return path
    .replace(/\[\d*\]/g, '')
    .split('.')
    .filter((s) => s !== '' && !/^\d+$/.test(s))
}

function matches(key: ConfigKey, query: string[]): boolean {
  const own = segments(key.path)
  return own.length === query.length && own.every((s, i) => s === '*' || s === query[i])
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = row[j]!
      row[j] = next
    }
  }
  return row[b.length]!
}

/**
 * The key `query` names (`capabilities.0.id` and `mqtt.imported.plug.risk` find their list and map entries'
 * keys), or undefined.
 */
export function findKey(keys: readonly ConfigKey[], query: string): ConfigKey | undefined {
  const wanted = segments(query.trim())
  return (
    keys.find((k) => segments(k.path).join('.') === wanted.join('.')) ?? keys.find((k) => matches(k, wanted))
  )
}

/**
 * Up to `limit` key paths close to `query`: the same last name elsewhere first, then by edit distance.
 *
 * @example
 * nearestKeys(configKeys(), 'api.maxConection') // ['api.maxConnections', …]
 */
export function nearestKeys(keys: readonly ConfigKey[], query: string, limit = 3): string[] {
  const q = query.trim().toLowerCase()
  const last = q.split('.').at(-1) ?? q
  const scored = keys.map((k) => {
    const path = k.path.toLowerCase()
    const name = path.split('.').at(-1) ?? path
    const score = name === last ? 0 : 1 + Math.min(distance(q, path), distance(last, name) + 1)
    return { path: k.path, score }
  })
  const cutoff = Math.max(3, Math.floor(q.length / 3))
  return scored
    .filter((s) => s.score <= cutoff)
    .sort((a, b) => a.score - b.score || a.path.length - b.path.length)
    .slice(0, limit)
    .map((s) => s.path)
}
