/**
 * Home Assistant discovery through a real kith node and its embedded broker (aedes): a Tasmota dimmer as
 * `SetOption19 1` announces it (arendst/Tasmota tasmota/tasmota_xdrv_driver/xdrv_12_home_assistant.ino at
 * 19dcf0df1271066e73120bf9ea317f8b60b8317a: the light's device block holds only the chip id, the status sensor
 * carries the device's name; `on_cmd_type: brightness`, `bri_scl: 100`) and a Zigbee2MQTT colour bulb
 * (Koenkk/zigbee2mqtt lib/extension/homeassistant.ts, `schema: json`). A user sees in GET /v1/devices what each
 * import could not map, per device and in total; an agent's calls publish what Home Assistant publishes
 * (tests/components/mqtt/test_light.py test_on_command_brightness_scaled, test_light_json.py) and are confirmed
 * by the device's state reply.
 */
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { KithNode } from '../../src/node/node.ts'
import { apiJson, tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function node(): Promise<KithNode> {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  const n = await startTestNode(join(dir, 'n'))
  cleanups.push(() => n.stop())
  return n
}

async function client(url: string, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: id })
  cleanups.push(() => c.endAsync(true))
  return c
}

const DEV = { ids: ['5B8F21'] }
const AVAILABILITY = { avty_t: 'tele/tasmota_5B8F21/LWT', pl_avail: 'Online', pl_not_avail: 'Offline' }
const DIMMER = {
  name: 'Kitchen Dimmer',
  stat_t: 'tele/tasmota_5B8F21/STATE',
  ...AVAILABILITY,
  cmd_t: 'cmnd/tasmota_5B8F21/POWER',
  stat_val_tpl: '{{value_json.POWER}}',
  pl_off: 'OFF',
  pl_on: 'ON',
  bri_cmd_t: 'cmnd/tasmota_5B8F21/Dimmer',
  bri_stat_t: 'tele/tasmota_5B8F21/STATE',
  bri_scl: 100,
  on_cmd_type: 'brightness',
  bri_val_tpl: '{{value_json.Dimmer}}',
  uniq_id: '5B8F21_LI_1',
  dev: DEV,
}
const STATUS = {
  name: 'Kitchen status',
  stat_t: 'tele/tasmota_5B8F21/HASS_STATE',
  ...AVAILABILITY,
  json_attr_t: 'tele/tasmota_5B8F21/HASS_STATE',
  unit_of_meas: '%',
  val_tpl: "{{value_json['RSSI']}}",
  ic: 'mdi:information-outline',
  uniq_id: '5B8F21_status',
  dev: { ...DEV, name: 'Kitchen', mdl: 'Martin Jerry MJ-SD01', sw: '12.5.0(tasmota)', mf: 'Tasmota' },
}
const BULB = {
  availability: [{ topic: 'zigbee2mqtt/bridge/state', value_template: '{{ value_json.state }}' }],
  brightness: true,
  brightness_scale: 254,
  command_topic: 'zigbee2mqtt/Hue bulb/set',
  device: { identifiers: ['zigbee2mqtt_0x0017880102a1b2c3'], name: 'Hue bulb', manufacturer: 'Philips' },
  effect: true,
  effect_list: ['blink', 'breathe', 'okay', 'channel_change', 'finish_effect', 'stop_effect'],
  max_mireds: 500,
  min_mireds: 153,
  name: null,
  object_id: 'hue_bulb',
  origin: { name: 'Zigbee2MQTT', sw: '1.42.0', url: 'https://www.zigbee2mqtt.io' },
  schema: 'json',
  state_topic: 'zigbee2mqtt/Hue bulb',
  supported_color_modes: ['xy', 'color_temp'],
  unique_id: '0x0017880102a1b2c3_light_zigbee2mqtt',
}

interface DevicesView {
  devices: { id: string; title: string; online: boolean; unmapped?: { counts: Record<string, number> } }[]
  unmapped: Record<string, number>
}

