/**
 * The parts of Home Assistant's covers and valves: open/close/stop on the command topic, a position (and a
 * cover's tilt) on their own topics, each confirmed by the state the device reports next.
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
  HIGH_RISK_COVERS,
  boolOf,
} from './homeassistant-config.ts'
import {
  object,
  action,
  sensor,
  confirm,
  commandPayload,
  type Draft,
  type Ctx,
} from './homeassistant-parts.ts'
import { unmapped } from './ha-unmapped.ts'

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
      // a stopped cover reports state_stopped, or open/closed as the position left it
      ` or (input.action == 'stop' and ((${e}) | string) in [${words('state_stopped', 'stopped')}, ${words('state_open', 'open')}, ${words('state_closed', 'closed')}]) }}`
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

export function coverParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const deviceClass = text(c, 'device_class')
  if (deviceClass != null && !HIGH_RISK_COVERS.has(deviceClass))
    unmapped(
      c,
      'device_class',
      'display_only',
      'only garage, gate and door covers change anything: they are high risk',
    )
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

export function valveParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  if (text(c, 'device_class') != null)
    unmapped(c, 'device_class', 'display_only', 'every valve is high risk whatever it carries (water, gas)')
  const command = topicOf(c, 'command_topic', true)
  if (boolOf(c, 'reports_position', false)) {
    return [positionAction(ctx, command, 'command_template', topicOf(c, 'state_topic'), 'value_template')]
  }
  return openClose(ctx, command, topicOf(c, 'state_topic'), null)
}
