/**
 * Tasmota lights, as Home Assistant's tasmota integration drives them (hatasmota light.py and Home Assistant's
 * tasmota/light.py): one action per light publishing hatasmota's `Backlog` (`NoDelay;Power1 ON`,
 * `NoDelay;Dimmer 75`, `NoDelay;Power1 ON;NoDelay;HsbColor1 0;NoDelay;HsbColor2 100`, `…;CT 200`,
 * `…;Scheme 4`, `…;White 50`), confirmed on `stat/<topic>/RESULT`, with the light's subtype (`lt_st`), linked
 * RGB/white channels (`lk`), split PWM channels (SetOption68), Tuya dimmers (`Dimmer3`), unlinked power
 * (SetOption20) and the reduced CT range (SetOption82) applied as hatasmota applies them.
 */
import { jinjaLiteral as lit } from './template-builders.ts'
import type { ActionSpec, JsonSchema, SensorSpec } from './types.ts'
import { LST, RL_LIGHT, type NativeConfig } from './tasmota-config.ts'
import { type PartsCtx, powerExpr, powerState, object } from './tasmota-relays.ts'

const TYPE = { none: 0, dimmer: 1, coldwarm: 2, rgb: 3, rgbw: 4, rgbcw: 5 } as const
/** hatasmota light.py `effect_list`: the index is the `Scheme` number */
export const EFFECTS = ['Solid', 'Wake up', 'Cycle up', 'Cycle down', 'Random']

interface LightConfig {
  type: number
  dimmerCmd: string
  dimmerState: string
  byChannel: boolean
  minMireds: number
  maxMireds: number
  notPowerLinked: boolean
}

/** hatasmota light.py `TasmotaLightConfig.from_discovery_message`, for light `idx`. */
export function lightConfig(c: NativeConfig, idx: number): LightConfig {
  let type: number = c.lightSubtype <= LST.rgbcw ? c.lightSubtype : TYPE.none
  let dimmerCmd = c.tuya ? 'Dimmer3' : 'Dimmer'
  let dimmerState = 'Dimmer'
  let byChannel = false
  if (c.options['68'] === 1) {
    dimmerState = `Channel${idx + 1}`
    byChannel = true
    type = TYPE.dimmer
  } else if (!c.linkedRgbCt && c.lightSubtype >= LST.rgbw) {
    const first = c.relays.indexOf(RL_LIGHT)
    const part = idx - first + 1
    if (part === 1) type = TYPE.rgb
    if (part === 2) type = c.lightSubtype === LST.rgbw ? TYPE.dimmer : TYPE.coldwarm
    dimmerCmd = `Dimmer${part}`
    dimmerState = `Dimmer${part}`
  }
  const reduced = c.options['82'] === 1
  return {
    type,
    dimmerCmd,
    dimmerState,
    byChannel,
    minMireds: reduced ? 200 : 153,
    maxMireds: reduced ? 380 : 500,
    notPowerLinked: c.options['20'] === 1,
  }
}

/** Home Assistant's 1..255 brightness as Tasmota's percent, never rounded down to 0 (tasmota/light.py). */
const DIM = '(((input.brightness * 100 / 255) | round(0) | int) if input.brightness * 200 > 255 else 1)'

