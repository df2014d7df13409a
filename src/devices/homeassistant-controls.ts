/**
 * The parts of Home Assistant's covers, valves, numbers, selects, buttons, alarm panels and sirens, and the
 * table of every component's builder ({@link BUILDERS}).
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
  equals,
  checked,
  type HaComponent,
} from './homeassistant-config.ts'
import {
  object,
  action,
  sensor,
  confirm,
  commandPayload,
  entityOnOff,
  sensorParts,
  binarySensorParts,
  switchParts,
  lightParts,
  lockParts,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'
import { climateParts, strings, fanParts } from './homeassistant-climate.ts'
import { humidifierParts, waterHeaterParts } from './ha-appliances.ts'
import { lawnMowerParts, vacuumParts } from './ha-robots.ts'
import { eventParts, sceneParts, textParts } from './ha-simple.ts'

/** Open/close/stop for covers and valves, confirmed by the state words (or their -ing forms). */
function openClose(
  ctx: Ctx,
  command: string | undefined,
  state: string | undefined,
  stopDefault: string | null,
): Draft[] {
  const { c } = ctx
  if (command == null) return []
  const payloads: [string, string | null][] = [
    ['open', payloadOf(c, 'payload_open', 'OPEN')],
    ['close', payloadOf(c, 'payload_close', 'CLOSE')],
    ['stop', payloadOf(c, 'payload_stop', stopDefault)],
  ]
  const present = payloads.filter((p): p is [string, string] => p[1] != null)
  if (present.length === 0) return []
  let choice = lit(present.at(-1)?.[1] as string)
  for (const [name, payload] of present.slice(0, -1).reverse())
    choice = `${lit(payload)} if input.action == '${name}' else ${choice}`
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const words = (key: string, fallback: string) => lit(payloadOf(c, key, fallback))
  const when =
    e &&
    `{{ (input.action == 'open' and ((${e}) | string) in [${words('state_open', 'open')}, ${words('state_opening', 'opening')}])` +
      ` or (input.action == 'close' and ((${e}) | string) in [${words('state_closed', 'closed')}, ${words('state_closing', 'closing')}])` +
      ` or input.action == 'stop' }}`
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Opens, closes${present.some(([n]) => n === 'stop') ? ' or stops' : ''} ${ctx.title}.`,
      input: object({ action: { type: 'string', enum: present.map(([name]) => name) } }, ['action']),
      commandTopic: command,
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: `(${choice})` },
        'command_template',
      ),
      confirm: confirm(state, when, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'state', topic: state, value: stateTemplate }),
    )
  return drafts
}

function positionAction(
  ctx: Ctx,
  topic: string,
  templateKey: string,
  reportTopic: string | undefined,
  reportTemplateKey: string,
): Draft {
  const { c } = ctx
  const open = numberOf(c, 'position_open', 100)
  const closed = numberOf(c, 'position_closed', 0)
  const position =
    open === 100 && closed === 0
      ? 'input.position'
      : `((input.position * ${open - closed} / 100 + ${closed}) | round(0))`
  const e = stateExpression(templateOf(c, reportTemplateKey))
  return action(ctx, '_position', {
    title: `${ctx.title} position`,
    description: `Moves ${ctx.title} to a position, 0 closed to 100 open.`,
    input: object({ position: { type: 'integer', minimum: 0, maximum: 100 } }, ['position']),
    commandTopic: topic,
    payload: commandPayload(templateOf(c, templateKey), { value: position, position }, templateKey),
    confirm: confirm(reportTopic, e && `{{ ((${e}) | int(-1)) == ${position} }}`, ctx),
  })
}

/**
 * `set_cover_tilt_position`: the percentage mapped onto `tilt_min`..`tilt_max` and rounded, as Home Assistant
 * does, through `tilt_command_template`; confirmed on `tilt_status_topic`.
 */
function tiltParts(ctx: Ctx, topic: string): Draft[] {
  const { c } = ctx
  const min = numberOf(c, 'tilt_min', 0)
  const max = numberOf(c, 'tilt_max', 100)
  const tilt =
    min === 0 && max === 100 ? 'input.tilt' : `((input.tilt * ${max - min} / 100 + ${min}) | round(0) | int)`
  const status = topicOf(c, 'tilt_status_topic')
  const statusTemplate = templateOf(c, 'tilt_status_template')
  const e = stateExpression(statusTemplate)
  const drafts: Draft[] = [
    action(ctx, '_tilt', {
      title: `${ctx.title} tilt`,
      description: `Tilts the slats of ${ctx.title}, 0 closed to 100 open.`,
      input: object({ tilt: { type: 'integer', minimum: 0, maximum: 100 } }, ['tilt']),
      commandTopic: topic,
      payload: commandPayload(
        templateOf(c, 'tilt_command_template'),
        { value: tilt, tilt_position: tilt },
        'tilt_command_template',
      ),
      confirm: confirm(status, e && `{{ ((${e}) | int(-1)) == ${tilt} }}`, ctx),
    }),
  ]
  if (status != null)
    drafts.push(
      sensor('_tilt_state', {
        title: `${ctx.title} tilt`,
        kind: 'tilt',
        topic: status,
        value: statusTemplate,
        schema: { type: 'number' },
      }),
    )
  return drafts
}

function coverParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts = openClose(ctx, topicOf(c, 'command_topic'), topicOf(c, 'state_topic'), 'STOP')
  const setPosition = topicOf(c, 'set_position_topic')
  const position = topicOf(c, 'position_topic')
  if (setPosition != null) {
    drafts.push(positionAction(ctx, setPosition, 'set_position_template', position, 'position_template'))
  }
  if (position != null)
    drafts.push(
      sensor('_position_state', {
        title: `${ctx.title} position`,
        kind: 'position',
        topic: position,
        value: templateOf(c, 'position_template'),
        unit: '%',
        schema: { type: 'number' },
      }),
    )
  const tilt = topicOf(c, 'tilt_command_topic')
  if (tilt != null) drafts.push(...tiltParts(ctx, tilt))
  if (drafts.length === 0) refuse('missing_field', 'a cover needs "command_topic" or "set_position_topic"')
  return drafts
}

function valveParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  if (c.reports_position === true) {
    return [positionAction(ctx, command, 'command_template', topicOf(c, 'state_topic'), 'value_template')]
  }
  return openClose(ctx, command, topicOf(c, 'state_topic'), null)
}

function numberParts(ctx: Ctx): Draft[] {
  const { c } = ctx
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
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Selects an option of ${ctx.title}.`,
      input: object({ option: { type: 'string', enum: options } }, ['option']),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: 'input.option' },
        'command_template',
      ),
      confirm: confirm(state, e && `{{ ${equals(e, 'input.option')} }}`, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', {
        title: ctx.title,
        kind: 'state',
        topic: state,
        value: stateTemplate,
        schema: { type: 'string' },
      }),
    )
  return drafts
}

function buttonParts(ctx: Ctx): Draft[] {
  const { c } = ctx
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

function alarmParts(ctx: Ctx): Draft[] {
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

/**
 * A siren's on/off: `command_template` for turning on and `command_off_template` (when given) for turning
 * off, as Home Assistant renders them; tone, volume and duration are left to the templates' defaults.
 */
function sirenParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const template = templateOf(c, 'command_template')
  const drafts = entityOnOff(ctx, {
    command: topicOf(c, 'command_topic', true),
    template,
    stateTemplate: 'state_value_template',
    stateWords: true,
  })
  const offTemplate = templateOf(c, 'command_off_template')
  const first = drafts[0]
  if (offTemplate != null && first != null && 'action' in first) {
    const on = commandPayload(template, { value: lit(payloadOf(c, 'payload_on', 'ON')) }, 'command_template')
    const off = commandPayload(
      offTemplate,
      { value: lit(payloadOf(c, 'payload_off', 'OFF')) },
      'command_off_template',
    )
    first.action.payload = checked(`{% if input.on %}${on}{% else %}${off}{% endif %}`, 'siren templates')
  }
  return drafts
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
