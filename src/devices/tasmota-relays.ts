/**
 * Tasmota relays, the iFan's fan and switch inputs, as Home Assistant's tasmota integration drives and reads
 * them (hatasmota relay.py, fan.py, switch.py): a relay is `cmnd/<topic>/Power<n>` `ON`/`OFF` (the device's
 * own state words), confirmed by `POWER<n>` (or `POWER` for the first) in `stat/<topic>/RESULT`; the fan is
 * `FanSpeed` 0..3; a switch input whose mode makes it a binary sensor reads `{"Switch1":{"Action":"ON"}}`.
 * What the integration does that kith does not (button events, transitions, polls) is counted on the device
 * ({@link nativeNotes}).
 */
import { jinjaLiteral as lit } from './template-builders.ts'
import type { ActionSpec, JsonSchema, Risk, SensorSpec, UnmappedReport } from './types.ts'
import { noteUnmapped } from './ha-unmapped.ts'
import { type NativeConfig, type NativeTopics, RL_LIGHT, switchName } from './tasmota-config.ts'

/** What every part builder is given. */
export interface PartsCtx {
  c: NativeConfig
  topics: NativeTopics
  risk: Risk
  /** ms an action waits for its confirmation */
  timeout: number
  report: UnmappedReport
}

export function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false }
}

/**
 * The power word of relay `idx` in a RESULT or STATE message: `POWER<n>`, or `POWER` for the first relay
 * when the device has one (hatasmota utils.py `get_state_power`, `idx_optional`).
 */
export function powerExpr(idx: number): string {
  return idx === 0
    ? '(value_json.POWER if value_json.POWER is defined else value_json.POWER1)'
    : `value_json.POWER${idx + 1}`
}

/** A sensor reading relay `idx`'s power as true/false from `stat/<topic>/RESULT`. */
export function powerState(ctx: PartsCtx, idx: number, id: string, title: string): SensorSpec {
  const p = powerExpr(idx)
  return {
    id,
    title,
    kind: 'state',
    topic: ctx.topics.result,
    value: `{% if ${p} == ${lit(ctx.c.state[1])} %}true{% elif ${p} == ${lit(ctx.c.state[0])} %}false{% endif %}`,
    schema: { type: 'boolean' },
  }
}

/** Relay `idx` as an on/off action (`relay<n>`, or `light<n>` for a relay shown as a light) and its state. */
export function relayParts(
  ctx: PartsCtx,
  idx: number,
  id: string,
  title: string,
): { actions: ActionSpec[]; sensors: SensorSpec[] } {
  const on = lit(ctx.c.state[1])
  const off = lit(ctx.c.state[0])
  return {
    actions: [
      {
        id,
        title,
        description: `Turns ${title} on or off.`,
        risk: ctx.risk,
        input: object({ on: { type: 'boolean', description: 'true to turn on, false to turn off' } }, ['on']),
        commandTopic: `${ctx.topics.cmnd}Power${idx + 1}`,
        payload: `{{ ${on} if input.on else ${off} }}`,
        confirm: {
          topic: ctx.topics.result,
          when: `{{ ${powerExpr(idx)} == (${on} if input.on else ${off}) }}`,
          timeout: ctx.timeout,
        },
      },
    ],
    sensors: [powerState(ctx, idx, `${id}_state`, `${title} state`)],
  }
}

/**
 * The iFan's fan (hatasmota fan.py, Home Assistant tasmota/fan.py): `FanSpeed` 0 off, 1 low, 2 medium,
 * 3 high; turning on without a speed sends 2, as Home Assistant does.
 */
export function fanParts(ctx: PartsCtx, title: string): { actions: ActionSpec[]; sensors: SensorSpec[] } {
  const speed = '((input.speed if input.speed is defined else 2) if input.on else 0)'
  return {
    actions: [
      {
        id: 'fan',
        title,
        description: `Turns ${title} on (at a speed: 1 low, 2 medium, 3 high; default 2) or off.`,
        risk: ctx.risk,
        input: object(
          {
            on: { type: 'boolean', description: 'true to turn on, false to turn off' },
            speed: { type: 'integer', minimum: 1, maximum: 3, description: '1 low, 2 medium, 3 high' },
          },
          ['on'],
        ),
        commandTopic: `${ctx.topics.cmnd}FanSpeed`,
        payload: `{{ ${speed} }}`,
        confirm: {
          topic: ctx.topics.result,
          when: `{{ value_json.FanSpeed == ${speed} }}`,
          timeout: ctx.timeout,
        },
      },
    ],
    sensors: [
      {
        id: 'fan_speed',
        title: `${title} speed`,
        kind: 'fan_speed',
        topic: ctx.topics.result,
        value: '{{ value_json.FanSpeed }}',
        schema: { type: 'integer', minimum: 0, maximum: 3 },
      },
    ],
  }
}

