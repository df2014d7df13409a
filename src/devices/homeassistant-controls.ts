/**
 * The parts of Home Assistant's numbers, selects, buttons, alarm panels and sirens, and the table of every
 * component's builder ({@link BUILDERS}); covers and valves are in ha-covers.ts.
 */
import { refuse } from './refusal.ts'
import {
  text,
  numberOf,
  payloadOf,
  topicOf,
  templateOf,
  stateExpression,
  lit,
  type HaComponent,
} from './homeassistant-config.ts'
import {
  object,
  action,
  sensor,
  confirm,
  commandPayload,
  sensorParts,
  binarySensorParts,
  switchParts,
  lightParts,
  lockParts,
  stringSetter,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'
import { climateParts, strings, fanParts } from './homeassistant-climate.ts'
import { coverParts, valveParts } from './ha-covers.ts'
import { humidifierParts, waterHeaterParts } from './ha-appliances.ts'
import { lawnMowerParts, vacuumParts } from './ha-robots.ts'
import { eventParts, sceneParts, textParts } from './ha-simple.ts'
import { alarmParts, sirenParts } from './ha-alarms.ts'
import { unmapped } from './ha-unmapped.ts'

function numberParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  // Home Assistant's number service checks min and max only; step and mode shape its slider or box
  if ('step' in c) unmapped(c, 'step', 'display_only', 'Home Assistant does not refuse a value off the step')
  if ('mode' in c) unmapped(c, 'mode', 'display_only', 'slider or box in Home Assistant’s UI')
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const unit = text(c, 'unit_of_measurement')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Sets ${ctx.title}${unit != null ? ` (${unit})` : ''}.`,
      input: object(
        { value: { type: 'number', minimum: numberOf(c, 'min', 1), maximum: numberOf(c, 'max', 100) } },
        ['value'],
      ),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: 'input.value' },
        'command_template',
      ),
      confirm: confirm(state, e && `{{ ((${e}) | float(none)) == (input.value | float) }}`, ctx),
    }),
  ]
  if (state != null) {
    drafts.push(
      sensor('_state', {
        title: ctx.title,
        kind: text(c, 'device_class') ?? 'value',
        topic: state,
        value: stateTemplate,
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  return drafts
}

function selectParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const options = strings(c.options) ?? refuse('missing_field', 'a select needs "options"')
  return stringSetter(ctx, {
    field: 'option',
    schema: { type: 'string', enum: options },
    description: `Selects an option of ${ctx.title}.`,
    kind: 'state',
  })
}

function buttonParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  if (text(c, 'device_class') != null)
    unmapped(c, 'device_class', 'display_only', 'identify, restart or update: a press is a press')
  return [
    action(ctx, '', {
      title: ctx.title,
      description: `Presses ${ctx.title}.`,
      input: object({}),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: lit(payloadOf(c, 'payload_press', 'PRESS')) },
        'command_template',
      ),
    }),
  ]
}

export const BUILDERS: Record<HaComponent, (ctx: Ctx) => Draft[]> = {
  sensor: sensorParts,
  binary_sensor: binarySensorParts,
  switch: switchParts,
  light: lightParts,
  lock: lockParts,
  cover: coverParts,
  climate: climateParts,
  fan: fanParts,
  number: numberParts,
  select: selectParts,
  button: buttonParts,
  alarm_control_panel: alarmParts,
  siren: sirenParts,
  valve: valveParts,
  humidifier: humidifierParts,
  water_heater: waterHeaterParts,
  lawn_mower: lawnMowerParts,
  vacuum: vacuumParts,
  event: eventParts,
  text: textParts,
  scene: sceneParts,
}
