/**
 * The parts (sensors and actions) of Home Assistant's simple components: sensor, binary sensor, switch,
 * light and lock, and the shared builders the other components use (homeassistant-controls.ts,
 * homeassistant-climate.ts).
 */
import { substituteVariables } from './template-builders.ts'
import { binaryKind, binaryMeaning, sensorReading } from './ha-sensor-classes.ts'
import type { ActionSpec, JsonSchema, Risk, SensorSpec } from './types.ts'
import {
  text,
  boolOf,
  payloadOf,
  topicOf,
  templateOf,
  checked,
  optional,
  stateExpression,
  lit,
  equals,
  compact,
  type Config,
} from './homeassistant-config.ts'

/** A part before the device assigns ids: the suffix goes after the entity's base name. */
export type Draft =
  { suffix: string; sensor: Omit<SensorSpec, 'id'> } | { suffix: string; action: Omit<ActionSpec, 'id'> }

export interface Ctx {
  c: Config
  title: string
  risk: Risk
  timeout: number
}

export function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false }
}

export function action(ctx: Ctx, suffix: string, spec: Omit<ActionSpec, 'id' | 'risk'>): Draft {
  const retain = boolOf(ctx.c, 'retain', false) ? true : undefined
  return { suffix, action: compact({ ...spec, risk: ctx.risk, retain }) }
}

export function sensor(suffix: string, spec: Omit<SensorSpec, 'id'>): Draft {
  return { suffix, sensor: compact(spec) }
}

export function confirm(
  topic: string | undefined,
  when: string | undefined,
  ctx: Ctx,
): ActionSpec['confirm'] {
  if (topic == null || when == null) return undefined
  const source = optional(when)
  return source == null ? undefined : { topic, when: source, timeout: ctx.timeout }
}

/** The command payload: the config's command template with `value` (and friends) bound to input expressions. */
export function commandPayload(
  template: string | undefined,
  variables: Record<string, string>,
  what: string,
): string {
  const source = template == null ? `{{ ${variables.value} }}` : substituteVariables(template, variables)
  return checked(source, what)
}

/** A sensor reading a state as true/false by two words, or the raw state when its template is not one expression. */
function booleanState(
  title: string,
  kind: string,
  topic: string,
  template: string | undefined,
  on: string,
  off: string,
): Omit<SensorSpec, 'id'> {
  const e = stateExpression(template)
  const value =
    e == null
      ? undefined
      : optional(`{% if ${equals(e, lit(on))} %}true{% elif ${equals(e, lit(off))} %}false{% endif %}`)
  return value != null
    ? { title, kind, topic, value, schema: { type: 'boolean' } }
    : { title, kind, topic, value: template }
}

interface OnOff {
  suffix: string
  title: string
  description: string
  command: string
  on: string
  off: string
  template?: string
  state?: string
  stateTemplate?: string
  stateOn: string
  stateOff: string
}

export function onOff(ctx: Ctx, o: OnOff): Draft[] {
  const choice = `${lit(o.on)} if input.on else ${lit(o.off)}`
  const drafts: Draft[] = []
  const e = stateExpression(o.stateTemplate)
  drafts.push(
    action(ctx, o.suffix, {
      title: o.title,
      description: o.description,
      input: object({ on: { type: 'boolean', description: 'true to turn on, false to turn off' } }, ['on']),
      commandTopic: o.command,
      payload: commandPayload(o.template, { value: `(${choice})` }, 'command_template'),
      confirm: confirm(
        o.state,
        e && `{{ ${equals(e, `(${lit(o.stateOn)} if input.on else ${lit(o.stateOff)})`)} }}`,
        ctx,
      ),
    }),
  )
  if (o.state != null) {
    drafts.push(
      sensor(
        `${o.suffix}_state`,
        booleanState(`${o.title} state`, 'state', o.state, o.stateTemplate, o.stateOn, o.stateOff),
      ),
    )
  }
  return drafts
}

/**
 * An entity set to one string (a select's option, a text's value): the action publishes it through
 * `command_template` on `command_topic` and is confirmed when the state reads it back; the state is a sensor.
 */
export function stringSetter(
  ctx: Ctx,
  o: { field: string; schema: JsonSchema; description: string; kind: string },
): Draft[] {
  const { c } = ctx
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: o.description,
      input: object({ [o.field]: o.schema }, [o.field]),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: `input.${o.field}` },
        'command_template',
      ),
      confirm: confirm(state, e && `{{ ${equals(e, `input.${o.field}`)} }}`, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', {
        title: ctx.title,
        kind: o.kind,
        topic: state,
        value: stateTemplate,
        schema: { type: 'string' },
      }),
    )
  return drafts
}

