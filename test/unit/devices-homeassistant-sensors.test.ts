/**
 * Sensor and binary sensor device classes with their units, as Home Assistant defines them
 * (homeassistant/components/sensor/const.py SensorDeviceClass and DEVICE_CLASS_UNITS,
 * homeassistant/components/binary_sensor/__init__.py BinarySensorDeviceClass).
 */
import { describe, expect, it } from 'vitest'
import { SENSOR_CLASS_UNITS } from '../../src/devices/ha-sensor-classes.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import type { DeviceSpec, SensorSpec } from '../../src/devices/types.ts'

function one(component: string, config: Record<string, unknown>): { device: DeviceSpec; sensor: SensorSpec } {
  const r = new HomeAssistantImporter().handle(
    `homeassistant/${component}/x/config`,
    new TextEncoder().encode(JSON.stringify({ name: 'X', uniq_id: 'x', stat_t: 'x/state', ...config })),
  )
  expect(r.rejections).toEqual([])
  const e = r.events[0]
  if (e?.type !== 'upsert') throw new Error('no device')
  return { device: e.device, sensor: e.device.sensors[0] as SensorSpec }
}

describe('sensor device classes', () => {
  it('every numeric class reads as a number with its unit', () => {
    for (const [deviceClass, units] of Object.entries(SENSOR_CLASS_UNITS)) {
      const unit = units[0]
      const { sensor, device } = one('sensor', {
        dev_cla: deviceClass,
        ...(unit != null ? { unit_of_meas: unit } : {}),
      })
      expect(sensor, deviceClass).toMatchObject({ kind: deviceClass, schema: { type: 'number' } })
      if (unit != null) expect(sensor.unit).toBe(unit)
      expect(device.unmapped, deviceClass).toBeUndefined()
    }
  })

  it('a class with a single unit implies it; timestamp, date and enum are not numbers', () => {
    expect(one('sensor', { dev_cla: 'battery' }).sensor).toMatchObject({
      unit: '%',
      schema: { type: 'number' },
    })
    expect(one('sensor', { dev_cla: 'timestamp' }).sensor.schema).toEqual({
      type: 'string',
      format: 'date-time',
    })
    expect(one('sensor', { dev_cla: 'date' }).sensor.schema).toEqual({ type: 'string', format: 'date' })
    expect(one('sensor', { dev_cla: 'enum', options: ['low', 'high'] }).sensor.schema).toEqual({
      type: 'string',
      enum: ['low', 'high'],
    })
    expect(one('sensor', {}).sensor.schema).toBeUndefined()
    expect(one('sensor', { state_class: 'measurement' }).sensor.schema).toEqual({ type: 'number' })
  })

  it('a unit Home Assistant does not take for the class is kept and counted; an unknown class too', () => {
    const odd = one('sensor', { dev_cla: 'temperature', unit_of_meas: 'degrees' })
    expect(odd.sensor.unit).toBe('degrees')
    expect(odd.device.unmapped?.options).toContainEqual(
      expect.objectContaining({ option: 'unit_of_measurement', reason: 'partly' }),
    )
    const unknown = one('sensor', { dev_cla: 'flux_capacitance' })
    expect(unknown.device.unmapped?.counts).toEqual({ not_supported: 1 })
  })
})

describe('binary sensor device classes', () => {
  it('say what true means, and door/window/opening read as contacts', () => {
    const door = one('binary_sensor', { dev_cla: 'door' }).sensor
    expect(door).toMatchObject({
      kind: 'contact',
      schema: { type: 'boolean', description: 'true: open; false: not' },
    })
    expect(one('binary_sensor', { dev_cla: 'lock' }).sensor.schema).toMatchObject({
      description: 'true: unlocked; false: not',
    })
    expect(one('binary_sensor', { dev_cla: 'battery' }).sensor.schema).toMatchObject({
      description: 'true: the battery is low; false: not',
    })
    expect(one('binary_sensor', { dev_cla: 'occupancy' }).sensor.kind).toBe('motion')
    expect(one('binary_sensor', { dev_cla: 'sparkle' }).device.unmapped?.counts).toEqual({ not_supported: 1 })
  })
})
