/**
 * Home Assistant's `default` (basic) light schema: one topic per attribute. A `light.turn_on` call publishes,
 * in this order (schema_basic.py `async_turn_on`): `payload_on` first (on_command_type `first`), hs, rgb, rgbw,
 * rgbww, xy, brightness (or, without a brightness topic, the last rgb colour at that brightness), colour
 * temperature, effect, white, and `payload_on` last (on_command_type `last`, the default). With on_command_type
 * `brightness` nothing goes to command_topic on turning on: the brightness does it (Tasmota's `Dimmer`).
 *
 * The `<light>` action carries the whole sequence as {@link ActionSpec.messages}; its plain on/off command
 * stays its `commandTopic`/`payload`. `<light>_brightness` (brightness alone) is kept for callers that use it.
 */
import { unmapped } from './ha-unmapped.ts'
import type { ActionSpec, JsonSchema } from './types.ts'
import {
  numberOf,
  payloadOf,
  readingTemplateOf,
  stateExpression,
  templateOf,
  text,
  topicOf,
  type Config,
} from './homeassistant-config.ts'
import {
  action,
  commandPayload,
  confirm,
  entityOnOff,
  object,
  sensor,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'
import {
  BRIGHTNESS,
  colorInput,
  colorIs,
  colorTemp,
  CT_GIVEN,
  effectInput,
  noteFlash,
  scaled,
  type ColorForm,
} from './ha-light-shared.ts'

const ON_COMMAND_TYPES = ['last', 'first', 'brightness']
type Message = NonNullable<ActionSpec['messages']>[number]

/** A message sent only on turning on, when `condition` holds. */
function onlyOn(topic: string, condition: string, payload: string): Message {
  return {
    topic,
    payload: `{% if input.on${condition === '' ? '' : ` and ${condition}`} %}${payload}{% endif %}`,
  }
}

/** The payload of one colour topic: "r,g,b"-style text through the topic's command template. */
function rgbxPayload(c: Config, form: 'rgb' | 'rgbw' | 'rgbww', channels: string[]): string {
  const names = {
    rgb: ['red', 'green', 'blue'],
    rgbw: ['red', 'green', 'blue', 'white'],
    rgbww: ['red', 'green', 'blue', 'cold_white', 'warm_white'],
  }[form]
  const variables: Record<string, string> = { value: channels.map((ch) => `(${ch})`).join(" ~ ',' ~ ") }
  names.forEach((name, i) => (variables[name] = channels[i] as string))
  return commandPayload(templateOf(c, `${form}_command_template`), variables, `${form}_command_template`)
}

export function basicLightParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const scale = numberOf(c, 'brightness_scale', 255)
  let onType = text(c, 'on_command_type') ?? 'last'
  if (!ON_COMMAND_TYPES.includes(onType)) {
    unmapped(
      c,
      'on_command_type',
      'bad_value',
      `"${onType.slice(0, 20)}" is not first, last or brightness; last is used`,
    )
    onType = 'last'
  }
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  const topic = (key: string) => topicOf(c, key)
  const bri = topic('brightness_command_topic')
  const colorTopics = (['hs', 'rgb', 'rgbw', 'rgbww', 'xy'] as const).flatMap((f) => {
    const t = topic(`${f}_command_topic`)
    return t == null ? [] : [[f, t] as [ColorForm, string]]
  })
  const ctTopic = topic('color_temp_command_topic')
  const ct = ctTopic != null ? colorTemp(c) : undefined
  const effectTopic = topic('effect_command_topic')
  const effects = effectTopic != null ? effectInput(c) : undefined
  const whiteTopic = topic('white_command_topic')
  noteFlash(c)

  const drafts = entityOnOff(ctx, {
    command,
    state,
    stateTemplate: 'state_value_template',
    stateWords: false,
  })
  const input: Record<string, JsonSchema> = {}
  const dimmable = bri != null || colorTopics.some(([f]) => f.startsWith('rgb'))
  if (dimmable) input.brightness = BRIGHTNESS
  if (colorTopics.length > 0) input.color = colorInput(colorTopics.map(([f]) => f))
  if (ct != null) Object.assign(input, ct.input)
  if (effects != null) input.effect = effects
  if (whiteTopic != null)
    input.white = { ...BRIGHTNESS, description: 'white level from 1 to 255 (white mode)' }

  // with on_command_type brightness, turning on without a brightness sends the full one (Home Assistant sends
  // the last brightness it knew; kith keeps no light state between calls)
  const briGiven = onType === 'brightness' ? 'input.white is undefined' : 'input.brightness is defined'
  const briValue = '(input.brightness if input.brightness is defined else 255)'
  if (onType === 'brightness' && bri != null) {
    unmapped(
      c,
      'on_command_type',
      'partly',
      'turning on without a brightness sends 255 (Home Assistant: the last brightness)',
    )
  }
  const messages: Message[] = []
  if (onType === 'first') {
    messages.push({ topic: command, payload: `{% if input.on %}${on}{% else %}${off}{% endif %}` })
  }
  // rgb values are scaled by the brightness unless a brightness topic carries it
  const rgbBrightness = bri != null ? '255' : briValue
  for (const [form, t] of colorTopics) {
    let payload: string
    if (form === 'hs') {
      const [h, s] = ['(input.color.h | float)', '(input.color.s | float)']
      payload = commandPayload(
        templateOf(c, 'hs_command_template'),
        { value: `${h} ~ ',' ~ ${s}`, hue: h, sat: s },
        'hs_command_template',
      )
    } else if (form === 'xy') {
      const [x, y] = ['(input.color.x | float)', '(input.color.y | float)']
      payload = commandPayload(
        templateOf(c, 'xy_command_template'),
        { value: `${x} ~ ',' ~ ${y}`, x, y },
        'xy_command_template',
      )
    } else {
      const keys = { rgb: ['r', 'g', 'b'], rgbw: ['r', 'g', 'b', 'w'], rgbww: ['r', 'g', 'b', 'c', 'w'] }[
        form
      ]
      payload = rgbxPayload(
        c,
        form,
        keys.map((k) => `((input.color.${k} * ${rgbBrightness} / 255) | int)`),
      )
    }
    messages.push(onlyOn(t, colorIs(form), payload))
  }
  if (bri != null) {
    const value = scaled(briValue, scale)
    messages.push(
      onlyOn(
        bri,
        briGiven,
        commandPayload(
          templateOf(c, 'brightness_command_template'),
          { value },
          'brightness_command_template',
        ),
      ),
    )
  } else {
    // a brightness without a brightness topic goes to the first rgb topic as white at that level
    const rgbx = colorTopics.find(([f]) => f.startsWith('rgb'))
    if (rgbx != null) {
      const [form, t] = rgbx as ['rgb' | 'rgbw' | 'rgbww', string]
      const n = { rgb: 3, rgbw: 4, rgbww: 5 }[form]
      messages.push(
        onlyOn(
          t,
          `${briGiven} and not (${colorIs(form)})`,
          rgbxPayload(c, form, Array(n).fill(`((255 * ${briValue} / 255) | int)`)),
        ),
      )
      unmapped(
        c,
        `${form}_command_topic`,
        'partly',
        'a brightness alone is sent as white at that level (Home Assistant scales the last colour)',
      )
    }
  }
  if (ctTopic != null && ct != null) {
    messages.push(
      onlyOn(
        ctTopic,
        CT_GIVEN,
        commandPayload(
          templateOf(c, 'color_temp_command_template'),
          { value: ct.value },
          'color_temp_command_template',
        ),
      ),
    )
  }
  if (effectTopic != null && effects != null) {
    messages.push(
      onlyOn(
        effectTopic,
        'input.effect is defined',
        commandPayload(
          templateOf(c, 'effect_command_template'),
          { value: 'input.effect' },
          'effect_command_template',
        ),
      ),
    )
  }
  if (whiteTopic != null) {
    messages.push(
      onlyOn(
        whiteTopic,
        'input.white is defined',
        `{{ ${scaled('input.white', numberOf(c, 'white_scale', 255))} }}`,
      ),
    )
  }
  if (onType === 'last')
    messages.push({ topic: command, payload: `{% if input.on %}${on}{% else %}${off}{% endif %}` })
  else if (onType === 'brightness') messages.push(onlyOff(command, off))

  const main = drafts[0]
  if (main != null && 'action' in main && (messages.length > 1 || onType === 'brightness')) {
    main.action.input = object(
      { ...(main.action.input.properties as Record<string, JsonSchema>), ...input },
      ['on'],
    )
    main.action.messages = messages
    if (Object.keys(input).length > 0)
      main.action.description = `Turns ${ctx.title} on or off, optionally setting ${Object.keys(input).join(', ')}.`
  }
  if (bri != null) {
    const e = briExpression(c)
    const value = scaled('input.brightness', scale)
    drafts.push(
      action(ctx, '_brightness', {
        title: `${ctx.title} brightness`,
        description: `Sets the brightness of ${ctx.title}.`,
        input: object({ brightness: BRIGHTNESS }, ['brightness']),
        commandTopic: bri,
        payload: commandPayload(
          templateOf(c, 'brightness_command_template'),
          { value },
          'brightness_command_template',
        ),
        confirm: confirm(topic('brightness_state_topic'), e && `{{ ((${e}) | int(-1)) == ${value} }}`, ctx),
      }),
    )
  }
  drafts.push(...stateSensors(ctx, scale, ct?.unit))
  return drafts
}

