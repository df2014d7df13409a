/** The parts of Home Assistant's fan component; climate (thermostat) is in ha-climate.ts. */
import { numberOf, topicOf, templateOf, stateExpression, equals, strings } from './homeassistant-config.ts'
import {
  object,
  action,
  confirm,
  commandPayload,
  entityOnOff,
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
  return drafts
}
