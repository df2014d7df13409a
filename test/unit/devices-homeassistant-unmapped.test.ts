import { describe, expect, it } from 'vitest'
import {
  emptyUnmapped,
  MAX_UNMAPPED_OPTIONS,
  noteUnmapped,
  unmappedTotals,
} from '../../src/devices/ha-unmapped.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'

function imported(configs: Record<string, unknown>): DeviceSpec[] {
  const ha = new HomeAssistantImporter()
  const devices = new Map<string, DeviceSpec>()
  for (const [topic, config] of Object.entries(configs)) {
    const r = ha.handle(topic, new TextEncoder().encode(JSON.stringify(config)))
    expect(r.rejections).toEqual([])
    for (const e of r.events) if (e.type === 'upsert') devices.set(e.device.id, e.device)
  }
  return [...devices.values()]
}

describe('options kith does not map', () => {
  it('a switch that uses only what kith reads reports nothing unmapped', () => {
    const [device] = imported({
      'homeassistant/switch/plug/config': {
        name: 'Plug',
        uniq_id: 'plug1',
        cmd_t: 'plug/set',
        stat_t: 'plug/state',
        avty_t: 'plug/status',
      },
    })
    expect(device?.unmapped).toBeUndefined()
  })

  it('counts display-only, partly mapped and unread options per reason, naming each', () => {
    const [device] = imported({
      'homeassistant/switch/plug/config': {
        name: 'Plug',
        uniq_id: 'plug1',
        cmd_t: 'plug/set',
        ic: 'mdi:power',
        ent_cat: 'config',
        qos: 1,
        json_attr_t: 'plug/attrs',
        some_future_option: 3,
      },
    })
    expect(device?.unmapped?.counts).toEqual({
      display_only: 2,
      partly: 1,
      not_supported: 1,
      not_mapped: 1,
    })
    expect(device?.unmapped?.options).toContainEqual(
      expect.objectContaining({ entity: 'plug', option: 'some_future_option', reason: 'not_mapped' }),
    )
    expect(device?.unmapped?.options).toContainEqual(
      expect.objectContaining({ option: 'json_attributes_topic', reason: 'not_supported' }),
    )
  })

  it('adds up the counts of a device’s entities, and totals over devices', () => {
    const devices = imported({
      'homeassistant/sensor/a/config': {
        name: 'A',
        uniq_id: 'a',
        stat_t: 'a/t',
        dev: { ids: ['d1'] },
        ic: 'x',
      },
      'homeassistant/sensor/b/config': {
        name: 'B',
        uniq_id: 'b',
        stat_t: 'b/t',
        dev: { ids: ['d1'] },
        ic: 'y',
      },
      'homeassistant/sensor/c/config': { name: 'C', uniq_id: 'c', stat_t: 'c/t', ic: 'z', qos: 0 },
    })
    expect(devices.map((d) => d.unmapped?.counts)).toEqual([
      { display_only: 2 },
      { display_only: 1, partly: 1 },
    ])
    expect(unmappedTotals(devices)).toEqual({ display_only: 3, partly: 1 })
  })

  it('keeps counting past the listed options, so a flood of options cannot grow a device without bound', () => {
    const report = emptyUnmapped()
    for (let i = 0; i < 500; i++) {
      noteUnmapped(report, { entity: 'e', option: `o${i}`, reason: 'not_mapped', detail: 'x'.repeat(1000) })
    }
    expect(report.counts).toEqual({ not_mapped: 500 })
    expect(report.options).toHaveLength(MAX_UNMAPPED_OPTIONS)
    expect(report.options[0]?.detail.length).toBeLessThanOrEqual(200)
  })
})