/** The parts of light `idx` (a relay typed `2` in `rl`). */
export function lightParts(
  ctx: PartsCtx,
  idx: number,
  title: string,
): { actions: ActionSpec[]; sensors: SensorSpec[] } {
  const { c, topics } = ctx
  const lc = lightConfig(c, idx)
  const n = idx + 1
  const on = lit(c.state[1])
  const off = lit(c.state[0])
  const dimmable = lc.type !== TYPE.none
  const color = lc.type >= TYPE.rgb
  const ct = lc.type === TYPE.coldwarm || lc.type === TYPE.rgbcw
  const white = lc.type === TYPE.rgbw
  const properties: Record<string, JsonSchema> = {
    on: { type: 'boolean', description: 'true to turn on, false to turn off' },
  }
  let commands = ''
  if (dimmable)
    properties.brightness = { type: 'integer', minimum: 1, maximum: 255, description: 'brightness 1..255' }
  if (color) {
    properties.color = object(
      {
        h: { type: 'number', minimum: 0, maximum: 360, description: 'hue in degrees' },
        s: { type: 'number', minimum: 0, maximum: 100, description: 'saturation in percent' },
      },
      ['h', 's'],
    )
    commands +=
      '{% if input.color is defined %};NoDelay;HsbColor1 {{ input.color.h | round(0) | int }};NoDelay;HsbColor2 {{ input.color.s | round(0) | int }}{% endif %}'
  }
  if (ct) {
    // kelvin, as light.turn_on takes it, sent as Tasmota's mireds: floor(1,000,000 / K) (HA util/color.py)
    properties.color_temp_kelvin = {
      type: 'integer',
      minimum: Math.floor(1_000_000 / lc.maxMireds),
      maximum: Math.floor(1_000_000 / lc.minMireds),
      description: 'colour temperature in kelvin',
    }
    commands +=
      '{% if input.color_temp_kelvin is defined %};NoDelay;CT {{ (1000000 / input.color_temp_kelvin) | int }}{% endif %}'
  }
  if (color) {
    properties.effect = { enum: EFFECTS, description: 'a Tasmota colour scheme' }
    const index = EFFECTS.map(
      (e, i) => `{% ${i === 0 ? 'if' : 'elif'} input.effect == ${lit(e)} %}${i}`,
    ).join('')
    commands += `{% if input.effect is defined %};NoDelay;Scheme ${index}{% endif %}{% endif %}`
  }
  if (white) {
    properties.white = { type: 'integer', minimum: 0, maximum: 255, description: 'white channel 0..255' }
    commands +=
      '{% if input.white is defined %};NoDelay;White {{ (input.white * 100 / 255) | round(0) | int }}{% endif %}'
  }
  if (lc.notPowerLinked && dimmable)
    commands += `{% if input.brightness is defined %};NoDelay;Power${n} {{ ${on} }}{% endif %}`
  const dimCmd = lc.byChannel ? `Channel${n}` : lc.dimmerCmd
  const first = dimmable
    ? `{% if input.brightness is defined %}${dimCmd} {{ ${DIM} }}{% else %}Power${n} {{ ${on} }}{% endif %}`
    : `Power${n} {{ ${on} }}`
  const payload = `{% if input.on %}NoDelay;${first}${commands}{% else %}NoDelay;Power${n} {{ ${off} }}{% endif %}`
  const power = powerExpr(idx)
  const brightnessOk = dimmable
    ? ` and (not input.on or input.brightness is undefined or value_json.${lc.dimmerState} == ${DIM})`
    : ''
  const id = `light${n}`
  const actions: ActionSpec[] = [
    {
      id,
      title,
      description: `Turns ${title} on or off${dimmable ? ', optionally with brightness' : ''}${color ? ', colour and effect' : ''}${ct ? ', colour temperature' : ''}.`,
      risk: ctx.risk,
      input: object(properties, ['on']),
      commandTopic: `${topics.cmnd}Backlog`,
      payload,
      confirm: {
        topic: topics.result,
        when: `{{ ${power} == (${on} if input.on else ${off})${brightnessOk} }}`,
        timeout: ctx.timeout,
      },
    },
  ]
  const sensors: SensorSpec[] = [powerState(ctx, idx, `${id}_state`, `${title} state`)]
  if (dimmable)
    sensors.push({
      id: `${id}_brightness`,
      title: `${title} brightness`,
      kind: 'brightness',
      topic: topics.result,
      value: `{{ value_json.${lc.dimmerState} }}`,
      unit: '%',
      schema: { type: 'number' },
    })
  if (color) {
    sensors.push({
      id: `${id}_hsb`,
      title: `${title} colour`,
      kind: 'color',
      topic: topics.result,
      value: '{{ value_json.HSBColor }}',
      schema: {
        type: 'string',
        description: 'hue (0..360), saturation and brightness (0..100), comma-separated',
      },
    })
    const names = EFFECTS.map((e, i) => `{% ${i === 0 ? 'if' : 'elif'} value_json.Scheme == ${i} %}${e}`)
    sensors.push({
      id: `${id}_effect`,
      title: `${title} effect`,
      kind: 'effect',
      topic: topics.result,
      value: `${names.join('')}{% endif %}`,
      schema: { enum: EFFECTS },
    })
  }
  if (ct)
    sensors.push({
      id: `${id}_color_temp`,
      title: `${title} colour temperature`,
      kind: 'color_temp',
      topic: topics.result,
      value: '{{ value_json.CT }}',
      unit: 'mired',
      schema: { type: 'number' },
    })
  return { actions, sensors }
}
