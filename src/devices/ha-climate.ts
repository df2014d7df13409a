/**
 * Home Assistant's MQTT climate (thermostat) component, as homeassistant/components/mqtt/climate.py publishes
 * it: each service call goes to its own command topic through its command template, the value as the service
 * validated it (temperatures as floats, `"21.0"`; humidity as an integer; modes as the words listed).
 *
 * Actions: `_power`, `_temperature`, `_temperature_range` (low and high in one call, as `climate.set_temperature`
 * publishes both), `_mode`, `_preset`, `_fan_mode`, `_swing_mode`, `_swing_horizontal_mode`, `_humidity`.
 * Sensors: `_setpoint`, `_setpoint_low`, `_setpoint_high`, `_current`, `_mode_state`, `_action`, `_preset_state`,
 * `_fan_mode_state`, `_swing_mode_state`, `_swing_horizontal_mode_state`, `_humidity_setpoint`, `_current_humidity`.
 * Numbers sent as strings (`"min_temp": "5"`) are coerced as Home Assistant's `vol.Coerce(float)` does.
 */
import type { JsonSchema } from './types.ts'
import { refuse } from './refusal.ts'
import {
  numberOf,
  payloadOf,
  attempt,
  readingTemplateOf,
  stateExpression,
  equals,
  strings,
  templateOf,
  text,
  topicOf,
} from './homeassistant-config.ts'
import {
  action,
  commandPayload,
  confirm,
  object,
  onOff,
  sensor,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'

/** Home Assistant's HVACAction values, what `action_topic` reports. */
const HVAC_ACTIONS = ['off', 'preheating', 'defrosting', 'heating', 'cooling', 'drying', 'idle', 'fan']

/** One list-valued setting (mode, preset, fan mode, swing mode): its action on `<key>_command_topic` and state. */
function choice(
  ctx: Ctx,
  o: { key: string; suffix: string; what: string; input: string; list: string[]; stateTemplate: string },
): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const command = topicOf(c, `${o.key}_command_topic`)
  const state = topicOf(c, `${o.key}_state_topic`)
  const { ok, template } = readingTemplateOf(c, o.stateTemplate)
  // Zigbee2MQTT's mode templates set a lookup table ({% set %}): beyond the subset, only this action is lost
  const key = `${o.key}_command_template`
  const payload =
    command == null
      ? undefined
      : attempt(c, key, () => commandPayload(templateOf(c, key), { value: `input.${o.input}` }, key))
  if (command != null && payload != null) {
    const e = ok ? stateExpression(template) : undefined
    drafts.push(
      action(ctx, o.suffix, {
        title: `${ctx.title} ${o.what}`,
        description: `Sets the ${o.what} of ${ctx.title}.`,
        input: object({ [o.input]: { type: 'string', enum: o.list } }, [o.input]),
        commandTopic: command,
        payload,
        confirm: confirm(state, e && `{{ ${equals(e, `input.${o.input}`)} }}`, ctx),
      }),
    )
  }
  if (state != null && ok) {
    const schema: JsonSchema = { type: 'string', enum: o.list }
    drafts.push(
      sensor(`${o.suffix}_state`, {
        title: `${ctx.title} ${o.what}`,
        kind: o.key,
        topic: state,
        value: template,
        schema,
      }),
    )
  }
  return drafts
}

/** A number setting on its own topic (a temperature, the humidity), and its state as a sensor. */
function setpoint(
  ctx: Ctx,
  o: {
    key: string
    suffix: string
    sensorSuffix: string
    what: string
    input: string
    schema: JsonSchema
    value: string
    kind: string
    unit: string
  },
): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const command = topicOf(c, `${o.key}_command_topic`)
  const state = topicOf(c, `${o.key}_state_topic`)
  const { ok, template } = readingTemplateOf(c, `${o.key}_state_template`)
  const key = `${o.key}_command_template`
  const payload =
    command == null
      ? undefined
      : attempt(c, key, () => commandPayload(templateOf(c, key), { value: o.value }, key))
  if (command != null && payload != null) {
    const e = ok ? stateExpression(template) : undefined
    drafts.push(
      action(ctx, o.suffix, {
        title: `${ctx.title} ${o.what}`,
        description: `Sets the ${o.what} of ${ctx.title}.`,
        input: object({ [o.input]: o.schema }, [o.input]),
        commandTopic: command,
        payload,
        confirm: confirm(state, e && `{{ ((${e}) | float(none)) == (${o.value} | float) }}`, ctx),
      }),
    )
  }
  if (state != null && ok) {
    drafts.push(
      sensor(o.sensorSuffix, {
        title: `${ctx.title} ${o.what}`,
        kind: o.kind,
        topic: state,
        value: template,
        unit: o.unit,
        schema: { type: 'number' },
      }),
    )
  }
  return drafts
}

