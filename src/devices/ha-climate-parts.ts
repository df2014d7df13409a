/**
 * The pieces a Home Assistant thermostat is made of (ha-climate.ts): a list-valued setting (mode, preset, fan and
 * swing modes), a number setting on its own topic (a temperature, the humidity), and the low/high target range.
 */
import type { JsonSchema } from './types.ts'
import {
  attempt,
  readingTemplateOf,
  stateExpression,
  equals,
  templateOf,
  topicOf,
} from './homeassistant-config.ts'
import {
  action,
  commandPayload,
  confirm,
  object,
  sensor,
  type Ctx,
  type Draft,
} from './homeassistant-parts.ts'

/** One list-valued setting (mode, preset, fan mode, swing mode): its action on `<key>_command_topic` and state. */
export function choice(
  ctx: Ctx,
  o: { key: string; suffix: string; what: string; input: string; list: string[]; stateTemplate: string },
): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const command = topicOf(c, `${o.key}_command_topic`)
  const state = topicOf(c, `${o.key}_state_topic`)
  const { ok, template } = readingTemplateOf(c, o.stateTemplate)
  // Zigbee2MQTT's mode templates set a lookup table ({% set %}): beyond the subset, only this action is lost
  const key = `${o.key}_command_template`
  const payload =
    command == null
      ? undefined
      : attempt(c, key, () => commandPayload(templateOf(c, key), { value: `input.${o.input}` }, key))
  if (command != null && payload != null) {
    const e = ok ? stateExpression(template) : undefined
    drafts.push(
      action(ctx, o.suffix, {
        title: `${ctx.title} ${o.what}`,
        description: `Sets the ${o.what} of ${ctx.title}.`,
        input: object({ [o.input]: { type: 'string', enum: o.list } }, [o.input]),
        commandTopic: command,
        payload,
        confirm: confirm(state, e && `{{ ${equals(e, `input.${o.input}`)} }}`, ctx),
      }),
    )
  }
  if (state != null && ok) {
    const schema: JsonSchema = { type: 'string', enum: o.list }
    drafts.push(
      sensor(`${o.suffix}_state`, {
        title: `${ctx.title} ${o.what}`,
        kind: o.key,
        topic: state,
        value: template,
        schema,
      }),
    )
  }
  return drafts
}

/** A number setting on its own topic (a temperature, the humidity), and its state as a sensor. */
export function setpoint(
  ctx: Ctx,
  o: {
    key: string
    suffix: string
    sensorSuffix: string
    what: string
    input: string
    schema: JsonSchema
    value: string
    kind: string
    unit: string
  },
): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const command = topicOf(c, `${o.key}_command_topic`)
  const state = topicOf(c, `${o.key}_state_topic`)
  const { ok, template } = readingTemplateOf(c, `${o.key}_state_template`)
  const key = `${o.key}_command_template`
  const payload =
    command == null
      ? undefined
      : attempt(c, key, () => commandPayload(templateOf(c, key), { value: o.value }, key))
  if (command != null && payload != null) {
    const e = ok ? stateExpression(template) : undefined
    drafts.push(
      action(ctx, o.suffix, {
        title: `${ctx.title} ${o.what}`,
        description: `Sets the ${o.what} of ${ctx.title}.`,
        input: object({ [o.input]: o.schema }, [o.input]),
        commandTopic: command,
        payload,
        confirm: confirm(state, e && `{{ ((${e}) | float(none)) == (${o.value} | float) }}`, ctx),
      }),
    )
  }
  if (state != null && ok) {
    drafts.push(
      sensor(o.sensorSuffix, {
        title: `${ctx.title} ${o.what}`,
        kind: o.kind,
        topic: state,
        value: template,
        unit: o.unit,
        schema: { type: 'number' },
      }),
    )
  }
  return drafts
}

/** Low and high targets in one call: Home Assistant publishes the low one, then the high one (climate.py). */
export function temperatureRange(ctx: Ctx, temperature: JsonSchema, unit: string): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const low = topicOf(c, 'temperature_low_command_topic')
  const high = topicOf(c, 'temperature_high_command_topic')
  const lowPayload = (value: string) =>
    commandPayload(
      templateOf(c, 'temperature_low_command_template'),
      { value },
      'temperature_low_command_template',
    )
  const highPayload = (value: string) =>
    commandPayload(
      templateOf(c, 'temperature_high_command_template'),
      { value },
      'temperature_high_command_template',
    )
  if (low != null || high != null) {
    const input: Record<string, JsonSchema> = {}
    if (low != null)
      input.low = { ...temperature, description: `lowest target, ${temperature.description as string}` }
    if (high != null)
      input.high = { ...temperature, description: `highest target, ${temperature.description as string}` }
    const messages = [
      ...(low != null
        ? [
            {
              topic: low,
              payload: `{% if input.low is defined %}${lowPayload('(input.low | float)')}{% endif %}`,
            },
          ]
        : []),
      ...(high != null
        ? [
            {
              topic: high,
              payload: `{% if input.high is defined %}${highPayload('(input.high | float)')}{% endif %}`,
            },
          ]
        : []),
    ]
    const first = messages[0] as { topic: string; payload: string }
    drafts.push(
      action(ctx, '_temperature_range', {
        title: `${ctx.title} target range`,
        description: `Sets the lowest and highest target temperature of ${ctx.title} in ${unit}.`,
        input: { ...object(input), minProperties: 1 },
        commandTopic: first.topic,
        payload: first.payload,
        messages: messages.length > 1 ? messages : undefined,
      }),
    )
  }
  for (const [key, suffix, what] of [
    ['temperature_low', '_setpoint_low', 'lowest target temperature'],
    ['temperature_high', '_setpoint_high', 'highest target temperature'],
  ] as const) {
    const t = topicOf(c, `${key}_state_topic`)
    if (t != null) {
      drafts.push(
        sensor(suffix, {
          title: `${ctx.title} ${what}`,
          kind: 'temperature',
          topic: t,
          value: templateOf(c, `${key}_state_template`),
          unit,
          schema: { type: 'number' },
        }),
      )
    }
  }
  return drafts
}
