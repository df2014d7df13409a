/**
 * A virtual Zigbee2MQTT bridge for tests: it publishes what Zigbee2MQTT 2.12.1 publishes for its devices and
 * answers as it does. Shapes are copied from Zigbee2MQTT's own expectations (github Koenkk/zigbee2mqtt at
 * 6835cbf5a73116aa4bfa097f2ad0dfb972018997, test/extensions/homeassistant.test.ts, "Should discover devices
 * and groups": the `bulb` light, the `weather_sensor` sensors, the `wall_switch_double` switches) and its
 * behaviour from lib/extension/homeassistant.ts at the same commit:
 * - every entity names the one availability topic `zigbee2mqtt/bridge/state`, retained `{"state":"online"}`
 *   (and the bridge's will says `offline`);
 * - discovery configs are retained; device states are not (Zigbee2MQTT's per-device `retain` defaults false);
 * - `<name>/set` takes JSON (`{"state":"ON","brightness":…}`) or a bare value (`ON`, read as `{state}`), and
 *   the device answers with its whole state as JSON on `zigbee2mqtt/<name>`;
 * - when `homeassistant/status` says `online`, it waits (30 s in Zigbee2MQTT, `birthDelayMs` here), then
 *   re-publishes the bridge state and every device's cached state (`onMQTTMessage`, "publishCached").
 */
import mqtt, { type MqttClient } from 'mqtt'

const ORIGIN = { name: 'Zigbee2MQTT', sw: '2.12.1', url: 'https://www.zigbee2mqtt.io' }
const AVAILABILITY = [{ topic: 'zigbee2mqtt/bridge/state', value_template: '{{ value_json.state }}' }]
const VIA = 'zigbee2mqtt_bridge_0x00124b00120144ae'

export type Z2mKind = 'plug' | 'bulb' | 'weather'

export interface Z2mDevice {
  name: string
  ieee: string
  kind: Z2mKind
  state: Record<string, unknown>
}

export interface Z2mBridgeOptions {
  url: string
  username?: string
  password?: string
  /** extra connect options (TLS) passed to mqtt.js */
  connect?: mqtt.IClientOptions
  devices: Array<{ name: string; kind: Z2mKind }>
  /** spread the discovery messages over this long (a bridge interviewing its network) */
  spreadMs?: number
  /** how long after Home Assistant's birth message the states are published again (Zigbee2MQTT: 30 s) */
  birthDelayMs?: number
  /** publish each device's state once after discovery (not retained) */
  initialState?: boolean
}

export interface Z2mBridge {
  devices: Z2mDevice[]
  /** commands received, in order */
  received: Array<{ topic: string; payload: string }>
  /** birth messages answered */
  births: number
  stop(): Promise<void>
}

const deviceBlock = (d: Z2mDevice, model: string, modelId: string, manufacturer: string) => ({
  identifiers: [`zigbee2mqtt_${d.ieee}`],
  manufacturer,
  model,
  model_id: modelId,
  name: d.name,
  via_device: VIA,
})

/** The discovery messages Zigbee2MQTT publishes for one device: [topic, config] pairs. */
export function z2mDiscovery(d: Z2mDevice): Array<[string, Record<string, unknown>]> {
  const common = { origin: ORIGIN, availability: AVAILABILITY }
  if (d.kind === 'bulb') {
    const device = deviceBlock(
      d,
      'TRADFRI bulb E26/E27, white spectrum, globe, opal, 980 lm',
      'LED1545G12',
      'IKEA',
    )
    return [
      [
        `homeassistant/light/${d.ieee}/light/config`,
        {
          ...common,
          brightness: true,
          brightness_scale: 254,
          supported_color_modes: ['color_temp'],
          min_mireds: 250,
          max_mireds: 454,
          command_topic: `zigbee2mqtt/${d.name}/set`,
          device,
          effect: true,
          effect_list: ['blink', 'breathe', 'okay', 'channel_change', 'finish_effect', 'stop_effect'],
          name: null,
          schema: 'json',
          state_topic: `zigbee2mqtt/${d.name}`,
          object_id: d.name,
          default_entity_id: `light.${d.name}`,
          unique_id: `${d.ieee}_light_zigbee2mqtt`,
        },
      ],
    ]
  }
  if (d.kind === 'plug') {
    const device = deviceBlock(d, 'Smart plug (EU)', 'SP 120', 'Innr')
    return [
      [
        `homeassistant/switch/${d.ieee}/switch/config`,
        {
          ...common,
          command_topic: `zigbee2mqtt/${d.name}/set`,
          device,
          name: null,
          payload_off: 'OFF',
          payload_on: 'ON',
          state_topic: `zigbee2mqtt/${d.name}`,
          object_id: d.name,
          default_entity_id: `switch.${d.name}`,
          unique_id: `${d.ieee}_switch_zigbee2mqtt`,
          value_template: '{{ value_json.state }}',
        },
      ],
      [
        `homeassistant/sensor/${d.ieee}/power/config`,
        {
          ...common,
          unit_of_measurement: 'W',
          device_class: 'power',
          state_class: 'measurement',
          value_template: '{{ value_json["power"] }}',
          state_topic: `zigbee2mqtt/${d.name}`,
          object_id: `${d.name}_power`,
          default_entity_id: `sensor.${d.name}_power`,
          unique_id: `${d.ieee}_power_zigbee2mqtt`,
          enabled_by_default: true,
          device,
        },
      ],
    ]
  }
  const device = deviceBlock(d, 'Temperature and humidity sensor', 'WSDCGQ11LM', 'Aqara')
  const sensor = (key: string, unit: string) => [
    `homeassistant/sensor/${d.ieee}/${key}/config`,
    {
      ...common,
      unit_of_measurement: unit,
      device_class: key,
      state_class: 'measurement',
      value_template: `{{ value_json["${key}"] }}`,
      state_topic: `zigbee2mqtt/${d.name}`,
      object_id: `${d.name}_${key}`,
      default_entity_id: `sensor.${d.name}_${key}`,
      unique_id: `${d.ieee}_${key}_zigbee2mqtt`,
      enabled_by_default: true,
      device,
    },
  ]
  return [sensor('temperature', '°C'), sensor('humidity', '%')] as Array<[string, Record<string, unknown>]>
}