export function climateParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const fahrenheit = text(c, 'temperature_unit') === 'F'
  const unit = fahrenheit ? '°F' : '°C'
  const min = numberOf(c, 'min_temp', fahrenheit ? 45 : 7)
  const max = numberOf(c, 'max_temp', fahrenheit ? 95 : 35)
  const step = numberOf(c, 'temp_step', 1)
  const temperature: JsonSchema = {
    type: 'number',
    minimum: min,
    maximum: max,
    description: `in ${unit}, ${min} to ${max} (the thermostat's step is ${step})`,
  }
  const power = topicOf(c, 'power_command_topic')
  if (power != null) {
    drafts.push(
      ...onOff(ctx, {
        suffix: '_power',
        title: `${ctx.title} power`,
        description: `Turns ${ctx.title} on or off.`,
        command: power,
        on: payloadOf(c, 'payload_on', 'ON'),
        off: payloadOf(c, 'payload_off', 'OFF'),
        template: templateOf(c, 'power_command_template'),
        stateOn: 'ON',
        stateOff: 'OFF',
      }),
    )
  }
  const asFloat = (name: string) => `(input.${name} | float)`
  drafts.push(
    ...setpoint(ctx, {
      key: 'temperature',
      suffix: '_temperature',
      sensorSuffix: '_setpoint',
      what: 'target temperature',
      input: 'temperature',
      schema: temperature,
      value: asFloat('temperature'),
      kind: 'temperature',
      unit,
    }),
  )
  drafts.push(...temperatureRange(ctx, temperature, unit))
  const modes = strings(c.modes) ?? ['auto', 'off', 'cool', 'heat', 'dry', 'fan_only']
  drafts.push(
    ...choice(ctx, {
      key: 'mode',
      suffix: '_mode',
      what: 'HVAC mode',
      input: 'mode',
      list: modes,
      stateTemplate: 'mode_state_template',
    }),
  )
  const presets = strings(c.preset_modes)
  if (presets != null) {
    // Home Assistant offers "none" beside the listed presets and publishes it as the word (climate.py)
    const list = presets.includes('none') ? presets : [...presets, 'none']
    drafts.push(
      ...choice(ctx, {
        key: 'preset_mode',
        suffix: '_preset',
        what: 'preset',
        input: 'preset',
        list,
        stateTemplate: 'preset_mode_value_template',
      }),
    )
  }
  const fanModes = strings(c.fan_modes) ?? ['auto', 'low', 'medium', 'high']
  drafts.push(
    ...choice(ctx, {
      key: 'fan_mode',
      suffix: '_fan_mode',
      what: 'fan mode',
      input: 'fan_mode',
      list: fanModes,
      stateTemplate: 'fan_mode_state_template',
    }),
  )
  const swingModes = strings(c.swing_modes) ?? ['on', 'off']
  drafts.push(
    ...choice(ctx, {
      key: 'swing_mode',
      suffix: '_swing_mode',
      what: 'swing mode',
      input: 'swing_mode',
      list: swingModes,
      stateTemplate: 'swing_mode_state_template',
    }),
  )
  const swingH = strings(c.swing_horizontal_modes) ?? ['on', 'off']
  drafts.push(
    ...choice(ctx, {
      key: 'swing_horizontal_mode',
      suffix: '_swing_horizontal_mode',
      what: 'horizontal swing mode',
      input: 'swing_horizontal_mode',
      list: swingH,
      stateTemplate: 'swing_horizontal_mode_state_template',
    }),
  )
  const minHumidity = numberOf(c, 'min_humidity', 30)
  const maxHumidity = numberOf(c, 'max_humidity', 99)
  drafts.push(
    ...setpoint(ctx, {
      key: 'target_humidity',
      suffix: '_humidity',
      sensorSuffix: '_humidity_setpoint',
      what: 'target humidity',
      input: 'humidity',
      schema: {
        type: 'integer',
        minimum: minHumidity,
        maximum: maxHumidity,
        description: 'relative humidity in %',
      },
      value: 'input.humidity',
      kind: 'humidity',
      unit: '%',
    }),
  )
  const reading = (
    key: string,
    suffix: string,
    what: string,
    kind: string,
    u?: string,
    schema?: JsonSchema,
  ) => {
    const t = topicOf(c, `${key}_topic`)
    // Zigbee2MQTT's action_template sets a lookup table ({% set %}), which the template subset refuses
    const { ok, template } = readingTemplateOf(c, `${key}_template`)
    if (t != null && ok)
      drafts.push(
        sensor(suffix, {
          title: `${ctx.title} ${what}`,
          kind,
          topic: t,
          value: template,
          unit: u,
          schema,
        }),
      )
  }
  reading('current_temperature', '_current', 'temperature', 'temperature', unit, { type: 'number' })
  reading('current_humidity', '_current_humidity', 'humidity', 'humidity', '%', { type: 'number' })
  reading('action', '_action', 'action', 'hvac_action', undefined, { type: 'string', enum: HVAC_ACTIONS })
  if (drafts.length === 0)
    refuse('missing_field', 'a climate entity needs at least one command or state topic')
  return drafts
}

