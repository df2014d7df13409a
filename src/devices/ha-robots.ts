/**
 * Home Assistant's lawn mower and vacuum (state schema) components: robots commanded by a word and
 * confirmed by the activity or state they report next.
 */
import { refuse } from './refusal.ts'
import { lit, payloadOf, templateOf, topicOf, stateExpression } from './homeassistant-config.ts'
import { strings } from './homeassistant-climate.ts'
import {
  action,
  commandPayload,
  confirm,
  object,
  sensor,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'
import { unmapped } from './ha-unmapped.ts'

const MOWER: [suffix: string, key: string, word: string, states: string[]][] = [
  ['_start', 'start_mowing', 'start_mowing', ['mowing']],
  ['_pause', 'pause', 'pause', ['paused']],
  ['_dock', 'dock', 'dock', ['docked', 'returning']],
]

/**
 * Lawn mower: each of start mowing, pause and dock has its own command topic; Home Assistant publishes the
 * command's name (`start_mowing`, `pause`, `dock`) through that command's template.
 */
export function lawnMowerParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const activity = topicOf(c, 'activity_state_topic')
  const e = stateExpression(templateOf(c, 'activity_value_template'))
  const drafts: Draft[] = []
  for (const [suffix, key, word, states] of MOWER) {
    const topic = topicOf(c, `${key}_command_topic`)
    if (topic == null) continue
    drafts.push(
      action(ctx, suffix, {
        title: `${ctx.title}: ${word.replace('_', ' ')}`,
        description: `Tells ${ctx.title} to ${word.replace('_', ' ')}.`,
        input: object({}),
        commandTopic: topic,
        payload: commandPayload(
          templateOf(c, `${key}_command_template`),
          { value: lit(word) },
          `${key}_command_template`,
        ),
        confirm: confirm(activity, e && `{{ ((${e}) | string) in ${JSON.stringify(states)} }}`, ctx),
      }),
    )
  }
  if (activity != null)
    drafts.push(
      sensor('_activity', {
        title: `${ctx.title} activity`,
        kind: 'activity',
        topic: activity,
        value: templateOf(c, 'activity_value_template'),
      }),
    )
  if (drafts.length === 0)
    refuse('missing_field', 'a lawn mower needs a command topic or "activity_state_topic"')
  return drafts
}

const VACUUM: [feature: string, key: string, fallback: string, states: string[] | null][] = [
  ['start', 'payload_start', 'start', ['cleaning']],
  ['pause', 'payload_pause', 'pause', ['paused']],
  ['stop', 'payload_stop', 'stop', ['idle', 'docked', 'returning']],
  ['return_home', 'payload_return_to_base', 'return_to_base', ['returning', 'docked']],
  ['clean_spot', 'payload_clean_spot', 'clean_spot', ['cleaning']],
  ['locate', 'payload_locate', 'locate', null],
]
const DEFAULT_FEATURES = ['start', 'stop', 'return_home', 'status', 'battery', 'clean_spot']

/**
 * Vacuum (state schema): the supported commands as one action whose input names the command, each published
 * as its payload on `command_topic` and confirmed by the `state` of the JSON state; the fan speed on
 * `set_fan_speed_topic`; state, battery level and fan speed as readings.
 */
export function vacuumParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  if (c.schema === 'legacy')
    refuse('unsupported_component', 'the legacy vacuum schema was removed from Home Assistant')
  const features = strings(c.supported_features) ?? DEFAULT_FEATURES
  const state = topicOf(c, 'state_topic')
  const drafts: Draft[] = []
  const command = topicOf(c, 'command_topic')
  const available = VACUUM.filter(([feature]) => features.includes(feature))
  if (command != null && available.length > 0) {
    let choice = lit(payloadOf(c, available.at(-1)?.[1] as string, available.at(-1)?.[2] as string))
    for (const [feature, key, fallback] of available.slice(0, -1).reverse())
      choice = `${lit(payloadOf(c, key, fallback))} if input.command == '${feature}' else ${choice}`
    const when = available
      .map(
        ([feature, , , states]) =>
          `(input.command == '${feature}' and ${states == null ? 'true' : `((value_json.state | default('')) | string) in ${JSON.stringify(states)}`})`,
      )
      .join(' or ')
    drafts.push(
      action(ctx, '', {
        title: ctx.title,
        description: `Starts, pauses, stops or docks ${ctx.title}.`,
        input: object({ command: { type: 'string', enum: available.map(([feature]) => feature) } }, [
          'command',
        ]),
        commandTopic: command,
        payload: commandPayload(undefined, { value: `(${choice})` }, 'command_topic'),
        confirm: confirm(state, `{{ ${when} }}`, ctx),
      }),
    )
  }
  const fanTopic = topicOf(c, 'set_fan_speed_topic')
  const speeds = strings(c.fan_speed_list)
  if (fanTopic != null && speeds != null && features.includes('fan_speed'))
    drafts.push(
      action(ctx, '_fan_speed', {
        title: `${ctx.title} fan speed`,
        description: `Sets the suction of ${ctx.title}.`,
        input: object({ fan_speed: { type: 'string', enum: speeds } }, ['fan_speed']),
        commandTopic: fanTopic,
        payload: commandPayload(undefined, { value: 'input.fan_speed' }, 'set_fan_speed_topic'),
        confirm: confirm(
          state,
          "{{ (value_json.fan_speed | default('') | string) == input.fan_speed }}",
          ctx,
        ),
      }),
    )
  if (topicOf(c, 'send_command_topic') != null)
    unmapped(
      c,
      'send_command_topic',
      'not_supported',
      'free-form vacuum commands are not offered; use the named ones',
    )
  if (state != null) {
    drafts.push(
      sensor('_state', {
        title: `${ctx.title} state`,
        kind: 'state',
        topic: state,
        value: "{{ value_json.state | default('') }}",
      }),
    )
    if (features.includes('battery'))
      drafts.push(
        sensor('_battery', {
          title: `${ctx.title} battery`,
          kind: 'battery',
          topic: state,
          value: '{{ value_json.battery_level }}',
          unit: '%',
          schema: { type: 'number' },
        }),
      )
  }
  if (drafts.length === 0) refuse('missing_field', 'a vacuum needs "command_topic" or "state_topic"')
  return drafts
}
