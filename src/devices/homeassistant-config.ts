/**
 * What Home Assistant's discovery configs mean, for the importer (homeassistant.ts) and the component
 * builders: the components kith takes and their default risk, the abbreviation tables, and the helpers that
 * read an expanded config (topics, payloads, templates, availability).
 */
import { slugify } from './slug.ts'
import { MAX_DISCOVERED_TOPIC_BYTES, topicProblem } from '../util/mqtt-topic.ts'
import { compileTemplate, TemplateError } from './template.ts'
import { jinjaLiteral, rewriteLookups, templateExpression } from './template-builders.ts'
import type { AvailabilitySpec, Risk } from './types.ts'
import { Refusal, refuse } from './refusal.ts'
import { unmapped } from './ha-unmapped.ts'
import { ABBREVIATIONS } from './ha-abbreviations.ts'

export const HA_COMPONENTS = [
  'sensor',
  'binary_sensor',
  'switch',
  'light',
  'lock',
  'cover',
  'climate',
  'fan',
  'number',
  'select',
  'button',
  'alarm_control_panel',
  'siren',
  'valve',
  'humidifier',
  'water_heater',
  'lawn_mower',
  'vacuum',
  'event',
  'text',
  'scene',
] as const

export type HaComponent = (typeof HA_COMPONENTS)[number]

/** Home Assistant platforms that discovery knows but kith does not turn into capabilities. */
export const UNSUPPORTED = new Set([
  'camera',
  'device_automation',
  'device_tracker',
  'image',
  'notify',
  'tag',
  'update',
])

export const DEFAULT_RISK: Record<HaComponent, Risk> = {
  sensor: 'low',
  binary_sensor: 'low',
  switch: 'medium',
  light: 'medium',
  lock: 'high',
  cover: 'medium',
  climate: 'medium',
  fan: 'medium',
  number: 'medium',
  select: 'medium',
  button: 'medium',
  alarm_control_panel: 'high',
  siren: 'medium',
  valve: 'high',
  humidifier: 'medium',
  water_heater: 'medium',
  lawn_mower: 'medium',
  vacuum: 'medium',
  event: 'low',
  text: 'medium',
  scene: 'medium',
}

export const HIGH_RISK_COVERS = new Set(['garage', 'gate', 'door'])

export { ABBREVIATIONS, DEVICE_ABBREVIATIONS, ORIGIN_ABBREVIATIONS } from './ha-abbreviations.ts'

/** A config object after expansion: a null-prototype record, so JSON keys such as `__proto__` stay data. */
export type Config = Record<string, unknown>

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function nullObject(): Config {
  return Object.create(null) as Config
}

/** Expands abbreviated keys; where a config has both forms the full key wins. */
export function expand(raw: Record<string, unknown>, table: Map<string, string>): Config {
  const out = nullObject()
  for (const [key, value] of Object.entries(raw)) {
    const full = table.get(key) ?? key
    if (full === key || !(full in out)) out[full] = value
  }
  return out
}

function substituteBase(config: Config, base: string): void {
  for (const [key, value] of Object.entries(config)) {
    if (!key.endsWith('topic') || typeof value !== 'string' || value === '') continue
    if (value.startsWith('~')) config[key] = base + value.slice(1)
    else if (value.endsWith('~')) config[key] = value.slice(0, -1) + base
  }
}

/** Home Assistant's `~`: a topic value starting or ending with `~` gets the base topic there. */
export function replaceBase(config: Config): void {
  const base = config['~']
  if (typeof base !== 'string') return
  delete config['~']
  substituteBase(config, base)
  if (Array.isArray(config.availability)) {
    config.availability = config.availability.map((item) => {
      if (!isObject(item)) return item
      const entry = expand(item, ABBREVIATIONS)
      substituteBase(entry, base)
      return entry
    })
  }
}

export function text(config: Config, key: string): string | undefined {
  const value = config[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * A number option as Home Assistant reads it (`vol.Coerce(float)`, `cv.positive_int`): a JSON number or a
 * numeric string (`"min_temp": "5"`, as Zigbee2MQTT sends). Anything else present is counted as `bad_value`
 * and the fallback is used.
 *
 * @example
 * numberOf({ min_temp: '5' }, 'min_temp', 7) // 5
 */
export function numberOf(config: Config, key: string, fallback: number): number {
  const value = config[key]
  if (value == null) return fallback
  const n = coerceNumber(value)
  if (n != null) return n
  unmapped(
    config,
    key,
    'bad_value',
    `${JSON.stringify(value).slice(0, 40)} is not a number; ${fallback} is used`,
  )
  return fallback
}

/** A JSON number, or a string Python's `float()` reads (white space around it allowed); else undefined. */
export function coerceNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value))
    return undefined
  const n = Number(value.trim())
  return Number.isFinite(n) ? n : undefined
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 'enable'])
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', 'disable'])

/**
 * A boolean option as Home Assistant reads it (`cv.boolean`): JSON booleans, numbers (non-zero is true) and the
 * words `true/yes/on/enable/1` and `false/no/off/disable/0` in any case. Anything else present is counted as
 * `bad_value` and the fallback is used.
 *
 * @example
 * boolOf({ retain: 'true' }, 'retain', false) // true
 */
