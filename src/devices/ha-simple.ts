/**
 * Home Assistant's scene, text and event components: a scene is one command with no state, a text sets a
 * string the device echoes back, an event is a stream of typed occurrences read as a sensor.
 */
import { refuse } from './refusal.ts'
import { numberOf, payloadOf, templateOf, text, topicOf, lit } from './homeassistant-config.ts'
import { strings } from './homeassistant-climate.ts'
import {
  action,
  commandPayload,
  object,
  sensor,
  stringSetter,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'
import { unmapped } from './ha-unmapped.ts'

/** Home Assistant refuses a text whose `max` exceeds the longest state it keeps (255 characters). */
const MAX_TEXT = 255

/** `scene.turn_on`: `payload_on` (default `ON`) on the command topic; a scene reports no state. */
export function sceneParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  return [
    action(ctx, '', {
      title: ctx.title,
      description: `Activates the scene ${ctx.title}.`,
      input: object({}),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(undefined, { value: lit(payloadOf(c, 'payload_on', 'ON')) }, 'payload_on'),
    }),
  ]
}

/**
 * `text.set_value`: the text through `command_template` on the command topic, confirmed when the state topic
 * echoes it. Length bounds are Home Assistant's `min`/`max` (default 0..255); `pattern` is a Python regular
 * expression kith does not evaluate, so the device's own check is what enforces it (counted as partly).
 */
export function textParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const min = Math.max(0, Math.floor(numberOf(c, 'min', 0)))
  const max = Math.floor(numberOf(c, 'max', MAX_TEXT))
  if (max > MAX_TEXT)
    refuse('bad_value', `a text's max (${max}) is over ${MAX_TEXT}, as Home Assistant refuses too`)
  if (max < min) refuse('bad_value', `a text's max (${max}) is below its min (${min})`)
  if (text(c, 'pattern') != null)
    unmapped(
      c,
      'pattern',
      'partly',
      'the pattern is a Python regular expression; kith checks only the length',
    )
  if (c.mode === 'password')
    unmapped(
      c,
      'mode',
      'partly',
      'a password text is set like any other; its value is not hidden from readers',
    )
  return stringSetter(ctx, {
    field: 'text',
    schema: { type: 'string', minLength: min, maxLength: max },
    description: `Sets the text of ${ctx.title}.`,
    kind: 'text',
  })
}

/**
 * An event entity: each message on the state topic is a JSON object whose `event_type` is one of
 * `event_types`; the sensor reads the last event type. A `value_template` renders that object as JSON text,
 * which the template subset cannot parse again, so such a config is refused with a counted reason.
 */
export function eventParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const types = strings(c.event_types) ?? refuse('missing_field', 'an event needs "event_types"')
  if (templateOf(c, 'value_template') != null)
    refuse(
      'bad_template',
      'an event value_template renders JSON text kith cannot read back; publish event_type JSON',
    )
  const value = '{{ value_json.event_type }}'
  return [
    sensor('', {
      title: ctx.title,
      kind: text(c, 'device_class') ?? 'event',
      topic: topicOf(c, 'state_topic', true),
      value,
      schema: { type: 'string', enum: types },
    }),
  ]
}
