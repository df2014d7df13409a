/**
 * Home Assistant's humidifier and water heater components: a power switch, a target (humidity or
 * temperature) and a mode, each on its own command topic as Home Assistant publishes them, plus the
 * readings they report (current humidity or temperature, action, mode).
 */
import { refuse } from './refusal.ts'
import {
  numberOf,
  templateOf,
  text,
  topicOf,
  stateExpression,
  equals,
  type Config,
} from './homeassistant-config.ts'
import { strings } from './homeassistant-climate.ts'
import {
  action,
  commandPayload,
  confirm,
  entityOnOff,
  object,
  powerOnOff,
  sensor,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'

/** A reading on `<key>_topic` through `<key>_template`, when the config has the topic. */
function reading(
  c: Config,
  suffix: string,
  key: string,
  spec: { title: string; kind: string; unit?: string; number?: boolean },
): Draft[] {
  const topic = topicOf(c, `${key}_topic`)
  if (topic == null) return []
  return [
    sensor(suffix, {
      title: spec.title,
      kind: spec.kind,
      topic,
      value: templateOf(c, `${key}_template`),
      unit: spec.unit,
      schema: spec.number === true ? { type: 'number' } : undefined,
    }),
  ]
}

/** `set_mode`-style action: one of `modes` published as it is (through the mode command template). */
function modeAction(
  ctx: Ctx,
  modes: string[],
  command: string,
  stateTopic: string | undefined,
  stateKey: string,
): Draft {
  const e = stateExpression(templateOf(ctx.c, stateKey))
  return action(ctx, '_mode', {
    title: `${ctx.title} mode`,
    description: `Sets the mode of ${ctx.title}.`,
    input: object({ mode: { type: 'string', enum: modes } }, ['mode']),
    commandTopic: command,
    payload: commandPayload(
      templateOf(ctx.c, 'mode_command_template'),
      { value: 'input.mode' },
      'mode_command_template',
    ),
    confirm: confirm(stateTopic, e && `{{ ${equals(e, 'input.mode')} }}`, ctx),
  })
}

/**
 * Humidifier: on/off on `command_topic`, `set_humidity` publishes the integer percentage on
 * `target_humidity_command_topic`, `set_mode` one of `modes` on `mode_command_topic`.
 */
export function humidifierParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts = entityOnOff(ctx, {
    command: topicOf(c, 'command_topic', true),
    template: templateOf(c, 'command_template'),
    stateTemplate: 'state_value_template',
    stateWords: false,
  })
  const target = topicOf(c, 'target_humidity_command_topic', true)
  const targetState = topicOf(c, 'target_humidity_state_topic')
  const e = stateExpression(templateOf(c, 'target_humidity_state_template'))
  drafts.push(
    action(ctx, '_humidity', {
      title: `${ctx.title} target humidity`,
      description: `Sets the humidity ${ctx.title} aims for, in %.`,
      input: object(
        {
          humidity: {
            type: 'integer',
            minimum: numberOf(c, 'min_humidity', 0),
            maximum: numberOf(c, 'max_humidity', 100),
          },
        },
        ['humidity'],
      ),
      commandTopic: target,
      payload: commandPayload(
        templateOf(c, 'target_humidity_command_template'),
        { value: 'input.humidity' },
        'target_humidity_command_template',
      ),
      confirm: confirm(targetState, e && `{{ ((${e}) | float(none)) == (input.humidity | float) }}`, ctx),
    }),
  )
  if (targetState != null)
    drafts.push(
      sensor('_target', {
        title: `${ctx.title} target humidity`,
        kind: 'humidity',
        topic: targetState,
        value: templateOf(c, 'target_humidity_state_template'),
        unit: '%',
        schema: { type: 'number' },
      }),
    )
  const modeCommand = topicOf(c, 'mode_command_topic')
  const modes = strings(c.modes)
  if (modeCommand != null && modes != null)
    drafts.push(modeAction(ctx, modes, modeCommand, topicOf(c, 'mode_state_topic'), 'mode_state_template'))
  else if (modeCommand != null)
    refuse('missing_field', 'a humidifier with "mode_command_topic" needs "modes"')
  drafts.push(
    ...reading(c, '_current', 'current_humidity', {
      title: `${ctx.title} humidity`,
      kind: 'humidity',
      unit: '%',
      number: true,
    }),
    ...reading(c, '_action', 'action', { title: `${ctx.title} action`, kind: 'action' }),
  )
  return drafts
}

const WATER_HEATER_MODES = ['off', 'eco', 'electric', 'gas', 'heat_pump', 'high_demand', 'performance']

/**
 * Water heater: `set_temperature` publishes the temperature as Home Assistant's float (`47.0`) on
 * `temperature_command_topic`, `set_operation_mode` one of `modes` on `mode_command_topic`, and on/off on
 * `power_command_topic`. Home Assistant's defaults are 110–140 °F, i.e. 43.3–60 °C.
 */
export function waterHeaterParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const fahrenheit = text(c, 'temperature_unit') === 'F'
  const unit = fahrenheit ? '°F' : '°C'
  const drafts: Draft[] = []
  drafts.push(...powerOnOff(ctx))
  const temperature = topicOf(c, 'temperature_command_topic')
  if (temperature != null) {
    const state = topicOf(c, 'temperature_state_topic')
    const e = stateExpression(templateOf(c, 'temperature_state_template'))
    drafts.push(
      action(ctx, '_temperature', {
        title: `${ctx.title} temperature`,
        description: `Sets the water temperature of ${ctx.title}, in ${unit}.`,
        input: object(
          {
            temperature: {
              type: 'number',
              minimum: numberOf(c, 'min_temp', fahrenheit ? 110 : 43.3),
              maximum: numberOf(c, 'max_temp', fahrenheit ? 140 : 60),
            },
          },
          ['temperature'],
        ),
        commandTopic: temperature,
        // Home Assistant's service schema coerces the temperature to a float, so 47 is published as 47.0
        payload: commandPayload(
          templateOf(c, 'temperature_command_template'),
          { value: '(input.temperature | float)' },
          'temperature_command_template',
        ),
        confirm: confirm(state, e && `{{ ((${e}) | float(none)) == (input.temperature | float) }}`, ctx),
      }),
    )
    if (state != null)
      drafts.push(
        sensor('_setpoint', {
          title: `${ctx.title} target temperature`,
          kind: 'temperature',
          topic: state,
          value: templateOf(c, 'temperature_state_template'),
          unit,
          schema: { type: 'number' },
        }),
      )
  }
  const modeCommand = topicOf(c, 'mode_command_topic')
  if (modeCommand != null)
    drafts.push(
      modeAction(
        ctx,
        strings(c.modes) ?? WATER_HEATER_MODES,
        modeCommand,
        topicOf(c, 'mode_state_topic'),
        'mode_state_template',
      ),
    )
  const modeState = topicOf(c, 'mode_state_topic')
  if (modeState != null)
    drafts.push(
      sensor('_mode_state', {
        title: `${ctx.title} mode`,
        kind: 'state',
        topic: modeState,
        value: templateOf(c, 'mode_state_template'),
      }),
    )
  drafts.push(
    ...reading(c, '_current', 'current_temperature', {
      title: `${ctx.title} temperature`,
      kind: 'temperature',
      unit,
      number: true,
    }),
  )
  if (drafts.length === 0)
    refuse('missing_field', 'a water heater needs a command topic (mode, temperature or power)')
  return drafts
}