export function boolOf(config: Config, key: string, fallback: boolean): boolean {
  const value = config[key]
  if (value == null) return fallback
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' && Number.isFinite(value)) return value !== 0
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase()
    if (TRUE_WORDS.has(word)) return true
    if (FALSE_WORDS.has(word)) return false
  }
  unmapped(
    config,
    key,
    'bad_value',
    `${JSON.stringify(value).slice(0, 40)} is not a boolean; ${fallback} is used`,
  )
  return fallback
}

/** A payload option as Home Assistant reads it (`cv.string`): numbers as digits, booleans as `True`/`False`. */
export function payloadOf(config: Config, key: string, fallback: string): string
export function payloadOf(config: Config, key: string, fallback: null): string | null
export function payloadOf(config: Config, key: string, fallback: string | null): string | null
export function payloadOf(config: Config, key: string, fallback: string | null): string | null {
  const value = config[key]
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (value === null && key in config) return null
  return fallback
}

export function topicOf(config: Config, key: string, required: true): string
export function topicOf(config: Config, key: string, required?: false): string | undefined
export function topicOf(config: Config, key: string, required = false): string | undefined {
  const value = config[key]
  if (value == null || value === '') {
    if (required) refuse('missing_field', `"${key}" is required`)
    return undefined
  }
  const problem = topicProblem(value, { maxBytes: MAX_DISCOVERED_TOPIC_BYTES })
  if (problem != null) refuse('bad_topic', `${key} ${problem}`)
  return value as string
}

/** A template from the config, compiled once to refuse what the subset does not allow. */
export function templateOf(config: Config, key: string): string | undefined {
  const value = config[key]
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') refuse('bad_template', `${key} is not a string`)
  // Zigbee2MQTT's lookup tables ({% set values = {…} %}, {0: 'off', …}[value]) as the subset's conditionals
  const source = rewriteLookups(value)
  checked(source, key)
  return source
}

/**
 * A template for a reading that the entity can do without: one the subset refuses is counted as
 * `not_supported` (with the engine's reason) and left out, instead of refusing the whole entity.
 */
export function readingTemplateOf(config: Config, key: string): { ok: boolean; template?: string } {
  try {
    return { ok: true, template: templateOf(config, key) }
  } catch (err) {
    if (!(err instanceof Refusal)) throw err
    unmapped(config, key, 'not_supported', `${err.message}; the reading is left out`)
    return { ok: false }
  }
}

/**
 * Runs `build` (one optional part of an entity); a template in it that the subset refuses loses only that part:
 * `key` is counted as `not_supported` and undefined returned, instead of refusing the whole entity.
 */
export function attempt<T>(config: Config, key: string, build: () => T): T | undefined {
  try {
    return build()
  } catch (err) {
    if (!(err instanceof Refusal) || err.reason !== 'bad_template') throw err
    unmapped(config, key, 'not_supported', `${err.message}; this part is left out`)
    return undefined
  }
}

export function checked(source: string, what: string): string {
  try {
    compileTemplate(source)
  } catch (err) {
    if (err instanceof TemplateError) refuse('bad_template', `${what}: ${err.message}`)
    throw err
  }
  return source
}

/** A template kith builds that may grow past the limits (long device templates inside): undefined then. */
export function optional(source: string): string | undefined {
  try {
    compileTemplate(source)
    return source
  } catch {
    return undefined
  }
}

/** The expression a state is read with: the value template's, or the payload itself. */
export function stateExpression(template: string | undefined): string | undefined {
  return template == null ? 'value' : templateExpression(template)
}

export const lit = jinjaLiteral

export function equals(expression: string, target: string): string {
  return `((${expression}) | string) == ${target}`
}

/** A config's list of words: strings only, each at most 256 characters, at most 256, no repeats. */
export function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const list = value
    .filter((v): v is string => typeof v === 'string' && v !== '' && v.length <= 256)
    .slice(0, 256)
  return list.length > 0 ? [...new Set(list)] : undefined
}

export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

export function humanize(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim()
  return words === '' ? id : words[0]?.toUpperCase() + words.slice(1)
}

/** The part name for an entity: its object id without the node or device prefix Tasmota-style ids carry. */
export function partBase(objectId: string, prefixes: (string | undefined)[]): string {
  let base = slugify(objectId)
  for (const prefix of prefixes) {
    const p = prefix == null ? '' : slugify(prefix)
    if (p !== '' && base.startsWith(`${p}_`) && base.length > p.length + 1) base = base.slice(p.length + 1)
  }
  return base === '' ? 'entity' : base.slice(0, 64)
}

export function availabilityOf(config: Config): {
  specs: AvailabilitySpec[]
  mode?: 'all' | 'any' | 'latest'
} {
  const specs: AvailabilitySpec[] = []
  const add = (entry: Config, topicKey: string, templateKey: string) => {
    const template = templateOf(entry, templateKey)
    specs.push(
      compact({
        topic: topicOf(entry, topicKey, true),
        value: template,
        online: [payloadOf(entry, 'payload_available', 'online')],
        offline: [payloadOf(entry, 'payload_not_available', 'offline')],
      }),
    )
  }
  if (Array.isArray(config.availability)) {
    for (const item of config.availability.slice(0, 16)) {
      if (!isObject(item)) refuse('not_an_object', 'an availability entry is not an object')
      add(expand(item, ABBREVIATIONS), 'topic', 'value_template')
    }
  }
  if (config.availability_topic != null) add(config, 'availability_topic', 'availability_template')
  const mode = config.availability_mode
  return { specs, mode: mode === 'all' || mode === 'any' || mode === 'latest' ? mode : undefined }
}
