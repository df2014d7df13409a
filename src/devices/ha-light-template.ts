/** Home Assistant's `template` light schema: the command templates bound to the action's input. */
import { substituteVariables } from './template-builders.ts'
import { unmapped } from './ha-unmapped.ts'
import type { JsonSchema } from './types.ts'
import { refuse } from './refusal.ts'
import { checked, equals, stateExpression, templateOf, topicOf } from './homeassistant-config.ts'
import { action, confirm, object, sensor, type Ctx, type Draft } from './homeassistant-parts.ts'
import { BRIGHTNESS, colorInput, colorTemp, CT_GIVEN, effectInput } from './ha-light-shared.ts'

/**
 * The template schema: the command templates see Home Assistant's variables (`state`, `brightness`,
 * `color_temp`, `red`/`green`/`blue`, `hue`/`sat`, `effect`), bound to the validated input.
 */
export function templateLightParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const onTemplate =
    templateOf(c, 'command_on_template') ?? refuse('missing_field', '"command_on_template" is required')
  const offTemplate =
    templateOf(c, 'command_off_template') ?? refuse('missing_field', '"command_off_template" is required')
  const ct = templateOf(c, 'color_temp_template') != null ? colorTemp(c) : undefined
  const rgb =
    templateOf(c, 'red_template') != null &&
    templateOf(c, 'green_template') != null &&
    templateOf(c, 'blue_template') != null
  const effects = effectInput(c)
  if (rgb)
    unmapped(
      c,
      'red_template',
      'partly',
      'a colour given as {h, s} fills hue/sat only, as {r, g, b} red/green/blue only',
    )
  const variables: Record<string, string> = { state: "'on'", brightness: 'input.brightness' }
  // undefined when not given (the else branch), as Home Assistant leaves the variable out
  if (ct != null) variables.color_temp = `(${ct.value} if ${CT_GIVEN} else input.color_temp_kelvin)`
  if (rgb)
    Object.assign(variables, {
      red: 'input.color.r',
      green: 'input.color.g',
      blue: 'input.color.b',
      hue: 'input.color.h',
      sat: 'input.color.s',
    })
  if (effects != null) variables.effect = 'input.effect'
  // transition (a float, as the service coerces it) and flash reach both templates, as schema_template.py
  const timing = {
    transition: '((input.transition | float) if input.transition is defined else input.transition)',
    flash: 'input.flash',
  }
  const on = substituteVariables(onTemplate, { ...variables, ...timing })
  const off = substituteVariables(offTemplate, { state: "'off'", ...timing })
  const input: Record<string, JsonSchema> = { on: { type: 'boolean' }, brightness: BRIGHTNESS }
  if (ct != null) Object.assign(input, ct.input)
  if (rgb) input.color = colorInput(['rgb', 'hs'])
  if (effects != null) input.effect = effects
  input.transition = { type: 'number', minimum: 0, maximum: 6553, description: 'seconds to fade over' }
  input.flash = { type: 'string', enum: ['short', 'long'], description: 'flash the light' }
  const e = stateExpression(templateOf(c, 'state_template'))
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Turns ${ctx.title} on or off, optionally setting ${Object.keys(input).slice(1).join(', ')}.`,
      input: object(input, ['on']),
      commandTopic: command,
      payload: checked(`{% if input.on %}${on}{% else %}${off}{% endif %}`, 'command templates'),
      confirm: confirm(state, e && `{{ ${equals(e, "('on' if input.on else 'off')")} }}`, ctx),
    }),
  ]
  if (state == null) return drafts
  const reading = (suffix: string, key: string, title: string, kind: string, schema?: JsonSchema) => {
    const template = templateOf(c, key)
    if (template != null)
      drafts.push(
        sensor(suffix, { title: `${ctx.title} ${title}`, kind, topic: state, value: template, schema }),
      )
  }
  reading('_state', 'state_template', 'state', 'state')
  reading('_brightness_state', 'brightness_template', 'brightness', 'brightness', { type: 'integer' })
  reading('_color_temp_state', 'color_temp_template', 'colour temperature', 'color_temp', { type: 'integer' })
  reading('_effect_state', 'effect_template', 'effect', 'effect')
  return drafts
}
