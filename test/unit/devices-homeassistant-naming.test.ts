/**
 * Device and entity names as Home Assistant gives them: mqtt/entity.py `_set_entity_name` (name, name: null,
 * no name), and the device registry merging the device information every entity of a device brings (a
 * Tasmota entity's device block holds only the chip id; its status sensor carries the name, model and maker:
 * arendst/Tasmota tasmota/tasmota_xdrv_driver/xdrv_12_home_assistant.ino, HASS_DISCOVER_DEVICE).
 */
import { describe, expect, it } from 'vitest'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'

function feed(messages: [string, Record<string, unknown>][]): DeviceSpec[] {
  const ha = new HomeAssistantImporter()
  const devices = new Map<string, DeviceSpec>()
  for (const [topic, config] of messages) {
    const r = ha.handle(topic, new TextEncoder().encode(JSON.stringify(config)))
    expect(r.rejections).toEqual([])
    for (const e of r.events) if (e.type === 'upsert') devices.set(e.device.id, e.device)
  }
  return [...devices.values()]
}

const SHUTTER: [string, Record<string, unknown>] = [
  'homeassistant/cover/1C8E2A_SHT_1/config',
  {
    name: 'Living Shutter',
    cmd_t: 'cmnd/tasmota_1C8E2A/Backlog',
    uniq_id: '1C8E2A_SHT_1',
    dev: { ids: ['1C8E2A'] },
  },
]
const DIMMER: [string, Record<string, unknown>] = [
  'homeassistant/light/1C8E2A_LI_1/config',
  {
    name: 'Kitchen Dimmer',
    cmd_t: 'cmnd/tasmota_1C8E2A/POWER',
    uniq_id: '1C8E2A_LI_1',
    dev: { ids: ['1C8E2A'] },
  },
]
const STATUS: [string, Record<string, unknown>] = [
  'homeassistant/sensor/1C8E2A_status/config',
  {
    name: 'Shutter status',
    stat_t: 'tele/tasmota_1C8E2A/HASS_STATE',
    uniq_id: '1C8E2A_status',
    dev: { ids: ['1C8E2A'], name: 'Shutter', mdl: 'Shelly 2.5', sw: '14.3.0(tasmota)', mf: 'Tasmota' },
  },
]

describe('naming like Home Assistant', () => {
  it('a device block with only identifiers takes the name another entity of the device gives it', () => {
    const [d] = feed([SHUTTER, DIMMER, STATUS])
    expect(d).toMatchObject({ title: 'Shutter', manufacturer: 'Tasmota', model: 'Shelly 2.5' })
    expect(d?.actions.map((a) => a.title).sort()).toEqual(['Kitchen Dimmer', 'Living Shutter'])
  })

  it('before any entity names the device, it is not named after its first entity', () => {
    const [d] = feed([SHUTTER, DIMMER])
    expect(d?.title).toBe('1C8E2A')
    expect(d?.title).not.toContain('Living Shutter')
  })

  it('name: null is the device’s name, filled in when the naming entity arrives later', () => {
    const light: [string, Record<string, unknown>] = [
      'homeassistant/light/0x01/light/config',
      { name: null, cmd_t: 'zigbee2mqtt/bulb/set', uniq_id: '0x01_light', dev: { ids: ['z2m_0x01'] } },
    ]
    const named: [string, Record<string, unknown>] = [
      'homeassistant/sensor/0x01/linkquality/config',
      {
        name: 'Linkquality',
        stat_t: 'zigbee2mqtt/bulb',
        uniq_id: '0x01_lqi',
        dev: { ids: ['z2m_0x01'], name: 'Hallway bulb', mf: 'IKEA' },
      },
    ]
    const before = feed([light])[0]
    expect(before?.actions[0]?.title).toBe('z2m_0x01')
    const [d] = feed([light, named])
    expect(d?.title).toBe('Hallway bulb')
    expect(d?.actions[0]).toMatchObject({
      title: 'Hallway bulb',
      description: 'Turns Hallway bulb on or off.',
    })
  })

  it('no name: the device class’s name for sensors, the device’s name for the rest', () => {
    const [d] = feed([
      [
        'homeassistant/sensor/th1/temperature/config',
        {
          device_class: 'temperature',
          stat_t: 'th1/t',
          uniq_id: 'th1_t',
          dev: { ids: ['th1'], name: 'Bedroom' },
        },
      ],
      [
        'homeassistant/switch/th1/relay/config',
        { cmd_t: 'th1/set', uniq_id: 'th1_r', dev: { ids: ['th1'], name: 'Bedroom' } },
      ],
    ])
    expect(d?.sensors.find((s) => s.topic === 'th1/t')?.title).toBe('Temperature')
    expect(d?.actions[0]?.title).toBe('Bedroom')
  })

  it('an entity with no device block is a device titled by its name, or its object id', () => {
    const devices = feed([
      ['homeassistant/switch/garden_pump/config', { cmd_t: 'pump/set' }],
      ['homeassistant/switch/porch/config', { name: 'Porch light', cmd_t: 'porch/set' }],
    ])
    expect(devices.map((d) => d.title).sort()).toEqual(['Garden pump', 'Porch light'])
  })
})
