/**
 * What a kind of virtual device is made of: its JSON state (Zigbee2MQTT's flat object, or the DIY relay's), how it
 * obeys a command, how its readings drift, and how it describes itself to Home Assistant and Homie; plus the
 * small codecs and entity builders the kinds in models-*.ts share. The topics and payloads match the profiles
 * in `devices/` named by `profile`.
 */

export const KINDS = [
  'plug',
  'light',
  'lock',
  'thermostat',
  'contact',
  'motion',
  'climate-sensor',
  'diy-relay',
] as const
export type VirtualDeviceKind = (typeof KINDS)[number]

export type StateValue = string | number | boolean
export type DeviceState = Record<string, StateValue>

/** One Home Assistant entity: `<prefix>/<component>/<node id>/<object id>/config`. */
export interface HaEntity {
  component: 'switch' | 'light' | 'lock' | 'climate' | 'sensor' | 'binary_sensor'
  objectId: string
  /** the component's own keys (abbreviated); topics relative to the base as `~` */
  config: Record<string, unknown>
}

/** One Homie v5 property, mapped onto one key of the JSON state. */
export interface HomieProperty {
  node: string
  id: string
  name: string
  datatype: 'boolean' | 'integer' | 'float' | 'enum' | 'string'
  format?: string
  unit?: string
  key: string
  encode(value: StateValue): string
  /** for settable properties: the state value a `/set` payload asks for, undefined when invalid */
  decode?(payload: string): StateValue | undefined
}

export interface KindModel {
  title: string
  /** the profile in `devices/` that speaks to this kind */
  profile: string
  /** default base topic; `{id}` is the device id */
  base: string
  /** the key a bare (non-JSON) command payload sets, as Zigbee2MQTT does with `ON` on `<base>/set` */
  plainKey?: string
  /** drop a command whose `task` id was already applied */
  dedupe?: boolean
  initial(): DeviceState
  /** the change a JSON command asks for; undefined when the command means nothing to this kind */
  command(state: DeviceState, cmd: Record<string, unknown>): Partial<DeviceState> | undefined
  /** the readings after `dtMs` more milliseconds */
  tick(state: DeviceState, dtMs: number, random: () => number): Partial<DeviceState>
  ha: HaEntity[]
  homie: { nodes: Record<string, { name: string; type: string }>; properties: HomieProperty[] }
}

/** `v` rounded to `digits` decimals. */
export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits
/** A reading after one random step of at most `step`, kept within `min`..`max`. */
export const drift = (v: number, step: number, min: number, max: number, random: () => number) =>
  round(Math.min(max, Math.max(min, v + (random() * 2 - 1) * step)))

/** The ON/OFF state a command word asks for (`TOGGLE` flips `current`), or undefined for any other word. */
export function onOff(current: StateValue | undefined, asked: unknown): 'ON' | 'OFF' | undefined {
  const word = typeof asked === 'string' ? asked.toUpperCase() : undefined
  if (word === 'TOGGLE') return current === 'ON' ? 'OFF' : 'ON'
  return word === 'ON' || word === 'OFF' ? word : undefined
}

/** `asked` as a number within `min`..`max` (a numeric string counts), or undefined. */
export function numberIn(asked: unknown, min: number, max: number): number | undefined {
  const n = typeof asked === 'string' ? Number(asked) : asked
  return typeof n === 'number' && Number.isFinite(n) && n >= min && n <= max ? n : undefined
}

// Homie codecs: a property's payload text <-> the state value under its key.
/** A read-only number property. */
export const asNumber = { encode: (v: StateValue) => String(v) }
/** A number property that takes `/set` values within `min`..`max`. */
export const settableNumber = (min: number, max: number) => ({
  encode: (v: StateValue) => String(v),
  decode: (p: string) => numberIn(p, min, max),
})
/** A read-only boolean property, true where `truth` holds for the state value. */
export const asBool = (truth: (v: StateValue) => boolean) => ({ encode: (v: StateValue) => String(truth(v)) })
/** A boolean property whose state value is one of two words, settable with `true`/`false`. */
export const settableWords = (yes: string, no: string) => ({
  encode: (v: StateValue) => String(v === yes),
  decode: (p: string) => (p === 'true' ? yes : p === 'false' ? no : undefined),
})

/** A temperature and humidity reading after one random step each, as a climate sensor's drift. */
export const climateDrift = (s: DeviceState, random: () => number) => ({
  temperature: drift(Number(s.temperature), 0.2, 15, 30, random),
  humidity: drift(Number(s.humidity), 0.5, 20, 80, random),
})

/** Temperature (°C) and humidity (0-100 %) as Homie properties of `node`. */
export const climateProperties = (node: string): HomieProperty[] => [
  {
    node,
    id: 'temperature',
    name: 'Temperature',
    datatype: 'float',
    unit: '°C',
    key: 'temperature',
    ...asNumber,
  },
  {
    node,
    id: 'humidity',
    name: 'Humidity',
    datatype: 'float',
    format: '0:100',
    unit: '%',
    key: 'humidity',
    ...asNumber,
  },
]

/** The battery level (0-100 %) as a Homie property of `node`. */
export const battery = (node: string): HomieProperty => ({
  node,
  id: 'battery',
  name: 'Battery',
  datatype: 'integer',
  format: '0:100',
  unit: '%',
  key: 'battery',
  ...asNumber,
})

/** A Home Assistant sensor entity reading `key` of the JSON state. */
export const sensor = (
  objectId: string,
  key: string,
  unit: string,
  deviceClass: string,
  stateClass = 'measurement',
) => ({
  component: 'sensor' as const,
  objectId,
  config: {
    name: objectId.replace(/^./, (c) => c.toUpperCase()),
    stat_t: '~',
    val_tpl: `{{ value_json.${key} }}`,
    unit_of_meas: unit,
    dev_cla: deviceClass,
    stat_cla: stateClass,
  },
})

/** Home Assistant sensor entities for the `temperature` and `humidity` of the JSON state. */
export const climateSensors = () => [
  sensor('temperature', 'temperature', '°C', 'temperature'),
  sensor('humidity', 'humidity', '%', 'humidity'),
]

/** A Home Assistant binary sensor entity reading `key` of the JSON state: on when it is `on`, off when `off`. */
export const binarySensor = (
  objectId: string,
  name: string,
  key: string,
  on: StateValue,
  off: StateValue,
  deviceClass: string,
): HaEntity => ({
  component: 'binary_sensor',
  objectId,
  config: {
    name,
    stat_t: '~',
    val_tpl: `{{ value_json.${key} }}`,
    pl_on: on,
    pl_off: off,
    dev_cla: deviceClass,
  },
})

/** A Home Assistant switch entity on `key` of the JSON state, commanded with ON/OFF on `~/set`. */
export const onOffSwitch = (key: string, cmdTpl?: string): HaEntity => ({
  component: 'switch',
  objectId: 'switch',
  config: {
    name: null,
    stat_t: '~',
    cmd_t: '~/set',
    ...(cmdTpl != null ? { cmd_tpl: cmdTpl } : {}),
    val_tpl: `{{ value_json.${key} }}`,
    pl_on: 'ON',
    pl_off: 'OFF',
  },
})
