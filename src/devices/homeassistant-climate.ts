/** The parts of Home Assistant's climate (thermostat) and fan components. */
import { refuse } from './refusal.ts'
import {
  text,
  numberOf,
  payloadOf,
  topicOf,
  templateOf,
  stateExpression,
  equals,
} from './homeassistant-config.ts'
import {
  object,
  action,
  sensor,
  confirm,
  commandPayload,
  entityOnOff,
  onOff,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'

export function climateParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const fahrenheit = text(c, 'temperature_unit') === 'F'
  const unit = fahrenheit ? '°F' : '°C'
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
  const temperature = topicOf(c, 'temperature_command_topic')
  const temperatureState = topicOf(c, 'temperature_state_topic')
  if (temperature != null) {
    const e = stateExpression(templateOf(c, 'temperature_state_template'))
    drafts.push(
      action(ctx, '_temperature', {
        title: `${ctx.title} target temperature`,
        description: `Sets the target temperature of ${ctx.title} in ${unit}.`,
        input: object(
          {
            temperature: {
              type: 'number',
              minimum: numberOf(c, 'min_temp', fahrenheit ? 45 : 7),
              maximum: numberOf(c, 'max_temp', fahrenheit ? 95 : 35),
            },
          },
          ['temperature'],
        ),
        commandTopic: temperature,
        payload: commandPayload(
          templateOf(c, 'temperature_command_template'),
          { value: '(input.temperature | float)' },
          'temperature_command_template',
        ),
        confirm: confirm(
          temperatureState,
          e && `{{ ((${e}) | float(none)) == (input.temperature | float) }}`,
          ctx,
        ),
      }),
    )
  }
  if (temperatureState != null) {
    drafts.push(
      sensor('_setpoint', {
        title: `${ctx.title} target temperature`,
        kind: 'temperature',
        topic: temperatureState,
        value: templateOf(c, 'temperature_state_template'),
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  const mode = topicOf(c, 'mode_command_topic')
  const modeState = topicOf(c, 'mode_state_topic')
  if (mode != null) {
    const modes = strings(c.modes) ?? ['auto', 'off', 'cool', 'heat', 'dry', 'fan_only']
    const e = stateExpression(templateOf(c, 'mode_state_template'))
    drafts.push(
      action(ctx, '_mode', {
        title: `${ctx.title} mode`,
        description: `Sets the HVAC mode of ${ctx.title}.`,
        input: object({ mode: { type: 'string', enum: modes } }, ['mode']),
        commandTopic: mode,
        payload: commandPayload(
          templateOf(c, 'mode_command_template'),
          { value: 'input.mode' },
          'mode_command_template',
        ),
        confirm: confirm(modeState, e && `{{ ${equals(e, 'input.mode')} }}`, ctx),
      }),
    )
  }
  if (modeState != null) {
    drafts.push(
      sensor('_mode_state', {
        title: `${ctx.title} mode`,
        kind: 'mode',
        topic: modeState,
        value: templateOf(c, 'mode_state_template'),
      }),
    )
  }
  const current = topicOf(c, 'current_temperature_topic')
  if (current != null) {
    drafts.push(
      sensor('_current', {
        title: `${ctx.title} temperature`,
        kind: 'temperature',
        topic: current,
        value: templateOf(c, 'current_temperature_template'),
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  if (drafts.length === 0)
    refuse('missing_field', 'a climate entity needs at least one command or state topic')
  return drafts
}

export function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const list = value
    .filter((v): v is string => typeof v === 'string' && v !== '' && v.length <= 256)
    .slice(0, 256)
  return list.length > 0 ? [...new Set(list)] : undefined
}

export function fanParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts = entityOnOff(ctx, {
    command: topicOf(c, 'command_topic', true),
    template: templateOf(c, 'command_template'),
    stateTemplate: 'state_value_template',
    stateWords: false,
  })
  const percentage = topicOf(c, 'percentage_command_topic')
  if (percentage != null) {
    const min = numberOf(c, 'speed_range_min', 1)
    const max = numberOf(c, 'speed_range_max', 100)
    const value =
      min === 1 && max === 100
        ? 'input.percentage'
        : `((input.percentage * ${max - min + 1} / 100) | round(0, 'ceil'))`
    const e = stateExpression(templateOf(c, 'percentage_value_template'))
    drafts.push(
      action(ctx, '_percentage', {
        title: `${ctx.title} speed`,
        description: `Sets the speed of ${ctx.title} in percent.`,
        input: object({ percentage: { type: 'integer', minimum: 1, maximum: 100 } }, ['percentage']),
        commandTopic: percentage,
        payload: commandPayload(
          templateOf(c, 'percentage_command_template'),
          { value },
          'percentage_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'percentage_state_topic'),
          e && `{{ ((${e}) | int(-1)) == ${value} }}`,
          ctx,
        ),
      }),
    )
  }
  const preset = topicOf(c, 'preset_mode_command_topic')
  const presets = strings(c.preset_modes)
  if (preset != null && presets != null) {
    const e = stateExpression(templateOf(c, 'preset_mode_value_template'))
    drafts.push(
      action(ctx, '_preset', {
        title: `${ctx.title} preset`,
        description: `Sets the preset mode of ${ctx.title}.`,
        input: object({ preset: { type: 'string', enum: presets } }, ['preset']),
        commandTopic: preset,
        payload: commandPayload(
          templateOf(c, 'preset_mode_command_template'),
          { value: 'input.preset' },
          'preset_mode_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'preset_mode_state_topic'),
          e && `{{ ${equals(e, 'input.preset')} }}`,
          ctx,
        ),
      }),
    )
  }
  return drafts
}
