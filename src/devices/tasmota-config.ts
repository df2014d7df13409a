/**
 * What a native Tasmota discovery config (`tasmota/discovery/<MAC>/config`, built by Tasmota's
 * xdrv_12_discovery.ino) means, read the way Home Assistant's `tasmota` integration (the hatasmota library)
 * reads it: the same required keys, the same topic pattern substitution (`ft` with `%prefix%`, `%topic%`,
 * `%hostname%`, `%id%`), and the same entity names (`fn`, with the device name for an unnamed first relay).
 * Anything else about the shape is refused with `bad_config`, never guessed.
 */
import { refuse } from './refusal.ts'
import { MAX_DISCOVERED_TOPIC_BYTES, topicProblem } from '../util/mqtt-topic.ts'

/** Tasmota's own limits (MAX_RELAYS_SET, MAX_SWITCHES_SET, MAX_KEYS_SET, shutters): longer lists are refused. */
export const MAX_RELAYS = 32
export const MAX_SWITCHES = 32
export const MAX_SHUTTERS = 16
const MAX_TEXT = 256

/** Relay types in `rl` (hatasmota const.py RL_*). */
export const RL_RELAY = 1
export const RL_LIGHT = 2
export const RL_SHUTTER = 3

/** Light subtypes in `lt_st` (hatasmota const.py LST_*). */
export const LST = { none: 0, single: 1, coldwarm: 2, rgb: 3, rgbw: 4, rgbcw: 5 } as const

/** The config, checked: only the keys kith reads, with hatasmota's defaults for the optional ones. */
export interface NativeConfig {
  mac: string
  deviceName: string
  friendlyNames: (string | null)[]
  hostname: string
  model: string
  version: string
  ip: string
  topic: string
  fullTopic: string
  prefixes: [string, string, string]
  online: string
  offline: string
  /** OFF, ON, TOGGLE, HOLD */
  state: [string, string, string, string]
  relays: number[]
  switchModes: number[]
  switchNames: (string | null)[]
  buttons: number[]
  options: Record<string, number>
  lightSubtype: number
  linkedRgbCt: boolean
  tuya: boolean
  ifan: boolean
  camera: boolean
  deepSleep: boolean
  shutterOptions: number[]
  shutterTilt: [number, number, number][]
}

/** SetOptions hatasmota requires (discovery.py TASMOTA_OPTIONS_SCHEMA); 4, 80, 114 and 117 default to 0. */
const REQUIRED_OPTIONS = ['11', '13', '17', '20', '30', '68', '73', '82']

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(raw: Record<string, unknown>, key: string): string {
  const value = raw[key]
  if (typeof value !== 'string') refuse('bad_config', `"${key}" must be a string`)
  if (value.length > MAX_TEXT) refuse('bad_config', `"${key}" is longer than ${MAX_TEXT} characters`)
  return value
}

function int(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const value = raw[key] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value))
    refuse('bad_config', `"${key}" must be an integer`)
  return value
}

/** A list of integers of at least `min` (hatasmota: cv.positive_int, but switch modes may be -1). */
function ints(
  raw: Record<string, unknown>,
  key: string,
  max: number,
  fallback?: number[],
  min = 0,
): number[] {
  const value = raw[key] ?? fallback
  const list = Array.isArray(value) ? value : [value]
  if (list.length > max) refuse('bad_config', `"${key}" has more than ${max} entries`)
  if (!list.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= min))
    refuse('bad_config', `"${key}" must be a list of integers of at least ${min}`)
  return list as number[]
}

function names(raw: Record<string, unknown>, key: string, max: number, fallback?: []): (string | null)[] {
  const value = raw[key] ?? fallback
  const list = Array.isArray(value) ? value : [value]
  if (list.length > max) refuse('bad_config', `"${key}" has more than ${max} entries`)
  if (!list.every((v) => v === null || (typeof v === 'string' && v.length <= MAX_TEXT)))
    refuse('bad_config', `"${key}" must be a list of names or nulls`)
  return list as (string | null)[]
}

function words<N extends number>(raw: Record<string, unknown>, key: string, n: N): string[] {
  const value = raw[key]
  if (!Array.isArray(value) || value.length < n || value.length > 8)
    refuse('bad_config', `"${key}" must list ${n} words`)
  if (!value.every((v) => typeof v === 'string' && v.length <= MAX_TEXT))
    refuse('bad_config', `"${key}" must list ${n} words`)
  return value.slice(0, n) as string[]
}

/**
 * Checks a parsed config; throws a Refusal (`bad_config`) naming the first key that does not fit.
 *
 * @example
 * parseNativeConfig(JSON.parse(payload)).relays // [1, 0, 0, 0, 0, 0, 0, 0]
 */
