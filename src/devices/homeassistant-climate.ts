/**
 * The parts of Home Assistant's fan component (homeassistant/components/mqtt/fan.py): on/off, percentage,
 * preset, oscillation and direction; climate (thermostat) is in ha-climate.ts.
 */
import {
  numberOf,
  payloadOf,
  topicOf,
  templateOf,
  stateExpression,
  equals,
  strings,
} from './homeassistant-config.ts'
import {
  object,
  action,
  confirm,
  commandPayload,
  entityOnOff,
  onOff,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'

export { climateParts } from './ha-climate.ts'
export { strings } from './homeassistant-config.ts'

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
  const oscillation = topicOf(c, 'oscillation_command_topic')
  if (oscillation != null) {
    // fan.py async_oscillate: payload_oscillation_on/off through oscillation_command_template
    const on = payloadOf(c, 'payload_oscillation_on', 'oscillate_on')
    const off = payloadOf(c, 'payload_oscillation_off', 'oscillate_off')
    drafts.push(
      ...onOff(ctx, {
        suffix: '_oscillation',
        title: `${ctx.title} oscillation`,
        description: `Turns the oscillation of ${ctx.title} on or off.`,
        command: oscillation,
        on,
        off,
        template: templateOf(c, 'oscillation_command_template'),
        state: topicOf(c, 'oscillation_state_topic'),
        stateTemplate: templateOf(c, 'oscillation_value_template'),
        stateOn: on,
        stateOff: off,
      }),
    )
  }
  const direction = topicOf(c, 'direction_command_topic')
  if (direction != null) {
    // fan.py async_set_direction: the word (forward/reverse) through direction_command_template
    const e = stateExpression(templateOf(c, 'direction_value_template'))
    drafts.push(
      action(ctx, '_direction', {
        title: `${ctx.title} direction`,
        description: `Sets the direction of ${ctx.title}.`,
        input: object({ direction: { type: 'string', enum: ['forward', 'reverse'] } }, ['direction']),
        commandTopic: direction,
        payload: commandPayload(
          templateOf(c, 'direction_command_template'),
          { value: 'input.direction' },
          'direction_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'direction_state_topic'),
          e && `{{ ${equals(e, 'input.direction')} }}`,
          ctx,
        ),
      }),
    )
  }
  return drafts
}
