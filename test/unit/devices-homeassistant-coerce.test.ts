import { describe, expect, it } from 'vitest'
import { boolOf, coerceNumber, numberOf } from '../../src/devices/homeassistant-config.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'

function importOne(topic: string, config: Record<string, unknown>): DeviceSpec {
  const r = new HomeAssistantImporter().handle(topic, new TextEncoder().encode(JSON.stringify(config)))
  expect(r.rejections).toEqual([])
  const e = r.events[0]
  if (e?.type !== 'upsert') throw new Error('no device')
  return e.device
}

describe('coercion where Home Assistant coerces', () => {
  it('reads numbers sent as strings like vol.Coerce(float)', () => {
    expect(coerceNumber('5')).toBe(5)
    expect(coerceNumber(' 21.5 ')).toBe(21.5)
    expect(coerceNumber('-3e1')).toBe(-30)
    expect(coerceNumber('five')).toBeUndefined()
    expect(coerceNumber('')).toBeUndefined()
    expect(coerceNumber('0x10')).toBeUndefined()
    expect(numberOf({ brightness_scale: '254' }, 'brightness_scale', 255)).toBe(254)
  })

  it('reads booleans like cv.boolean: words in any case and numbers', () => {
    for (const v of [true, 'true', 'True', 'yes', 'on', 'enable', '1', 1])
      expect(boolOf({ x: v }, 'x', false)).toBe(true)
    for (const v of [false, 'false', 'no', 'OFF', 'disable', '0', 0])
      expect(boolOf({ x: v }, 'x', true)).toBe(false)
    expect(boolOf({}, 'x', true)).toBe(true)
  })

  it('a Zigbee2MQTT thermostat with "min_temp": "5" accepts 6 degrees', () => {
    const device = importOne('homeassistant/climate/trv/climate/config', {
      name: null,
      uniq_id: 'trv_climate',
      min_temp: '5',
      max_temp: '30',
      temp_cmd_t: 'zigbee2mqtt/trv/set/current_heating_setpoint',
      dev: { ids: ['zigbee2mqtt_0x1'], name: 'TRV' },
    })
    const set = device.actions.find((a) => a.commandTopic.endsWith('current_heating_setpoint'))
    expect(set?.input).toMatchObject({ properties: { temperature: { minimum: 5, maximum: 30 } } })
  })

  it('"retain": "true" retains the command; a value that is no boolean is counted as bad_value', () => {
    const kept = importOne('homeassistant/switch/a/config', {
      name: 'A',
      uniq_id: 'a',
      cmd_t: 'a/set',
      ret: 'true',
    })
    expect(kept.actions[0]?.retain).toBe(true)
    const bad = importOne('homeassistant/switch/b/config', {
      name: 'B',
      uniq_id: 'b',
      cmd_t: 'b/set',
      ret: 'maybe',
    })
    expect(bad.actions[0]?.retain).toBeUndefined()
    expect(bad.unmapped?.counts).toEqual({ bad_value: 1 })
    expect(bad.unmapped?.options[0]).toMatchObject({ option: 'retain', reason: 'bad_value' })
  })
})
