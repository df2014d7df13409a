/**
 * Home Assistant's MQTT climate: each call publishes what Home Assistant publishes for the same service call,
 * as its tests expect (home-assistant/core tests/components/mqtt/test_climate.py: test_set_target_temperature
 * "35.0", test_set_target_temperature_low_high "20.0"/"23.0", test_set_preset_mode, test_set_fan_mode,
 * test_set_swing, test_set_target_humidity "82", test_get_hvac_action / action_topic).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { compileTemplate } from '../../src/devices/template.ts'
import type { ActionSpec, DeviceSpec, SensorSpec } from '../../src/devices/types.ts'

const CONFIG = {
  name: 'test',
  uniq_id: 'test',
  mode_command_topic: 'mode-topic',
  temperature_command_topic: 'temperature-topic',
  temperature_low_command_topic: 'temperature-low-topic',
  temperature_high_command_topic: 'temperature-high-topic',
  fan_mode_command_topic: 'fan-mode-topic',
  swing_mode_command_topic: 'swing-mode-topic',
  preset_mode_command_topic: 'preset-mode-topic',
  preset_mode_state_topic: 'preset-mode-state',
  preset_modes: ['eco', 'away', 'boost', 'comfort', 'home', 'sleep', 'activity'],
  target_humidity_command_topic: 'humidity-topic',
  current_humidity_topic: 'current-humidity',
  action_topic: 'action',
  min_temp: '5',
  max_temp: '35',
  temp_step: '0.5',
}

function climate(config: Record<string, unknown> = CONFIG): DeviceSpec {
  const r = new HomeAssistantImporter().handle(
    'homeassistant/climate/test/config',
    new TextEncoder().encode(JSON.stringify(config)),
  )
  expect(r.rejections).toEqual([])
  const e = r.events[0]
  if (e?.type !== 'upsert') throw new Error('no device')
  return e.device
}

function act(d: DeviceSpec, id: string): ActionSpec {
  const a = d.actions.find((x) => x.id === id)
  if (a == null) throw new Error(`no action ${id} in ${d.actions.map((x) => x.id).join(',')}`)
  return a
}

function sensor(d: DeviceSpec, id: string): SensorSpec {
  const s = d.sensors.find((x) => x.id === id)
  if (s == null) throw new Error(`no sensor ${id} in ${d.sensors.map((x) => x.id).join(',')}`)
  return s
}

function published(a: ActionSpec, input: unknown): [string, string][] {
  const ctx = { input, task: 't', device: 'd' }
  if (a.messages == null) return [[a.commandTopic, compileTemplate(a.payload).render(ctx)]]
  return a.messages
    .map((m): [string, string] => [m.topic, compileTemplate(m.payload).render(ctx)])
    .filter(([, p]) => p.trim() !== '')
}

describe('climate', () => {
  const d = climate()

  it('target temperature as a float within min/max sent as strings', () => {
    const a = act(d, 'test_temperature')
    expect(published(a, { temperature: 35 })).toEqual([['temperature-topic', '35.0']])
    expect(a.input).toMatchObject({ properties: { temperature: { minimum: 5, maximum: 35 } } })
    expect(
      (a.input.properties as Record<string, { description: string }>).temperature?.description,
    ).toContain('0.5')
  })

  it('low and high targets in one call, low first', () => {
    const a = act(d, 'test_temperature_range')
    expect(published(a, { low: 20, high: 23 })).toEqual([
      ['temperature-low-topic', '20.0'],
      ['temperature-high-topic', '23.0'],
    ])
    expect(published(a, { high: 23 })).toEqual([['temperature-high-topic', '23.0']])
  })

  it('presets (with none), fan and swing modes, as the words', () => {
    const preset = act(d, 'test_preset')
    expect(published(preset, { preset: 'away' })).toEqual([['preset-mode-topic', 'away']])
    expect(published(preset, { preset: 'none' })).toEqual([['preset-mode-topic', 'none']])
    expect(preset.input).toMatchObject({ properties: { preset: { enum: [...CONFIG.preset_modes, 'none'] } } })
    expect(preset.confirm?.topic).toBe('preset-mode-state')
    expect(published(act(d, 'test_fan_mode'), { fan_mode: 'high' })).toEqual([['fan-mode-topic', 'high']])
    expect(published(act(d, 'test_swing_mode'), { swing_mode: 'on' })).toEqual([['swing-mode-topic', 'on']])
    expect(act(d, 'test_mode').input).toMatchObject({
      properties: { mode: { enum: ['auto', 'off', 'cool', 'heat', 'dry', 'fan_only'] } },
    })
  })

  it('target humidity as an integer; current humidity and the action as sensors', () => {
    expect(published(act(d, 'test_humidity'), { humidity: 82 })).toEqual([['humidity-topic', '82']])
    expect(act(d, 'test_humidity').input).toMatchObject({
      properties: { humidity: { minimum: 30, maximum: 99 } },
    })
    expect(sensor(d, 'test_current_humidity')).toMatchObject({ topic: 'current-humidity', unit: '%' })
    expect(sensor(d, 'test_action')).toMatchObject({
      topic: 'action',
      kind: 'hvac_action',
      schema: { enum: expect.arrayContaining(['heating', 'cooling', 'idle', 'off']) },
    })
  })

  it('a Zigbee2MQTT thermostat (its own test suite’s config): heating action through a template', () => {
    const z = climate({
      availability: [{ topic: 'zigbee2mqtt/bridge/state', value_template: '{{ value_json.state }}' }],
      action_template:
        "{% set values = {None:None,'idle':'idle','heat':'heating','cool':'cooling','fan_only':'fan'} %}{{ values[value_json.running_state] }}",
      action_topic: 'zigbee2mqtt/TRV',
      current_temperature_template: '{{ value_json.local_temperature }}',
      current_temperature_topic: 'zigbee2mqtt/TRV',
      device: { identifiers: ['zigbee2mqtt_0x1'], name: 'TRV' },
      max_temp: '30',
      min_temp: '5',
      mode_command_topic: 'zigbee2mqtt/TRV/set/system_mode',
      mode_state_template: '{{ value_json.system_mode }}',
      mode_state_topic: 'zigbee2mqtt/TRV',
      modes: ['off', 'heat', 'auto'],
      name: null,
      preset_mode_command_topic: 'zigbee2mqtt/TRV/set/preset',
      preset_mode_state_topic: 'zigbee2mqtt/TRV',
      preset_mode_value_template: '{{ value_json.preset }}',
      preset_modes: ['manual', 'boost', 'complex', 'comfort', 'eco', 'away', 'schedule'],
      temp_step: 0.5,
      temperature_command_topic: 'zigbee2mqtt/TRV/set/current_heating_setpoint',
      temperature_state_template: '{{ value_json.current_heating_setpoint }}',
      temperature_state_topic: 'zigbee2mqtt/TRV',
      temperature_unit: 'C',
      unique_id: '0x1_climate_zigbee2mqtt',
    })
    expect(act(z, 'test_temperature').input).toMatchObject({
      properties: { temperature: { minimum: 5, maximum: 30 } },
    })
    // the action's lookup table ({% set values = {…} %}) is read as the subset's conditional chain
    const action = z.sensors.find((s) => s.kind === 'hvac_action')
    const render = (payload: unknown) =>
      compileTemplate(action?.value ?? '').render({ value: JSON.stringify(payload), value_json: payload })
    expect(render({ running_state: 'heat' })).toBe('heating')
    expect(render({ running_state: 'idle' })).toBe('idle')
    expect(z.unmapped?.counts.not_supported).toBeUndefined()
    expect(published(act(z, 'test_preset'), { preset: 'eco' })).toEqual([
      ['zigbee2mqtt/TRV/set/preset', 'eco'],
    ])
  })
})

describe('Zigbee2MQTT lookup tables', () => {
  it('a Bosch thermostat’s mode templates ({% set values = … %}) publish and read as Home Assistant does', () => {
    const fixture = JSON.parse(
      readFileSync(join(import.meta.dirname, '../fixtures/devices/z2m-bosch-bth-ra.json'), 'utf8'),
    ) as { discovery: { topic: string; payload: unknown }[] }
    const m = fixture.discovery[0]!
    const r = new HomeAssistantImporter().handle(
      m.topic,
      new TextEncoder().encode(typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload)),
    )
    expect(r.rejections).toEqual([])
    const e = r.events[0]
    if (e?.type !== 'upsert') throw new Error('no device')
    expect(published(act(e.device, 'climate_temperature'), { temperature: 22 })).toEqual([
      ['zigbee2mqtt/bosch_radiator/set/occupied_heating_setpoint', '22.0'],
    ])
    // what the template renders in Home Assistant (the fixture's expectation): heat → manual, unlisted → pause
    expect(published(act(e.device, 'climate_mode'), { mode: 'heat' })).toEqual([
      ['zigbee2mqtt/bosch_radiator/set', '{"operating_mode": "manual"}'],
    ])
    const state = e.device.sensors.find((s) => s.id === 'climate_mode_state')
    expect(
      compileTemplate(state?.value ?? '').render({ value: '', value_json: { operating_mode: 'pause' } }),
    ).toBe('off')
  })

  it('a command template beyond the subset loses only its action, counted', () => {
    const d = climate({
      ...CONFIG,
      mode_command_template: '{% for m in modes %}{{ m }}{% endfor %}',
    })
    expect(d.actions.some((a) => a.id === 'test_mode')).toBe(false)
    expect(d.actions.some((a) => a.id === 'test_temperature')).toBe(true)
    expect(d.unmapped?.options).toContainEqual(
      expect.objectContaining({ option: 'mode_command_template', reason: 'not_supported' }),
    )
  })
})