export function parseNativeConfig(raw: unknown): NativeConfig {
  if (!isObject(raw)) refuse('bad_config', 'config is not a JSON object')
  if (raw.ver !== 1) refuse('bad_config', `discovery version ${JSON.stringify(raw.ver)} is not 1`)
  const so = raw.so
  if (!isObject(so)) refuse('bad_config', '"so" (SetOptions) must be an object')
  const options: Record<string, number> = {}
  for (const [key, value] of Object.entries(so).slice(0, 64)) {
    if (value === 0 || value === 1) options[key] = value
    else if (REQUIRED_OPTIONS.includes(key)) refuse('bad_config', `SetOption ${key} must be 0 or 1`)
  }
  for (const key of REQUIRED_OPTIONS)
    if (!(key in options)) refuse('bad_config', `"so" lacks SetOption ${key}`)
  const sht = raw.sht ?? []
  if (!Array.isArray(sht) || sht.length > MAX_SHUTTERS)
    refuse('bad_config', `"sht" must list at most ${MAX_SHUTTERS} tilt configs`)
  const tilt = sht.map((t): [number, number, number] => {
    if (!Array.isArray(t) || t.length !== 3 || !t.every((v) => Number.isInteger(v)))
      refuse('bad_config', '"sht" entries must be [min, max, duration]')
    return t as [number, number, number]
  })
  const prefixes = words(raw, 'tp', 3) as [string, string, string]
  const state = words(raw, 'state', 4) as [string, string, string, string]
  const bit = (key: string, fallback?: number) => int(raw, key, fallback) === 1
  return {
    mac: text(raw, 'mac'),
    deviceName: text(raw, 'dn'),
    friendlyNames: names(raw, 'fn', MAX_RELAYS),
    hostname: text(raw, 'hn'),
    model: text(raw, 'md'),
    version: text(raw, 'sw'),
    ip: text(raw, 'ip'),
    topic: text(raw, 't'),
    fullTopic: text(raw, 'ft'),
    prefixes,
    online: text(raw, 'onln'),
    offline: text(raw, 'ofln'),
    state,
    relays: ints(raw, 'rl', MAX_RELAYS),
    switchModes: ints(raw, 'swc', MAX_SWITCHES, undefined, -1),
    switchNames: names(raw, 'swn', MAX_SWITCHES, []),
    buttons: ints(raw, 'btn', MAX_SWITCHES),
    options,
    lightSubtype: int(raw, 'lt_st'),
    linkedRgbCt: bit('lk'),
    tuya: bit('ty'),
    ifan: bit('if', 0),
    camera: bit('cam', 0),
    deepSleep: int(raw, 'dslp', 0) !== 0,
    shutterOptions: ints(raw, 'sho', MAX_SHUTTERS, []),
    shutterTilt: tilt,
  }
}

/** The topics of a device, as hatasmota's utils.py builds them: `<cmnd>Power1`, `<stat>RESULT`, `<tele>LWT`. */
export interface NativeTopics {
  /** command prefix, ends in `/`: append the command name */
  cmnd: string
  result: string
  teleState: string
  teleSensor: string
  lwt: string
}

/** The full topic pattern with its variables filled in for one prefix (hatasmota utils.py `_get_topic`). */
function fullTopic(c: NativeConfig, prefix: string): string {
  return c.fullTopic
    .replaceAll('%hostname%', c.hostname)
    .replaceAll('%id%', c.mac.slice(-6))
    .replaceAll('%prefix%', prefix)
    .replaceAll('%topic%', c.topic)
}

/** The device's topics; throws `bad_topic` when one could not be published or subscribed to exactly. */
export function nativeTopics(c: NativeConfig): NativeTopics {
  const [cmnd, stat, tele] = c.prefixes.map((p) => fullTopic(c, p)) as [string, string, string]
  const topics = {
    cmnd,
    result: `${stat}RESULT`,
    teleState: `${tele}STATE`,
    teleSensor: `${tele}SENSOR`,
    lwt: `${tele}LWT`,
  }
  for (const t of [`${cmnd}Backlog`, topics.result, topics.teleState, topics.teleSensor, topics.lwt]) {
    const problem = topicProblem(t, { maxBytes: MAX_DISCOVERED_TOPIC_BYTES })
    if (problem != null) refuse('bad_topic', `topic "${t.slice(0, 80)}" ${problem}`)
  }
  return topics
}

/**
 * The name of relay or light `idx` (hatasmota utils.py `config_get_friendlyname`): its `fn` entry, `<platform>
 * <n>` when there is none, and undefined for a first entity named like the device (it takes the device's name).
 */
export function friendlyName(c: NativeConfig, platform: string, idx: number): string | undefined {
  const name = c.friendlyNames[idx]
  if (name == null) return `${platform} ${idx + 1}`
  if (idx === 0 && name === c.deviceName) return undefined
  return name
}

/** The name Tasmota reports switch `idx` under in its JSON (`Switch1`, or its `swn` name). */
export function switchName(c: NativeConfig, idx: number): string {
  return c.switchNames[idx] ?? `Switch${idx + 1}`
}