/** The brightness state as one expression, or undefined when its template is not one (or beyond the subset). */
function briExpression(c: Config): string | undefined {
  const { ok, template } = readingTemplateOf(c, 'brightness_value_template')
  return ok ? stateExpression(template) : undefined
}

function onlyOff(topic: string, off: string): Message {
  return { topic, payload: `{% if not input.on %}${off}{% endif %}` }
}

/** The readings of the basic schema's state topics, brightness on Home Assistant's 0..255 scale. */
function stateSensors(ctx: Ctx, scale: number, ctUnit: string | undefined): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const read = (
    suffix: string,
    key: string,
    title: string,
    kind: string,
    extra: { value?: string; unit?: string; schema?: JsonSchema } = {},
  ) => {
    const t = topicOf(c, `${key}_state_topic`)
    // a state template beyond the subset (Tasmota's hs_value_template splits and joins) loses only this reading
    const { ok, template } = readingTemplateOf(c, `${key}_value_template`)
    if (t == null || !ok) return
    drafts.push(sensor(suffix, { title: `${ctx.title} ${title}`, kind, topic: t, value: template, ...extra }))
  }
  const e = briExpression(c)
  const level =
    scale === 255 || e == null
      ? undefined
      : `{% if (${e}) | float(0) > 0 %}{{ ((${e}) | float / ${scale} * 255) | round(0) | int }}{% endif %}`
  read('_brightness_state', 'brightness', 'brightness', 'brightness', {
    ...(level != null ? { value: level } : {}),
    schema: { type: 'number' },
  })
  read('_color_temp_state', 'color_temp', 'colour temperature', 'color_temp', {
    unit: ctUnit,
    schema: { type: 'number' },
  })
  for (const form of ['hs', 'xy', 'rgb', 'rgbw', 'rgbww'])
    read(`_${form}_state`, form, `colour (${form})`, 'color')
  read('_effect_state', 'effect', 'effect', 'effect')
  read('_color_mode_state', 'color_mode', 'colour mode', 'color_mode')
  return drafts
}
