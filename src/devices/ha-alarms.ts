/**
 * Home Assistant's alarm control panels and sirens: a panel is armed, disarmed or triggered with one word
 * (or its command template), a siren sounds with an optional tone, duration and volume.
 */
import {
  payloadOf,
  topicOf,
  templateOf,
  stateExpression,
  lit,
  checked,
  boolOf,
} from './homeassistant-config.ts'
import {
  object,
  action,
  sensor,
  confirm,
  commandPayload,
  entityOnOff,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'
import { strings } from './homeassistant-climate.ts'
import { unmapped } from './ha-unmapped.ts'
import type { JsonSchema } from './types.ts'

const ALARM_ACTIONS: [string, string, string, string[]][] = [
  // [input action, payload key, default payload, states that confirm it]
  ['disarm', 'payload_disarm', 'DISARM', ['disarmed']],
  ['arm_home', 'payload_arm_home', 'ARM_HOME', ['armed_home', 'arming', 'pending']],
  ['arm_away', 'payload_arm_away', 'ARM_AWAY', ['armed_away', 'arming', 'pending']],
  ['arm_night', 'payload_arm_night', 'ARM_NIGHT', ['armed_night', 'arming', 'pending']],
  ['arm_vacation', 'payload_arm_vacation', 'ARM_VACATION', ['armed_vacation', 'arming', 'pending']],
  [
    'arm_custom_bypass',
    'payload_arm_custom_bypass',
    'ARM_CUSTOM_BYPASS',
    ['armed_custom_bypass', 'arming', 'pending'],
  ],
  ['trigger', 'payload_trigger', 'TRIGGER', ['triggered', 'pending']],
]

export function alarmParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const features = strings(c.supported_features)
  const available = ALARM_ACTIONS.filter(
    ([name]) => name === 'disarm' || features == null || features.includes(name),
  )
  let choice = lit(payloadOf(c, 'payload_disarm', 'DISARM'))
  for (const [name, key, fallback] of available.filter(([name]) => name !== 'disarm')) {
    choice = `${lit(payloadOf(c, key, fallback))} if input.action == '${name}' else ${choice}`
  }
  const remoteCode = c.code === 'REMOTE_CODE' || c.code === 'REMOTE_CODE_TEXT'
  // without `code` Home Assistant ignores these flags; with a fixed code it checks the code itself
  for (const key of ['code_arm_required', 'code_disarm_required', 'code_trigger_required'])
    if (key in c && c.code != null && !remoteCode)
      unmapped(
        c,
        key,
        'partly',
        'a fixed code is Home Assistant’s own check; kith sends no code (high risk guards it)',
      )
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const when =
    e &&
    `{{ ${available.map(([name, , , states]) => `(input.action == '${name}' and ((${e}) | string) in ${JSON.stringify(states)})`).join(' or ')} }}`
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Arms, disarms or triggers ${ctx.title}.`,
      input: object(
        {
          action: { type: 'string', enum: available.map(([name]) => name) },
          ...(remoteCode ? { code: { type: 'string', maxLength: 64 } } : {}),
        },
        ['action'],
      ),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template') ?? '{{ action }}',
        { action: `(${choice})`, code: 'input.code', value: `(${choice})` },
        'command_template',
      ),
      confirm: confirm(state, when, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'alarm', topic: state, value: stateTemplate }),
    )
  return drafts
}

/** The longest siren duration kith passes on, in seconds (a day). */
const MAX_SIREN_SECONDS = 86_400

/**
 * A siren, as Home Assistant's `siren.turn_on`/`turn_off`: with a `command_template` the payload is that
 * template over `value` (payload_on/off), `tone`, `duration` and `volume_level`; turning off uses
 * `command_off_template`, else `command_template`; without templates it is the JSON of the variables
 * (`{"state":"ON","tone":"ping"}`). Tone, duration and volume are inputs where the config supports them.
 */
export function sirenParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const template = templateOf(c, 'command_template')
  const offTemplate = templateOf(c, 'command_off_template') ?? template
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  const tones = strings(c.available_tones)
  const options: [string, JsonSchema][] = [
    ...(tones != null ? [['tone', { type: 'string', enum: tones }] as [string, JsonSchema]] : []),
    ...(boolOf(c, 'support_duration', true)
      ? [['duration', { type: 'integer', minimum: 0, maximum: MAX_SIREN_SECONDS }] as [string, JsonSchema]]
      : []),
    ...(boolOf(c, 'support_volume_set', true)
      ? [['volume_level', { type: 'number', minimum: 0, maximum: 1 }] as [string, JsonSchema]]
      : []),
  ]
  const variables = Object.fromEntries(options.map(([name]) => [name, `input.${name}`]))
  const json = (state: string) =>
    `{"state":{{ ${lit(state)} | tojson }}${options.map(([name]) => `{% if input.${name} is defined %},"${name}":{{ input.${name} | tojson }}{% endif %}`).join('')}}`
  const onPayload =
    template == null
      ? json(on)
      : commandPayload(template, { ...variables, value: lit(on), state: lit(on) }, 'command_template')
  const offPayload =
    offTemplate == null
      ? '{"state":{{ ' + lit(off) + ' | tojson }}}'
      : commandPayload(offTemplate, { value: lit(off), state: lit(off) }, 'command_off_template')
  const drafts = entityOnOff(ctx, {
    command: topicOf(c, 'command_topic', true),
    template,
    stateTemplate: 'state_value_template',
    stateWords: true,
  })
  const first = drafts[0]
  if (first != null && 'action' in first) {
    first.action.payload = checked(
      `{% if input.on %}${onPayload}{% else %}${offPayload}{% endif %}`,
      'siren templates',
    )
    first.action.input = object(
      {
        on: { type: 'boolean', description: 'true to sound the siren, false to silence it' },
        ...Object.fromEntries(options),
      },
      ['on'],
    )
  }
  return drafts
}