describe('Home Assistant discovery through a node', () => {
  it('GET /v1/devices counts what was not mapped; a Tasmota dimmer turns on with Dimmer, a bulb with JSON', async () => {
    const n = await node()
    const url = n.devices.brokerUrl() as string
    const device = await client(url, 'devices')
    const seen: { topic: string; payload: string }[] = []
    device.on('message', (topic, payload) => {
      const text = payload.toString()
      seen.push({ topic, payload: text })
      // the devices answer as their firmware does: Tasmota's STATE, Zigbee2MQTT's device state
      if (topic === 'cmnd/tasmota_5B8F21/Dimmer') {
        void device.publishAsync(
          'tele/tasmota_5B8F21/STATE',
          JSON.stringify({ POWER: 'ON', Dimmer: Number(text) }),
        )
      } else if (topic === 'cmnd/tasmota_5B8F21/POWER') {
        void device.publishAsync('tele/tasmota_5B8F21/STATE', JSON.stringify({ POWER: text, Dimmer: 100 }))
      } else if (topic === 'zigbee2mqtt/Hue bulb/set') {
        const command = JSON.parse(text) as Record<string, unknown>
        void device.publishAsync('zigbee2mqtt/Hue bulb', JSON.stringify({ brightness: 254, ...command }))
      }
    })
    await device.subscribeAsync(['cmnd/tasmota_5B8F21/#', 'zigbee2mqtt/Hue bulb/set'], { qos: 1 })
    const retained = { qos: 1, retain: true } as const
    await device.publishAsync('tele/tasmota_5B8F21/LWT', 'Online', retained)
    await device.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', retained)
    await device.publishAsync('homeassistant/light/5B8F21_LI_1/config', JSON.stringify(DIMMER), retained)
    await device.publishAsync('homeassistant/sensor/5B8F21_status/config', JSON.stringify(STATUS), retained)
    await device.publishAsync(
      'homeassistant/light/0x0017880102a1b2c3/light/config',
      JSON.stringify(BULB),
      retained,
    )

    let view: DevicesView = { devices: [], unmapped: {} }
    await waitFor('both devices online', async () => {
      view = await apiJson<DevicesView>(n.apiUrl, '/v1/devices')
      return view.devices.filter((d) => d.online).length === 2
    })
    const tasmota = view.devices.find((d) => d.id === '5b8f21')
    const bulb = view.devices.find((d) => d.id !== '5b8f21')
    // named as Home Assistant names them: the status sensor names the Tasmota device; name: null is the bulb's
    expect(tasmota).toMatchObject({ title: 'Kitchen' })
    expect(bulb).toMatchObject({ title: 'Hue bulb' })
    // the status sensor's icon (display only) and attributes topic (not supported), the dimmer's turn-on (partly)
    expect(tasmota?.unmapped?.counts).toEqual({ display_only: 1, not_supported: 1, partly: 1 })
    expect(bulb?.unmapped?.counts).toEqual({ display_only: 1 })
    expect(view.unmapped).toEqual({ display_only: 2, not_supported: 1, partly: 1 })

    const call = (capability: string, input: unknown) =>
      n.execution.delegate({ target: { capability }, input, timeoutMs: 10_000 })
    expect(await call('5b8f21.li_1', { on: true })).toMatchObject({ ok: true, output: { confirmed: true } })
    expect(await call('5b8f21.li_1', { on: false })).toMatchObject({ ok: true, output: { confirmed: true } })
    const light = `${bulb?.id}.light`
    const res = await call(light, { on: true, brightness: 128, color_temp_kelvin: 2700 })
    expect(res).toMatchObject({ ok: true, output: { confirmed: true } })
    expect(seen.map((m) => `${m.topic} ${m.payload}`)).toEqual([
      'cmnd/tasmota_5B8F21/Dimmer 100',
      'cmnd/tasmota_5B8F21/POWER OFF',
      'zigbee2mqtt/Hue bulb/set {"state":"ON","brightness":127,"color_temp":370}',
    ])
  }, 60_000)
})
