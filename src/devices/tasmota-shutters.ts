/**
 * Tasmota shutters, as Home Assistant's tasmota integration drives them (hatasmota shutter.py): two
 * consecutive relays typed `3` in `rl` make one shutter; `ShutterOpen<n>`, `ShutterClose<n>`,
 * `ShutterStop<n>` with an empty payload, `ShutterPosition<n>` 0..100 (reversed for an inverted shutter,
 * `sho` bit 1) and `ShutterTilt<n>` scaled to the tilt range in `sht`; the position is read from
 * `{"Shutter1":{"Position":…}}` in `stat/<topic>/RESULT`.
 */
import { jinjaLiteral as lit } from './template-builders.ts'
import type { ActionSpec, SensorSpec } from './types.ts'
import { noteUnmapped } from './ha-unmapped.ts'
import { MAX_SHUTTERS, RL_SHUTTER } from './tasmota-config.ts'
import { object, type PartsCtx } from './tasmota-relays.ts'

/**
 * The relay indices that start a shutter (hatasmota discovery.py `get_cover_entities`): pairs of relays typed
 * `3`; a `3` without its partner makes the whole configuration invalid, as there.
 */
export function shutterStarts(relays: number[]): number[] | undefined {
  const starts: number[] = []
  for (let i = 0; i < relays.length; i++) {
    if (starts.includes(i - 1)) continue
    if (relays[i] !== RL_SHUTTER) continue
    if (relays[i + 1] !== RL_SHUTTER) return undefined
    starts.push(i)
  }
  return starts.slice(0, MAX_SHUTTERS)
}

/** The parts of every shutter of the device. */
export function shutterParts(
  ctx: PartsCtx,
  shutterTimeout: number,
): { actions: ActionSpec[]; sensors: SensorSpec[] } {
  const { c, topics } = ctx
  const actions: ActionSpec[] = []
  const sensors: SensorSpec[] = []
  const starts = shutterStarts(c.relays)
  if (starts == null) {
    noteUnmapped(ctx.report, {
      entity: 'shutters',
      option: 'rl',
      reason: 'bad_value',
      detail: 'a relay is typed shutter without its partner; like Home Assistant, kith imports no shutter',
    })
    return { actions, sensors }
  }
  starts.forEach((_, k) => {
    const n = k + 1
    const id = `shutter${n}`
    const title = `Shutter ${n}`
    const inverted = ((c.shutterOptions[k] ?? 0) & 1) === 1
    const [tiltMin, tiltMax, tiltDuration] = c.shutterTilt[k] ?? [0, 0, 0]
    const position = `value_json[${lit(`Shutter${n}`)}].Position`
    const reported = inverted ? `(100 - ${position})` : position
    const confirm = (when: string) => ({ topic: topics.result, when, timeout: shutterTimeout })
    const move = (verb: string, command: string, end: number | undefined): ActionSpec => ({
      id: `${id}_${verb}`,
      title: `${verb[0]?.toUpperCase()}${verb.slice(1)} ${title}`,
      description: `${verb === 'stop' ? 'Stops' : verb === 'open' ? 'Opens' : 'Closes'} ${title}.`,
      risk: ctx.risk,
      input: object({}),
      commandTopic: `${topics.cmnd}${command}${n}`,
      payload: '',
      ...(end != null ? { confirm: confirm(`{{ ${reported} == ${end} }}`) } : {}),
    })
    actions.push(
      move('open', 'ShutterOpen', 100),
      move('close', 'ShutterClose', 0),
      move('stop', 'ShutterStop', undefined),
    )
    const sent = inverted ? '(100 - input.position)' : 'input.position'
    actions.push({
      id: `${id}_set_position`,
      title: `${title} position`,
      description: `Moves ${title} to a position: 0 closed, 100 open.`,
      risk: ctx.risk,
      input: object(
        { position: { type: 'integer', minimum: 0, maximum: 100, description: '0 closed, 100 open' } },
        ['position'],
      ),
      commandTopic: `${topics.cmnd}ShutterPosition${n}`,
      payload: `{{ ${sent} }}`,
      confirm: confirm(`{{ ${reported} == input.position }}`),
    })
    if (tiltDuration !== 0 && tiltMin !== tiltMax) {
      const range = tiltMax - tiltMin
      actions.push({
        id: `${id}_set_tilt`,
        title: `${title} tilt`,
        description: `Tilts ${title}: 0 closed, 100 open.`,
        risk: ctx.risk,
        input: object(
          { tilt: { type: 'integer', minimum: 0, maximum: 100, description: '0 closed, 100 open' } },
          ['tilt'],
        ),
        commandTopic: `${topics.cmnd}ShutterTilt${n}`,
        payload: `{{ (${tiltMin} + input.tilt * ${range} / 100) | round(0) | int }}`,
      })
    }
    sensors.push({
      id: `${id}_position`,
      title: `${title} position`,
      kind: 'position',
      topic: topics.result,
      value: `{{ ${reported} }}`,
      unit: '%',
      schema: { type: 'number' },
    })
  })
  return { actions, sensors }
}