/** Switch modes that make a binary sensor (hatasmota switch.py SWITCHMODE_MAP, first column). */
const BINARY_MODES = new Set([1, 2, 3, 4, 5, 6, 9, 10, 13, 14, 15, 16])
/** Switch modes whose presses Home Assistant offers as device triggers. */
const TRIGGER_MODES = new Set([0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
/** PIR modes: Home Assistant turns the sensor off 1 s after it turned on. */
const PUSHON_MODES = new Set([13, 14])

/**
 * Switch inputs (`swc`, -1 when SetOption114 is off or the switch unused) as binary sensors read from
 * `stat/<topic>/RESULT` (`{"Switch1":{"Action":"ON"}}`); their presses and the buttons' (`btn`) are events
 * kith does not offer, counted as not supported.
 */
export function switchSensors(ctx: PartsCtx): SensorSpec[] {
  const { c } = ctx
  const sensors: SensorSpec[] = []
  c.switchModes.forEach((mode, idx) => {
    if (mode < 0) return
    const name = switchName(c, idx)
    const entity = `switch${idx + 1}`
    if (TRIGGER_MODES.has(mode))
      noteUnmapped(ctx.report, {
        entity,
        option: 'swc',
        reason: 'not_supported',
        detail: `switch mode ${mode} presses are device triggers (events); kith offers states, not events`,
      })
    if (!BINARY_MODES.has(mode)) return
    if (PUSHON_MODES.has(mode))
      noteUnmapped(ctx.report, {
        entity,
        option: 'swc',
        reason: 'partly',
        detail:
          'Home Assistant turns this PIR-style sensor off after 1 s; kith keeps the last state reported',
      })
    const action = `value_json[${lit(name)}].Action`
    sensors.push({
      id: entity,
      title: c.switchNames[idx] ?? `Binary sensor ${idx + 1}`,
      kind: 'state',
      topic: ctx.topics.result,
      value: `{% if ${action} == ${lit(c.state[1])} %}true{% elif ${action} == ${lit(c.state[0])} %}false{% endif %}`,
      schema: { type: 'boolean' },
    })
  })
  c.buttons.forEach((b, idx) => {
    if (b !== 1) return
    noteUnmapped(ctx.report, {
      entity: `button${idx + 1}`,
      option: 'btn',
      reason: 'not_supported',
      detail: 'button presses are device triggers (events); kith offers states, not events',
    })
  })
  return sensors
}

/** What Home Assistant's integration does with a config that kith does not, counted on the device. */
export function nativeNotes(c: NativeConfig, report: UnmappedReport): void {
  const note = (option: string, reason: 'not_supported' | 'partly', detail: string) =>
    noteUnmapped(report, { entity: c.deviceName, option, reason, detail })
  if (c.options['4'] === 1)
    note(
      'so.4',
      'partly',
      'SetOption4 sends replies to stat/<topic>/<Command>, not RESULT; kith confirms on RESULT, so actions time out',
    )
  if (c.camera) note('cam', 'not_supported', 'kith imports no camera')
  if (c.deepSleep)
    note(
      'dslp',
      'partly',
      'a deep-sleeping device has no LWT; kith shows it online always, as Home Assistant does',
    )
  if (c.relays.some((r) => r === RL_LIGHT) && c.lightSubtype > 0)
    note(
      'transition',
      'not_supported',
      "Fade2/Speed2 depend on the light's last state; kith sends no transition",
    )
  note(
    'status',
    'partly',
    'kith sends no STATUS or STATE polls and reads states from stat/<topic>/RESULT only (not tele/<topic>/STATE): a state is known after its first change; Wi-Fi, restart and IP sensors are not imported',
  )
}