/**
 * The `power_command_topic` of climate and water heater entities, as Home Assistant's `turn_on`/`turn_off`
 * publish it (`payload_on`/`payload_off` through `power_command_template`), or nothing without that topic.
 */
export function powerOnOff(ctx: Ctx): Draft[] {
  const { c } = ctx
  const power = topicOf(c, 'power_command_topic')
  if (power == null) return []
  return onOff(ctx, {
    suffix: '_power',
    title: `${ctx.title} power`,
    description: `Turns ${ctx.title} on or off.`,
    command: power,
    on: payloadOf(c, 'payload_on', 'ON'),
    off: payloadOf(c, 'payload_off', 'OFF'),
    template: templateOf(c, 'power_command_template'),
    stateOn: 'ON',
    stateOff: 'OFF',
  })
}

/**
 * The entity's own on/off action (switch, light, fan, siren): `payload_on`/`payload_off` (default `ON`/`OFF`)
 * on `command`, confirmed on `state` (default `state_topic`) through the `stateTemplate` key's template;
 * with `stateWords`, the state reads `state_on`/`state_off` (default the payloads).
 */
export function entityOnOff(
  ctx: Ctx,
  o: { command: string; template?: string; state?: string; stateTemplate: string; stateWords: boolean },
): Draft[] {
  const { c } = ctx
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  return onOff(ctx, {
    suffix: '',
    title: ctx.title,
    description: `Turns ${ctx.title} on or off.`,
    command: o.command,
    on,
    off,
    template: o.template,
    state: o.state ?? topicOf(c, 'state_topic'),
    stateTemplate: templateOf(c, o.stateTemplate),
    stateOn: o.stateWords ? payloadOf(c, 'state_on', on) : on,
    stateOff: o.stateWords ? payloadOf(c, 'state_off', off) : off,
  })
}

export function sensorParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  return [
    sensor('', {
      title: ctx.title,
      topic: topicOf(c, 'state_topic', true),
      value: templateOf(c, 'value_template'),
      ...sensorReading(c),
    }),
  ]
}

export function binarySensorParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const topic = topicOf(c, 'state_topic', true)
  const template = templateOf(c, 'value_template')
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  const reading = booleanState(ctx.title, binaryKind(text(c, 'device_class')), topic, template, on, off)
  const meaning = binaryMeaning(c)
  if (meaning != null && reading.schema != null) reading.schema = { ...reading.schema, description: meaning }
  return [sensor('', reading)]
}

export function switchParts(ctx: Ctx): Draft[] {
  return entityOnOff(ctx, {
    command: topicOf(ctx.c, 'command_topic', true),
    stateTemplate: 'value_template',
    stateWords: true,
  })
}

export { lightParts } from './ha-light.ts'

export function lockParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const template = templateOf(c, 'command_template')
  const stateTemplate = templateOf(c, 'value_template')
  const lock = payloadOf(c, 'payload_lock', 'LOCK')
  const unlock = payloadOf(c, 'payload_unlock', 'UNLOCK')
  const locked = payloadOf(c, 'state_locked', 'LOCKED')
  const unlocked = payloadOf(c, 'state_unlocked', 'UNLOCKED')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Locks or unlocks ${ctx.title}.`,
      input: object({ locked: { type: 'boolean', description: 'true to lock, false to unlock' } }, [
        'locked',
      ]),
      commandTopic: command,
      payload: commandPayload(
        template,
        { value: `(${lit(lock)} if input.locked else ${lit(unlock)})` },
        'command_template',
      ),
      confirm: confirm(
        state,
        e && `{{ ${equals(e, `(${lit(locked)} if input.locked else ${lit(unlocked)})`)} }}`,
        ctx,
      ),
    }),
  ]
  const open = payloadOf(c, 'payload_open', null)
  if ('payload_open' in c && open != null) {
    drafts.push(
      action(ctx, '_open', {
        title: `Open ${ctx.title}`,
        description: `Unlatches ${ctx.title} (opens the door).`,
        input: object({}),
        commandTopic: command,
        payload: commandPayload(template, { value: lit(open) }, 'command_template'),
      }),
    )
  }
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'lock', topic: state, value: stateTemplate }),
    )
  return drafts
}