const initial = (kind: Z2mKind): Record<string, unknown> =>
  kind === 'plug'
    ? { state: 'OFF', power: 0, linkquality: 120 }
    : kind === 'bulb'
      ? { state: 'OFF', brightness: 254, color_temp: 370, color_mode: 'color_temp', linkquality: 90 }
      : { temperature: 21.5, humidity: 48, battery: 97, linkquality: 60 }

/** Applies a `<name>/set` payload as Zigbee2MQTT's converters would, for the kinds here. */
function apply(d: Z2mDevice, payload: string): void {
  let command: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(payload)
    command =
      parsed != null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { state: parsed }
  } catch {
    command = { state: payload }
  }
  if (d.kind === 'weather') return
  const state = String(command.state ?? '').toUpperCase()
  if (state === 'ON' || state === 'OFF') d.state.state = state
  if (state === 'TOGGLE') d.state.state = d.state.state === 'ON' ? 'OFF' : 'ON'
  if (d.kind === 'plug') d.state.power = d.state.state === 'ON' ? 41.6 : 0
  if (d.kind === 'bulb') {
    if (typeof command.brightness === 'number') d.state.brightness = command.brightness
    if (typeof command.color_temp === 'number') d.state.color_temp = command.color_temp
  }
}

/**
 * Starts the bridge: connects (with the will Zigbee2MQTT sets), says it is online, and publishes the devices'
 * discovery configs over `spreadMs`.
 *
 * @example
 * const z2m = await startZigbee2Mqtt({ url, devices: [{ name: 'plug_1', kind: 'plug' }] })
 */
export async function startZigbee2Mqtt(options: Z2mBridgeOptions): Promise<Z2mBridge> {
  const devices: Z2mDevice[] = options.devices.map((d, i) => ({
    ...d,
    ieee: `0x00178801${(0x04e45500 + i).toString(16).padStart(8, '0')}`,
    state: initial(d.kind),
  }))
  const client: MqttClient = await mqtt.connectAsync(options.url, {
    clientId: `z2m-${Math.random().toString(16).slice(2, 10)}`,
    ...(options.username != null ? { username: options.username } : {}),
    ...(options.password != null ? { password: options.password } : {}),
    will: {
      topic: 'zigbee2mqtt/bridge/state',
      payload: Buffer.from('{"state":"offline"}'),
      qos: 1,
      retain: true,
    },
    ...options.connect,
  })
  const bridge: Z2mBridge = {
    devices,
    received: [],
    births: 0,
    async stop() {
      for (const t of timers) clearTimeout(t)
      await client.endAsync(true)
    },
  }
  const timers: NodeJS.Timeout[] = []
  const byName = new Map(devices.map((d) => [d.name, d]))
  const publishState = (d: Z2mDevice) =>
    client.publishAsync(`zigbee2mqtt/${d.name}`, JSON.stringify(d.state), { qos: 1, retain: false })
  client.on('message', (topic, payload) => {
    const text = payload.toString()
    if (topic === 'homeassistant/status') {
      if (text.toLowerCase() !== 'online') return
      bridge.births += 1
      timers.push(
        setTimeout(() => {
          void (async () => {
            await client.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', {
              qos: 1,
              retain: true,
            })
            for (const d of devices) await publishState(d)
          })().catch(() => undefined)
        }, options.birthDelayMs ?? 30_000),
      )
      return
    }
    const name = /^zigbee2mqtt\/(.+)\/set$/.exec(topic)?.[1]
    const d = name != null ? byName.get(name) : undefined
    if (d == null) return
    bridge.received.push({ topic, payload: text })
    apply(d, text)
    void publishState(d).catch(() => undefined)
  })
  await client.subscribeAsync(['zigbee2mqtt/+/set', 'homeassistant/status'], { qos: 1 })
  await client.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', { qos: 1, retain: true })
  const messages = devices.flatMap((d) => z2mDiscovery(d).map(([topic, config]) => ({ d, topic, config })))
  const gap = messages.length > 1 ? (options.spreadMs ?? 0) / (messages.length - 1) : 0
  for (const [i, m] of messages.entries()) {
    if (i > 0 && gap > 0) await new Promise((r) => setTimeout(r, gap))
    await client.publishAsync(m.topic, JSON.stringify(m.config), { qos: 1, retain: true })
  }
  if (options.initialState ?? true) for (const d of devices) await publishState(d)
  return bridge
}
