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

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits
export const drift = (v: number, step: number, min: number, max: number, random: () => number) =>
  round(Math.min(max, Math.max(min, v + (random() * 2 - 1) * step)))

export function onOff(current: StateValue | undefined, asked: unknown): 'ON' | 'OFF' | undefined {
  const word = typeof asked === 'string' ? asked.toUpperCase() : undefined
  if (word === 'TOGGLE') return current === 'ON' ? 'OFF' : 'ON'
  return word === 'ON' || word === 'OFF' ? word : undefined
}

export function numberIn(asked: unknown, min: number, max: number): number | undefined {
  const n = typeof asked === 'string' ? Number(asked) : asked
  return typeof n === 'number' && Number.isFinite(n) && n >= min && n <= max ? n : undefined
}

// Homie codecs: a property's payload text <-> the state value under its key.
export const asNumber = { encode: (v: StateValue) => String(v) }
export const settableNumber = (min: number, max: number) => ({
  encode: (v: StateValue) => String(v),
  decode: (p: string) => numberIn(p, min, max),
})
export const asBool = (truth: (v: StateValue) => boolean) => ({ encode: (v: StateValue) => String(truth(v)) })
export const settableWords = (yes: string, no: string) => ({
  encode: (v: StateValue) => String(v === yes),
  decode: (p: string) => (p === 'true' ? yes : p === 'false' ? no : undefined),
})

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
