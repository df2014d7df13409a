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
import { numberOf, readingTemplateOf, strings, text, topicOf } from './homeassistant-config.ts'
import { powerOnOff, sensor, type Ctx, type Draft } from './homeassistant-parts.ts'
import { choice, setpoint, temperatureRange } from './ha-climate-parts.ts'

/** Home Assistant's HVACAction values, what `action_topic` reports. */
const HVAC_ACTIONS = ['off', 'preheating', 'defrosting', 'heating', 'cooling', 'drying', 'idle', 'fan']

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
  drafts.push(...powerOnOff(ctx))
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
