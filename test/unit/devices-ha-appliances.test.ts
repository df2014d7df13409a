/**
 * The components added for issue 22 (scene, text, event, humidifier, water heater, lawn mower, vacuum, and the
 * siren's variables): the command each action publishes equals what Home Assistant publishes for the same
 * service call, as its tests assert (home-assistant/core tests/components/mqtt/): test_scene.py
 * test_sending_mqtt_commands, test_text.py test_sending_mqtt_commands_and_optimistic, test_humidifier.py
 * test_sending_mqtt_commands_and_optimistic, test_water_heater.py test_set_target_temperature ("47.0"),
 * test_lawn_mower.py test_run_lawn_mower_service_optimistic (27c14f6: start_mowing/pause/dock on their own
 * topics), test_state_vacuum.py test_commands, test_siren.py test_sending_mqtt_commands_and_optimistic.
 * Bad configs are refused with a counted reason.
 */
import { describe, expect, it } from 'vitest'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { compileTemplate } from '../../src/devices/template.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'

function importOne(component: string, config: Record<string, unknown>): DeviceSpec {
  const ha = new HomeAssistantImporter()
  const r = ha.handle(
    `homeassistant/${component}/test/config`,
    new TextEncoder().encode(JSON.stringify({ name: 'test', ...config })),
  )
  expect(r.rejections).toEqual([])
  const up = r.events.find((e) => e.type === 'upsert')
  if (up?.type !== 'upsert') throw new Error('nothing imported')
  return up.device
}

function published(device: DeviceSpec, part: string, input: unknown): { topic: string; payload: string } {
  const a = device.actions.find((x) => x.id === part)
  if (a == null) throw new Error(`no action ${part} in ${device.actions.map((x) => x.id).join(',')}`)
  return {
    topic: a.commandTopic,
    payload: compileTemplate(a.payload).render({ input, task: 't', device: device.id }),
  }
}

