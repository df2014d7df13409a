/**
 * Home Assistant's `json` light schema: one JSON command body per call, built as schema_json.py's
 * `async_turn_on` builds it (keys state, color, brightness, color_temp, effect, white, in that order), and
 * sensors for the state message's brightness, colour temperature, colour and effect.
 */
import { MAX_TEMPLATE_LENGTH } from './template-types.ts'
import { unmapped } from './ha-unmapped.ts'
import type { JsonSchema } from './types.ts'
import { boolOf, checked, numberOf, strings, topicOf } from './homeassistant-config.ts'
import { action, confirm, object, sensor, type Ctx, type Draft } from './homeassistant-parts.ts'
import {
  BRIGHTNESS,
  colorInput,
  colorTemp,
  CT_GIVEN,
  effectInput,
  scaled,
  scaledWhite,
  tight,
} from './ha-light-shared.ts'

/** A state reading of a field of a JSON state message, or nothing when the message lacks it. */
function field(name: string, expression = `value_json.${name}`): string {
  return `{% if value_json.${name} is defined %}{{ ${expression} }}{% endif %}`
}

const JSON_MODES = ['onoff', 'brightness', 'color_temp', 'hs', 'xy', 'rgb', 'rgbw', 'rgbww', 'white'] as const

export function jsonLightParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const scale = numberOf(c, 'brightness_scale', 255)
  const modes = new Set(
    strings(c.supported_color_modes)?.filter((m) => (JSON_MODES as readonly string[]).includes(m)),
  )
  // `brightness: true` says the device applies brightness itself, so colours go unscaled (_scale_rgbxx); the
  // colour modes say whether a brightness is sent (brightness_supported), and so does the flag alone, as
  // Home Assistant did before supported_color_modes
  const brightnessFlag = boolOf(c, 'brightness', false)
  const dimmable = brightnessFlag || [...modes].some((m) => m !== 'onoff')
  const forms = (['xy', 'hs', 'rgb', 'rgbw', 'rgbww'] as const).filter((f) => modes.has(f))
  const ct = modes.has('color_temp') ? colorTemp(c) : undefined
  const effects = boolOf(c, 'effect', false) ? effectInput(c) : undefined
  const white = modes.has('white') ? numberOf(c, 'white_scale', 255) : undefined
  const short = numberOf(c, 'flash_time_short', 2)
  const long = numberOf(c, 'flash_time_long', 10)

  const bri = scaled('input.brightness', scale)
  const build = (scaleRgb: boolean, extras: boolean): string => {
    // without `brightness: true`, an rgb colour carries the brightness, which is then left out (_scale_rgbxx)
    const ch = (k: string) =>
      scaleRgb
        ? `{{ (input.color.${k} / 255 * input.brightness | default(255)) | round }}`
        : `{{ input.color.${k} }}`
    const rgbForms = forms.filter((f) => f.startsWith('rgb'))
    const rgbGiven = rgbForms.length > 0 && scaleRgb ? " and 'r' not in input.color | default({})" : ''
    // key order as schema_json.py builds the message: state, color, brightness, color_temp, effect, white; the
    // input's schema allows only the light's own forms, so the keys tell which one was given
    const shapes: string[] = []
    if (forms.includes('hs'))
      shapes.push(`'h' in input.color %}{"h":{{ input.color.h | float }},"s":{{ input.color.s | float }}}`)
    if (forms.includes('xy'))
      shapes.push(`'x' in input.color %}{"x":{{ input.color.x | float }},"y":{{ input.color.y | float }}}`)
    if (rgbForms.length > 0) {
      let rgb = `{"r":${ch('r')},"g":${ch('g')},"b":${ch('b')}`
      if (forms.includes('rgbww')) rgb += `{% if 'c' in input.color %},"c":${ch('c')}{% endif %}`
      if (forms.includes('rgbw') || forms.includes('rgbww'))
        rgb += `{% if 'w' in input.color %},"w":${ch('w')}{% endif %}`
      shapes.push(`true %}${rgb}}`)
    }
    let on = '{"state":"ON"'
    if (shapes.length > 0) {
      const chain = shapes.map((shape, i) => `{% ${i === 0 ? 'if' : 'elif'} ${shape}`).join('')
      on += `{% if input.color is defined %},"color":${chain}{% endif %}{% endif %}`
    }
    // _set_flash_and_transition: after the colour, on turning on and off alike
    const timing = extras
      ? '{% if input.transition is defined %},"transition":{{ input.transition | float }}{% endif %}' +
        `{% if input.flash is defined %},"flash":{{ ${short} if input.flash == 'short' else ${long} }}{% endif %}`
      : ''
    on += timing
    // a white level given with a brightness takes the brightness as the level (the light service does)
    const whiteGiven = white != null ? ' and input.white is undefined' : ''
    if (dimmable)
      on += `{% if input.brightness is defined${rgbGiven}${whiteGiven} %},"brightness":{{ ${bri} }}{% endif %}`
    if (ct != null) on += `{% if ${CT_GIVEN} %},"color_temp":{{ ${ct.value} }}{% endif %}`
    if (effects != null)
      on += '{% if input.effect is defined %},"effect":{{ input.effect | tojson }}{% endif %}'
    if (white != null) {
      const level = scaledWhite('input.brightness | default(input.white)', white)
      on += `{% if input.white is defined %},"white":{{ ${level} }}{% endif %}`
    }
    return tight(`{% if input.on %}${on}}{% else %}{"state":"OFF"${timing}}{% endif %}`)
  }
  // every mode at once may not fit the engine's limit: transitions and flashes go first, then the rgb scaling
  const scaleRgb = !brightnessFlag && forms.some((f) => f.startsWith('rgb'))
  let extras = true
  let payload = build(scaleRgb, true)
  if (payload.length > MAX_TEMPLATE_LENGTH) {
    extras = false
    payload = build(scaleRgb, false)
    unmapped(c, 'supported_color_modes', 'partly', 'with every mode at once, no transition or flash is sent')
  }
  if (scaleRgb && payload.length > MAX_TEMPLATE_LENGTH) {
    payload = build(false, false)
    unmapped(
      c,
      'brightness',
      'partly',
      'a colour given with a brightness is sent unscaled (every mode at once)',
    )
  }

  const input: Record<string, JsonSchema> = {
    on: { type: 'boolean', description: 'true to turn on, false to turn off' },
  }
  if (dimmable) input.brightness = BRIGHTNESS
  if (ct != null) Object.assign(input, ct.input)
  if (forms.length > 0) input.color = colorInput(forms)
  if (effects != null) input.effect = effects
  if (white != null) input.white = { ...BRIGHTNESS, description: 'white level from 1 to 255 (white mode)' }
  if (extras) {
    input.transition = { type: 'number', minimum: 0, maximum: 6553, description: 'seconds to fade over' }
    input.flash = { type: 'string', enum: ['short', 'long'], description: 'flash the light' }
  }
  const when = dimmable
    ? `{{ value_json.state == ('ON' if input.on else 'OFF') and (not input.on or input.brightness is undefined or value_json.brightness == ${bri}) }}`
    : `{{ value_json.state == ('ON' if input.on else 'OFF') }}`
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Turns ${ctx.title} on or off${Object.keys(input).length > 1 ? `, optionally setting ${Object.keys(input).slice(1).join(', ')}` : ''}.`,
      input: object(input, ['on']),
      commandTopic: command,
      payload: checked(payload, 'light payload'),
      confirm: confirm(state, when, ctx),
    }),
  ]
  if (state == null) return drafts
  drafts.push(
    sensor('_state', {
      title: `${ctx.title} state`,
      kind: 'state',
      topic: state,
      value: "{% if value_json.state == 'ON' %}true{% elif value_json.state == 'OFF' %}false{% endif %}",
      schema: { type: 'boolean' },
    }),
  )
  if (dimmable) {
    const level =
      scale === 255
        ? 'value_json.brightness'
        : `((value_json.brightness | float) / ${scale} * 255) | round(0) | int`
    drafts.push(
      sensor('_brightness_state', {
        title: `${ctx.title} brightness`,
        kind: 'brightness',
        topic: state,
        value: field('brightness', level),
        schema: { type: 'integer' },
      }),
    )
  }
  if (ct != null) {
    drafts.push(
      sensor('_color_temp_state', {
        title: `${ctx.title} colour temperature`,
        kind: 'color_temp',
        topic: state,
        value: field('color_temp'),
        unit: ct.unit,
        schema: { type: 'integer' },
      }),
    )
  }
  if (forms.length > 0) {
    drafts.push(
      sensor('_color_state', {
        title: `${ctx.title} colour`,
        kind: 'color',
        topic: state,
        value: field('color', 'value_json.color | tojson'),
      }),
    )
  }
  if (effects != null) {
    drafts.push(
      sensor('_effect_state', {
        title: `${ctx.title} effect`,
        kind: 'effect',
        topic: state,
        value: field('effect'),
      }),
    )
  }
  return drafts
}