/** Low and high targets in one call: Home Assistant publishes the low one, then the high one (climate.py). */
function temperatureRange(ctx: Ctx, temperature: JsonSchema, unit: string): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const low = topicOf(c, 'temperature_low_command_topic')
  const high = topicOf(c, 'temperature_high_command_topic')
  const lowPayload = (value: string) =>
    commandPayload(
      templateOf(c, 'temperature_low_command_template'),
      { value },
      'temperature_low_command_template',
    )
  const highPayload = (value: string) =>
    commandPayload(
      templateOf(c, 'temperature_high_command_template'),
      { value },
      'temperature_high_command_template',
    )
  if (low != null || high != null) {
    const input: Record<string, JsonSchema> = {}
    if (low != null)
      input.low = { ...temperature, description: `lowest target, ${temperature.description as string}` }
    if (high != null)
      input.high = { ...temperature, description: `highest target, ${temperature.description as string}` }
    const messages = [
      ...(low != null
        ? [
            {
              topic: low,
              payload: `{% if input.low is defined %}${lowPayload('(input.low | float)')}{% endif %}`,
            },
          ]
        : []),
      ...(high != null
        ? [
            {
              topic: high,
              payload: `{% if input.high is defined %}${highPayload('(input.high | float)')}{% endif %}`,
            },
          ]
        : []),
    ]
    const first = messages[0] as { topic: string; payload: string }
    drafts.push(
      action(ctx, '_temperature_range', {
        title: `${ctx.title} target range`,
        description: `Sets the lowest and highest target temperature of ${ctx.title} in ${unit}.`,
        input: { ...object(input), minProperties: 1 },
        commandTopic: first.topic,
        payload: first.payload,
        messages: messages.length > 1 ? messages : undefined,
      }),
    )
  }
  for (const [key, suffix, what] of [
    ['temperature_low', '_setpoint_low', 'lowest target temperature'],
    ['temperature_high', '_setpoint_high', 'highest target temperature'],
  ] as const) {
    const t = topicOf(c, `${key}_state_topic`)
    if (t != null) {
      drafts.push(
        sensor(suffix, {
          title: `${ctx.title} ${what}`,
          kind: 'temperature',
          topic: t,
          value: templateOf(c, `${key}_state_template`),
          unit,
          schema: { type: 'number' },
        }),
      )
    }
  }
  return drafts
}