describe('Home Assistant appliances and robots', () => {
  it('publishes a scene payload_on, a text and an event reading as Home Assistant does', () => {
    const scene = importOne('scene', { command_topic: 'scene/set', payload_on: 'Scene 1' })
    expect(published(scene, 'test', {})).toEqual({ topic: 'scene/set', payload: 'Scene 1' })
    const text = importOne('text', {
      command_topic: 'txt/set',
      state_topic: 'txt',
      command_template: 'set:{{ value }}',
      max: 10,
    })
    expect(published(text, 'test', { text: 'hello' })).toEqual({ topic: 'txt/set', payload: 'set:hello' })
    expect(text.actions[0]?.input).toMatchObject({ properties: { text: { maxLength: 10 } } })
    const event = importOne('event', { state_topic: 'ev', event_types: ['press', 'hold'] })
    expect(event.sensors[0]).toMatchObject({ topic: 'ev', schema: { enum: ['press', 'hold'] } })
  })

  it('drives a humidifier: power, target humidity as an integer and a mode', () => {
    const d = importOne('humidifier', {
      command_topic: 'hum/power',
      target_humidity_command_topic: 'hum/target',
      mode_command_topic: 'hum/mode',
      modes: ['eco', 'baby'],
      current_humidity_topic: 'hum/current',
    })
    expect(published(d, 'test', { on: true })).toEqual({ topic: 'hum/power', payload: 'ON' })
    expect(published(d, 'test_humidity', { humidity: 45 })).toEqual({ topic: 'hum/target', payload: '45' })
    expect(published(d, 'test_mode', { mode: 'eco' })).toEqual({ topic: 'hum/mode', payload: 'eco' })
    expect(d.sensors.map((s) => s.id)).toContain('test_current')
  })

  it('sets a water heater temperature as a float, as Home Assistant does ("47.0")', () => {
    const d = importOne('water_heater', {
      mode_command_topic: 'wh/mode',
      temperature_command_topic: 'wh/temp',
      power_command_topic: 'wh/power',
    })
    expect(published(d, 'test_temperature', { temperature: 47 })).toEqual({
      topic: 'wh/temp',
      payload: '47.0',
    })
    expect(published(d, 'test_mode', { mode: 'eco' })).toEqual({ topic: 'wh/mode', payload: 'eco' })
    expect(published(d, 'test_power', { on: false })).toEqual({ topic: 'wh/power', payload: 'OFF' })
  })

  it('sends a lawn mower and a vacuum their command words', () => {
    const m = importOne('lawn_mower', {
      start_mowing_command_topic: 'mow/start',
      dock_command_topic: 'mow/dock',
      activity_state_topic: 'mow/activity',
    })
    expect(published(m, 'test_start', {})).toEqual({ topic: 'mow/start', payload: 'start_mowing' })
    expect(published(m, 'test_dock', {})).toEqual({ topic: 'mow/dock', payload: 'dock' })
    const v = importOne('vacuum', {
      command_topic: 'vac/cmd',
      state_topic: 'vac/state',
      set_fan_speed_topic: 'vac/fan',
      fan_speed_list: ['min', 'max'],
      supported_features: ['start', 'pause', 'return_home', 'fan_speed', 'battery'],
    })
    expect(published(v, 'test', { command: 'return_home' })).toEqual({
      topic: 'vac/cmd',
      payload: 'return_to_base',
    })
    expect(published(v, 'test', { command: 'start' })).toEqual({ topic: 'vac/cmd', payload: 'start' })
    expect(published(v, 'test_fan_speed', { fan_speed: 'max' })).toEqual({ topic: 'vac/fan', payload: 'max' })
  })

  it('sends a siren without templates the JSON of its variables (test_siren.py test_sending_mqtt_commands_and_optimistic)', () => {
    const d = importOne('siren', {
      command_topic: 's/set',
      payload_on: 'beer on',
      payload_off: 'beer off',
      available_tones: ['ping'],
    })
    expect(published(d, 'test', { on: true })).toEqual({ topic: 's/set', payload: '{"state":"beer on"}' })
    expect(published(d, 'test', { on: false })).toEqual({ topic: 's/set', payload: '{"state":"beer off"}' })
    expect(JSON.parse(published(d, 'test', { on: true, tone: 'ping', duration: 5 }).payload)).toEqual({
      state: 'beer on',
      tone: 'ping',
      duration: 5,
    })
  })

  it('refuses configs Home Assistant refuses, each with its reason', () => {
    const reasons = (component: string, config: Record<string, unknown>) =>
      new HomeAssistantImporter()
        .handle(`homeassistant/${component}/x/config`, new TextEncoder().encode(JSON.stringify(config)))
        .rejections.map((r) => r.reason)
    expect(reasons('text', { command_topic: 't', max: 300 })).toEqual(['bad_value'])
    expect(reasons('text', { command_topic: 't', min: 5, max: 2 })).toEqual(['bad_value'])
    expect(reasons('humidifier', { command_topic: 'h' })).toEqual(['missing_field'])
    expect(reasons('event', { state_topic: 'e' })).toEqual(['missing_field'])
    expect(reasons('vacuum', { command_topic: 'v', schema: 'legacy' })).toEqual(['unsupported_component'])
    expect(reasons('lawn_mower', { name: 'm' })).toEqual(['missing_field'])
    expect(reasons('scene', { payload_on: 'x' })).toEqual(['missing_field'])
  })

  it('refuses an event whose value_template renders JSON, with a counted reason', () => {
    const ha = new HomeAssistantImporter()
    const r = ha.handle(
      'homeassistant/event/x/config',
      new TextEncoder().encode(
        JSON.stringify({ state_topic: 'ev', event_types: ['a'], value_template: '{{ value_json }}' }),
      ),
    )
    expect(r.rejections.map((x) => x.reason)).toEqual(['bad_template'])
  })
})
