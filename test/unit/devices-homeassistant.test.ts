import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { MAX_DISCOVERED_TOPIC_BYTES, topicProblem } from '../../src/util/mqtt-topic.ts'
import { compileTemplate, isTruthy } from '../../src/devices/template.ts'
import {
  type ActionSpec,
  type DeviceSpec,
  type ImportRejection,
  type SensorSpec,
} from '../../src/devices/types.ts'
import { DEVICE_ID, PART_ID } from '../../src/config/devices-schema.ts'

/** the rules kith holds topics taken from discovery messages to */
const discovered = { maxBytes: MAX_DISCOVERED_TOPIC_BYTES }

const FIXTURES = join(import.meta.dirname, '../../firmware-bridge/fixtures/homeassistant')

interface Message {
  topic: string
  payload: unknown
}

function fixture(name: string): Message[] {
  const data = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Message | Message[]
  return Array.isArray(data) ? data : [data]
}

function bytes(payload: unknown): Uint8Array {
  return new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload))
}

/** Feeds messages and keeps the devices as the events leave them. */
function feed(ha: HomeAssistantImporter, messages: Message[], devices = new Map<string, DeviceSpec>()) {
  const rejections: ImportRejection[] = []
  for (const m of messages) {
    const r = ha.handle(m.topic, bytes(m.payload))
    rejections.push(...r.rejections)
    for (const e of r.events) {
      if (e.type === 'upsert') devices.set(e.device.id, e.device)
      else devices.delete(e.deviceId)
    }
  }
  return { devices, rejections }
}

function only(devices: Map<string, DeviceSpec>): DeviceSpec {
  expect(devices.size).toBe(1)
  return [...devices.values()][0]!
}

function sensor(device: DeviceSpec, id: string): SensorSpec {
  const s = device.sensors.find((x) => x.id === id)
  expect(s, `sensor ${id} in ${device.sensors.map((x) => x.id).join(',')}`).toBeDefined()
  return s!
}

function action(device: DeviceSpec, id: string): ActionSpec {
  const a = device.actions.find((x) => x.id === id)
  expect(a, `action ${id} in ${device.actions.map((x) => x.id).join(',')}`).toBeDefined()
  return a!
}

function payloadFor(a: ActionSpec, input: unknown): string {
  return compileTemplate(a.payload).render({ input, task: 't1', device: 'd' })
}

function confirms(a: ActionSpec, input: unknown, statePayload: string): boolean {
  let json: unknown
  try {
    json = JSON.parse(statePayload)
  } catch {
    json = undefined
  }
  return isTruthy(
    compileTemplate(a.confirm!.when).render({ input, task: 't1', value: statePayload, value_json: json }),
  )
}

function read(s: SensorSpec, payload: string): string {
  let json: unknown
  try {
    json = JSON.parse(payload)
  } catch {
    json = undefined
  }
  return s.value == null ? payload : compileTemplate(s.value).render({ value: payload, value_json: json })
}

/** Every id valid, every topic publishable, every template compiling. */
function wellFormed(device: DeviceSpec): void {
  expect(device.id).toMatch(DEVICE_ID)
  const ids = [...device.sensors, ...device.actions].map((p) => p.id)
  expect(new Set(ids).size).toBe(ids.length)
  for (const id of ids) expect(id).toMatch(PART_ID)
  for (const s of device.sensors) {
    expect(topicProblem(s.topic, discovered)).toBeUndefined()
    if (s.value != null) compileTemplate(s.value)
  }
  for (const a of device.actions) {
    expect(topicProblem(a.commandTopic, discovered)).toBeUndefined()
    compileTemplate(a.payload)
    if (a.confirm != null) {
      expect(topicProblem(a.confirm.topic, discovered)).toBeUndefined()
      compileTemplate(a.confirm.when)
    }
  }
  for (const av of device.availability) {
    expect(topicProblem(av.topic, discovered)).toBeUndefined()
    if (av.value != null) compileTemplate(av.value)
  }
}

describe('fixtures', () => {
  it('every fixture imports without rejections into well-formed devices', () => {
    for (const name of readdirSync(FIXTURES)) {
      const { devices, rejections } = feed(new HomeAssistantImporter(), fixture(name))
      expect(rejections, name).toEqual([])
      expect(devices.size, name).toBe(1)
      wellFormed(only(devices))
    }
  })

  it('a Zigbee2MQTT plug: switch action with state confirmation, power, energy and linkquality sensors', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('zigbee2mqtt-plug.json')).devices)
    expect(d).toMatchObject({
      id: 'zigbee2mqtt_0xa4c138d1e2f3a4b5',
      title: 'Office plug',
      source: 'homeassistant',
      manufacturer: 'Tuya',
      tags: ['homeassistant', 'sensor', 'switch', 'zigbee2mqtt'],
      availabilityMode: 'all',
    })
    expect(d.sensors.map((s) => s.id).sort()).toEqual(['energy', 'linkquality', 'power', 'switch_state'])
    expect(sensor(d, 'power')).toMatchObject({ kind: 'power', unit: 'W', topic: 'zigbee2mqtt/Office plug' })
    expect(read(sensor(d, 'power'), '{"power":12.5,"state":"ON"}')).toBe('12.5')
    expect(read(sensor(d, 'switch_state'), '{"state":"ON"}')).toBe('true')
    const sw = action(d, 'switch')
    expect(sw).toMatchObject({ risk: 'medium', commandTopic: 'zigbee2mqtt/Office plug/set' })
    expect(sw.input).toEqual({
      type: 'object',
      properties: { on: { type: 'boolean', description: 'true to turn on, false to turn off' } },
      required: ['on'],
      additionalProperties: false,
    })
    expect(payloadFor(sw, { on: true })).toBe('ON')
    expect(payloadFor(sw, { on: false })).toBe('OFF')
    expect(sw.confirm).toMatchObject({ topic: 'zigbee2mqtt/Office plug', timeout: 5000 })
    expect(confirms(sw, { on: true }, '{"state":"ON","power":3}')).toBe(true)
    expect(confirms(sw, { on: true }, '{"state":"OFF"}')).toBe(false)
    expect(confirms(sw, { on: false }, '{"state":"OFF"}')).toBe(true)
  })

  it('an Aqara temperature sensor: temperature, humidity, pressure, battery', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('zigbee2mqtt-aqara-temperature.json')).devices)
    expect(d.actions).toEqual([])
    expect(sensor(d, 'temperature')).toMatchObject({
      kind: 'temperature',
      unit: '°C',
      schema: { type: 'number' },
    })
    expect(sensor(d, 'humidity')).toMatchObject({ kind: 'humidity', unit: '%' })
    expect(sensor(d, 'pressure')).toMatchObject({ kind: 'atmospheric_pressure', unit: 'hPa' })
    expect(sensor(d, 'battery')).toMatchObject({ kind: 'battery' })
    expect(read(sensor(d, 'temperature'), '{"temperature":21.37,"humidity":48}')).toBe('21.37')
  })

  it('a door contact: binary sensor whose payload_on is JSON false (open)', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('zigbee2mqtt-door-contact.json')).devices)
    const contact = sensor(d, 'contact')
    expect(contact).toMatchObject({ kind: 'contact', schema: { type: 'boolean' } })
    expect(read(contact, '{"contact":false,"battery":91}')).toBe('true')
    expect(read(contact, '{"contact":true}')).toBe('false')
  })

  it('a dimmable bulb with schema json: JSON command body with brightness on the device scale', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('zigbee2mqtt-bulb.json')).devices)
    const light = action(d, 'light')
    expect(light.input.properties).toMatchObject({
      on: { type: 'boolean' },
      brightness: { type: 'integer', minimum: 1, maximum: 255, description: 'brightness from 1 to 255' },
      effect: {
        type: 'string',
        enum: ['blink', 'breathe', 'okay', 'channel_change', 'finish_effect', 'stop_effect'],
      },
    })
    expect(payloadFor(light, { on: true, effect: 'okay' })).toBe('{"state":"ON","effect":"okay"}')
    expect(payloadFor(light, { on: true })).toBe('{"state":"ON"}')
    expect(payloadFor(light, { on: true, brightness: 128 })).toBe('{"state":"ON","brightness":127}')
    expect(payloadFor(light, { on: true, brightness: 255 })).toBe('{"state":"ON","brightness":254}')
    expect(payloadFor(light, { on: false, brightness: 9 })).toBe('{"state":"OFF"}')
    expect(confirms(light, { on: true, brightness: 128 }, '{"state":"ON","brightness":127}')).toBe(true)
    expect(confirms(light, { on: true, brightness: 128 }, '{"state":"ON","brightness":40}')).toBe(false)
    expect(confirms(light, { on: false }, '{"state":"OFF","brightness":127}')).toBe(true)
    expect(read(sensor(d, 'light_state'), '{"state":"OFF"}')).toBe('false')
  })

  it('a lock: high risk, LOCK/UNLOCK payloads, confirmed by the lock state', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('zigbee2mqtt-lock.json')).devices)
    const lock = action(d, 'lock')
    expect(lock.risk).toBe('high')
    expect(lock.input.required).toEqual(['locked'])
    expect(payloadFor(lock, { locked: true })).toBe('LOCK')
    expect(payloadFor(lock, { locked: false })).toBe('UNLOCK')
    expect(confirms(lock, { locked: true }, '{"state":"LOCK"}')).toBe(true)
    expect(confirms(lock, { locked: false }, '{"state":"LOCK"}')).toBe(false)
    expect(sensor(d, 'lock_state')).toMatchObject({ kind: 'lock', value: '{{ value_json.state }}' })
  })

  it('Tasmota: abbreviated keys, the chip id stripped from part names, LWT availability', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('tasmota-sonoff-th.json')).devices)
    expect(d).toMatchObject({ id: '9c1d2e', title: 'Tasmota', manufacturer: 'Tasmota', model: 'Sonoff TH' })
    expect(d.sensors.map((s) => s.id).sort()).toEqual([
      'am2301_humidity',
      'am2301_temperature',
      'rl_1_state',
      'status',
    ])
    expect(
      read(
        sensor(d, 'am2301_temperature'),
        '{"Time":"2024-05-01T10:00:00","AM2301":{"Temperature":22.4,"Humidity":51.2}}',
      ),
    ).toBe('22.4')
    const relay = action(d, 'rl_1')
    expect(relay.commandTopic).toBe('cmnd/tasmota_9C1D2E/POWER')
    expect(payloadFor(relay, { on: true })).toBe('ON')
    expect(confirms(relay, { on: true }, '{"POWER":"ON"}')).toBe(true)
    // a RESULT message for another command does not confirm anything
    expect(confirms(relay, { on: true }, '{"Dimmer":30}')).toBe(false)
    expect(d.availability).toEqual([
      { topic: 'tele/tasmota_9C1D2E/LWT', online: ['Online'], offline: ['Offline'] },
    ])
  })

  it('a Tasmota dimmer: on/off plus a brightness action scaled to bri_scl 100', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('tasmota-dimmer.json')).devices)
    const brightness = action(d, 'li_1_brightness')
    expect(brightness.commandTopic).toBe('cmnd/tasmota_5B8F21/Dimmer')
    expect(payloadFor(brightness, { brightness: 255 })).toBe('100')
    expect(payloadFor(brightness, { brightness: 128 })).toBe('50')
    expect(payloadFor(brightness, { brightness: 1 })).toBe('1')
    expect(confirms(brightness, { brightness: 128 }, '{"POWER":"ON","Dimmer":50}')).toBe(true)
  })

  it('ESPHome: plain state payloads, a relay switch, motion, availability on <node>/status', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('esphome-living-room.json')).devices)
    expect(d).toMatchObject({
      id: 'a4cf12abcdef',
      title: 'Living Room Sensor',
      manufacturer: 'Espressif',
      model: 'esp32dev',
    })
    expect(sensor(d, 'temperature')).toMatchObject({
      topic: 'living-room-sensor/sensor/temperature/state',
      unit: '°C',
    })
    expect(sensor(d, 'temperature').value).toBeUndefined()
    expect(read(sensor(d, 'motion'), 'ON')).toBe('true')
    const relay = action(d, 'relay')
    expect(relay.commandTopic).toBe('living-room-sensor/switch/relay/command')
    expect(confirms(relay, { on: false }, 'OFF')).toBe(true)
    expect(d.availability).toEqual([
      { topic: 'living-room-sensor/status', online: ['online'], offline: ['offline'] },
    ])
  })
})

describe('discovery semantics', () => {
  it('an empty payload deletes the entity, and the device with its last entity', () => {
    const ha = new HomeAssistantImporter()
    const messages = fixture('zigbee2mqtt-door-contact.json')
    feed(ha, messages)
    const [contact, battery, linkquality] = messages.map((m) => m.topic)
    let r = ha.handle(battery!, new Uint8Array())
    expect(r.events).toHaveLength(1)
    expect(r.events[0]!.type).toBe('upsert')
    const d = (r.events[0] as { device: DeviceSpec }).device
    expect(d.sensors.map((s) => s.id).sort()).toEqual(['contact', 'linkquality'])
    ha.handle(contact!, new Uint8Array())
    r = ha.handle(linkquality!, new Uint8Array())
    expect(r.events).toEqual([{ type: 'remove', deviceId: 'zigbee2mqtt_0x00158d0002c3d4e5' }])
    // deleting again, or something never seen, is quiet
    expect(ha.handle(linkquality!, new Uint8Array())).toEqual({ events: [], rejections: [] })
  })

  it('an identical retained re-delivery reports nothing; a change reports the device again', () => {
    const ha = new HomeAssistantImporter()
    const [m] = fixture('zigbee2mqtt-lock.json')
    expect(ha.handle(m!.topic, bytes(m!.payload)).events).toHaveLength(1)
    expect(ha.handle(m!.topic, bytes(m!.payload)).events).toEqual([])
    const changed = { ...(m!.payload as object), state_locked: 'LOCKED' }
    expect(ha.handle(m!.topic, bytes(changed)).events).toHaveLength(1)
  })

  it('expands abbreviations in the config, the device block, the origin and availability entries', () => {
    const { devices } = feed(new HomeAssistantImporter(), [
      {
        topic: 'homeassistant/switch/boiler/config',
        payload: {
          name: 'Boiler',
          uniq_id: 'boiler-1',
          cmd_t: 'boiler/cmd',
          stat_t: 'boiler/state',
          pl_on: '1',
          pl_off: '0',
          stat_on: 'running',
          stat_off: 'idle',
          val_tpl: '{{ value_json.st }}',
          ret: true,
          avty: [{ t: 'boiler/lwt', pl_avail: 'up', pl_not_avail: 'down', val_tpl: '{{ value | lower }}' }],
          avty_mode: 'any',
          dev: { ids: ['boiler-hw-7'], name: 'Boiler', mf: 'ACME', mdl: 'B-7', sw: '1.2' },
          o: { name: 'acme2mqtt', sw: '0.1' },
        },
      },
    ])
    const d = only(devices)
    expect(d).toMatchObject({
      id: 'boiler-hw-7',
      manufacturer: 'ACME',
      model: 'B-7',
      availabilityMode: 'any',
    })
    expect(d.tags).toContain('acme2mqtt')
    expect(d.availability).toEqual([
      { topic: 'boiler/lwt', value: '{{ value | lower }}', online: ['up'], offline: ['down'] },
    ])
    const a = action(d, 'boiler')
    expect(a.retain).toBe(true)
    expect(payloadFor(a, { on: true })).toBe('1')
    expect(confirms(a, { on: true }, '{"st":"running"}')).toBe(true)
    expect(confirms(a, { on: false }, '{"st":"running"}')).toBe(false)
    expect(read(sensor(d, 'boiler_state'), '{"st":"idle"}')).toBe('false')
  })

  it('replaces ~ at the start or end of topic values, also inside the availability list', () => {
    const d = only(feed(new HomeAssistantImporter(), fixture('tilde-light.json')).devices)
    expect(action(d, 'kitchen').commandTopic).toBe('homeassistant/light/kitchen/set')
    expect(action(d, 'kitchen').confirm?.topic).toBe('homeassistant/light/kitchen/state')
    expect(d.availability[0]?.topic).toBe('homeassistant/light/kitchen/availability')
    const end = only(
      feed(new HomeAssistantImporter(), [
        {
          topic: 'homeassistant/sensor/t/config',
          payload: { '~': 'house/attic', stat_t: 'temp/~', uniq_id: 't' },
        },
      ]).devices,
    )
    expect(end.sensors[0]?.topic).toBe('temp/house/attic')
  })

  it('reads the device-based form: shared options, components by id, removal of a component and of the device', () => {
    const ha = new HomeAssistantImporter()
    const [m] = fixture('device-based.json')
    const d = only(feed(ha, [m!]).devices)
    expect(d).toMatchObject({
      id: '0affd2',
      title: 'Bedroom sensor',
      manufacturer: 'Bla electronics',
      model: 'xya',
    })
    expect(d.tags).toContain('bla2mqtt')
    expect(d.sensors.map((s) => [s.id, s.kind, s.topic])).toEqual([
      ['some_unique_component_id1', 'temperature', 'sensorBedroom/state'],
      ['some_unique_id2', 'humidity', 'sensorBedroom/state'],
    ])
    // a component reduced to its platform is removed
    const payload = structuredClone(m!.payload) as { cmps: Record<string, unknown> }
    payload.cmps.some_unique_id2 = { p: 'sensor' }
    let r = ha.handle(m!.topic, bytes(payload))
    expect((r.events[0] as { device: DeviceSpec }).device.sensors.map((s) => s.id)).toEqual([
      'some_unique_component_id1',
    ])
    r = ha.handle(m!.topic, new Uint8Array())
    expect(r.events).toEqual([{ type: 'remove', deviceId: '0affd2' }])
  })

  it('keeps the good components of a device config and refuses the bad ones', () => {
    const { devices, rejections } = feed(new HomeAssistantImporter(), [
      {
        topic: 'homeassistant/device/mixed/config',
        payload: {
          dev: { ids: 'mixed-1', name: 'Mixed' },
          cmps: {
            good: { p: 'sensor', stat_t: 'mixed/t', dev_cla: 'temperature' },
            nope: { p: 'teleporter', stat_t: 'mixed/x' },
            bad: { p: 'switch', stat_t: 'mixed/s' },
          },
        },
      },
    ])
    expect(only(devices).sensors.map((s) => s.id)).toEqual(['good'])
    expect(rejections.map((r) => r.reason).sort()).toEqual(['missing_field', 'unknown_component'])
  })

  it('groups entities by device identifier, else node id, else unique id', () => {
    const { devices } = feed(new HomeAssistantImporter(), [
      { topic: 'homeassistant/sensor/node7/a/config', payload: { stat_t: 'n7/a' } },
      { topic: 'homeassistant/sensor/node7/b/config', payload: { stat_t: 'n7/b' } },
      { topic: 'homeassistant/sensor/c/config', payload: { stat_t: 'c', uniq_id: 'Lonely Sensor' } },
    ])
    const ids = [...devices.keys()].sort()
    expect(ids).toHaveLength(2)
    expect(ids[0]).toMatch(/^lonely_sensor-[0-9a-f]{6}$/)
    expect(ids[1]).toBe('node7')
    expect(devices.get('node7')!.sensors.map((s) => s.id)).toEqual(['a', 'b'])
  })

  it('gives devices whose identifiers slug alike different ids, the same ones in any order', () => {
    const messages = [
      { topic: 'homeassistant/sensor/x/a/config', payload: { stat_t: 'a', dev: { ids: 'Kitchen Sensor' } } },
      { topic: 'homeassistant/sensor/y/b/config', payload: { stat_t: 'b', dev: { ids: 'kitchen_sensor' } } },
      { topic: 'homeassistant/sensor/z/c/config', payload: { stat_t: 'c', dev: { ids: 'kitchen-sensor' } } },
    ]
    const forward = [...feed(new HomeAssistantImporter(), messages).devices.keys()].sort()
    const backward = [...feed(new HomeAssistantImporter(), [...messages].reverse()).devices.keys()].sort()
    expect(forward).toEqual(backward)
    expect(forward).toHaveLength(3)
    expect(forward).toEqual(expect.arrayContaining(['kitchen_sensor', 'kitchen-sensor']))
    for (const id of forward) expect(id).toMatch(DEVICE_ID)
  })

  it('gives identifiers that differ only in case different ids (the later one hashed)', () => {
    const { devices } = feed(new HomeAssistantImporter(), [
      { topic: 'homeassistant/sensor/x/a/config', payload: { stat_t: 'a', dev: { ids: 'abc' } } },
      { topic: 'homeassistant/sensor/y/b/config', payload: { stat_t: 'b', dev: { ids: 'ABC' } } },
    ])
    const ids = [...devices.keys()].sort()
    expect(ids[0]).toBe('abc')
    expect(ids[1]).toMatch(/^abc-[0-9a-f]{6}$/)
  })

  it('moves an entity whose config now names another device', () => {
    const ha = new HomeAssistantImporter()
    feed(ha, [{ topic: 'homeassistant/sensor/a/config', payload: { stat_t: 'a', dev: { ids: 'one' } } }])
    const r = ha.handle('homeassistant/sensor/a/config', bytes({ stat_t: 'a', dev: { ids: 'two' } }))
    expect(r.events).toEqual([
      { type: 'remove', deviceId: 'one' },
      expect.objectContaining({ type: 'upsert', device: expect.objectContaining({ id: 'two' }) }),
    ])
  })
})

describe('components', () => {
  function device(component: string, config: Record<string, unknown>, init = {}): DeviceSpec {
    const { devices, rejections } = feed(new HomeAssistantImporter(init), [
      {
        topic: `homeassistant/${component}/dev1/thing/config`,
        payload: { dev: { ids: 'dev1', name: 'Dev' }, ...config },
      },
    ])
    expect(rejections).toEqual([])
    const d = only(devices)
    wellFormed(d)
    return d
  }

  it('risk defaults by component and the risk option overrides them', () => {
    expect(device('switch', { cmd_t: 'x/set' }).actions[0]!.risk).toBe('medium')
    expect(device('lock', { cmd_t: 'x/set' }).actions[0]!.risk).toBe('high')
    expect(device('alarm_control_panel', { cmd_t: 'x/set' }).actions[0]!.risk).toBe('high')
    expect(device('valve', { cmd_t: 'x/set' }).actions[0]!.risk).toBe('high')
    expect(device('cover', { cmd_t: 'x/set', dev_cla: 'garage' }).actions[0]!.risk).toBe('high')
    expect(device('cover', { cmd_t: 'x/set', dev_cla: 'gate' }).actions[0]!.risk).toBe('high')
    expect(device('cover', { cmd_t: 'x/set', dev_cla: 'blind' }).actions[0]!.risk).toBe('medium')
    expect(device('button', { cmd_t: 'x/set' }).actions[0]!.risk).toBe('medium')
    expect(device('switch', { cmd_t: 'x/set' }, { risk: { switch: 'high' } }).actions[0]!.risk).toBe('high')
    expect(
      device('cover', { cmd_t: 'x/set', dev_cla: 'garage' }, { risk: { cover: 'medium' } }).actions[0]!.risk,
    ).toBe('medium')
  })

  it('number: value within min/max, command_template applied to the value, confirmed numerically', () => {
    const d = device('number', {
      cmd_t: 'x/set',
      stat_t: 'x/state',
      min: 5,
      max: 30,
      step: 0.5,
      cmd_tpl: '{"setpoint": {{ value }}}',
      unit_of_meas: '°C',
    })
    const a = action(d, 'thing')
    expect(a.input.properties).toEqual({ value: { type: 'number', minimum: 5, maximum: 30 } })
    expect(payloadFor(a, { value: 21.5 })).toBe('{"setpoint": 21.5}')
    expect(payloadFor(a, { value: 21 })).toBe('{"setpoint": 21}')
    expect(confirms(a, { value: 21 }, '21.0')).toBe(true)
    expect(confirms(a, { value: 21 }, 'unavailable')).toBe(false)
  })

  it('select: an enum of the options', () => {
    const d = device('select', { cmd_t: 'x/set', stat_t: 'x/state', ops: ['eco', 'comfort', "it's"] })
    const a = action(d, 'thing')
    expect(a.input.properties).toEqual({ option: { type: 'string', enum: ['eco', 'comfort', "it's"] } })
    expect(payloadFor(a, { option: "it's" })).toBe("it's")
    expect(confirms(a, { option: 'eco' }, 'eco')).toBe(true)
  })

  it('button: payload_press, no input', () => {
    const a = action(device('button', { cmd_t: 'x/press', pl_prs: 'GO' }), 'thing')
    expect(a.input).toEqual({ type: 'object', properties: {}, required: [], additionalProperties: false })
    expect(payloadFor(a, {})).toBe('GO')
    expect(a.confirm).toBeUndefined()
  })

  it('cover: open/close/stop and position, confirmed by state and position', () => {
    const d = device('cover', {
      cmd_t: 'x/set',
      stat_t: 'x/state',
      set_pos_t: 'x/pos/set',
      pos_t: 'x/pos',
      pl_stop: null,
    })
    const move = action(d, 'thing')
    expect(move.input.properties).toEqual({ action: { type: 'string', enum: ['open', 'close'] } })
    expect(payloadFor(move, { action: 'open' })).toBe('OPEN')
    expect(payloadFor(move, { action: 'close' })).toBe('CLOSE')
    expect(confirms(move, { action: 'open' }, 'opening')).toBe(true)
    expect(confirms(move, { action: 'open' }, 'closed')).toBe(false)
    const pos = action(d, 'thing_position')
    expect(payloadFor(pos, { position: 40 })).toBe('40')
    expect(confirms(pos, { position: 40 }, '40')).toBe(true)
  })

  it('climate: target temperature (sent as a float), mode, current temperature', () => {
    const d = device('climate', {
      temp_cmd_t: 'x/temp/set',
      temp_stat_t: 'x/temp',
      mode_cmd_t: 'x/mode/set',
      mode_stat_t: 'x/mode',
      modes: ['off', 'heat'],
      curr_temp_t: 'x/current',
      min_temp: 10,
      max_temp: 28,
    })
    const temp = action(d, 'thing_temperature')
    expect(temp.input.properties).toMatchObject({ temperature: { type: 'number', minimum: 10, maximum: 28 } })
    expect(payloadFor(temp, { temperature: 21 })).toBe('21.0')
    expect(confirms(temp, { temperature: 21 }, '21')).toBe(true)
    const mode = action(d, 'thing_mode')
    expect(mode.input.properties).toEqual({ mode: { type: 'string', enum: ['off', 'heat'] } })
    expect(payloadFor(mode, { mode: 'heat' })).toBe('heat')
    expect(sensor(d, 'thing_current')).toMatchObject({ kind: 'temperature', topic: 'x/current', unit: '°C' })
  })

  it('fan: on/off with a command template, percentage and preset', () => {
    const d = device('fan', {
      cmd_t: 'x/set',
      cmd_tpl: '{"state": "{{ value }}"}',
      pct_cmd_t: 'x/speed/set',
      pr_mode_cmd_t: 'x/preset/set',
      pr_modes: ['auto', 'sleep'],
    })
    expect(payloadFor(action(d, 'thing'), { on: true })).toBe('{"state": "ON"}')
    expect(payloadFor(action(d, 'thing_percentage'), { percentage: 33 })).toBe('33')
    expect(payloadFor(action(d, 'thing_preset'), { preset: 'sleep' })).toBe('sleep')
  })

  it('fan oscillation and direction, as fan.py publishes them (test_fan.py: oscillate_on, forward)', () => {
    const d = device('fan', {
      cmd_t: 'x/set',
      osc_cmd_t: 'x/osc/set',
      osc_stat_t: 'x/osc',
      dir_cmd_t: 'x/dir/set',
    })
    const osc = action(d, 'thing_oscillation')
    expect(payloadFor(osc, { on: true })).toBe('oscillate_on')
    expect(payloadFor(osc, { on: false })).toBe('oscillate_off')
    expect(confirms(osc, { on: true }, 'oscillate_on')).toBe(true)
    expect(payloadFor(action(d, 'thing_direction'), { direction: 'reverse' })).toBe('reverse')
  })

  it('alarm panel: the supported actions, payloads through command_template with action and code', () => {
    const d = device('alarm_control_panel', {
      cmd_t: 'x/set',
      stat_t: 'x/state',
      sup_feat: ['arm_home', 'arm_away'],
      code: 'REMOTE_CODE',
      cmd_tpl: '{"action": "{{ action }}", "code": "{{ code }}"}',
    })
    const a = action(d, 'thing')
    expect(a.input.properties).toEqual({
      action: { type: 'string', enum: ['disarm', 'arm_home', 'arm_away'] },
      code: { type: 'string', maxLength: 64 },
    })
    expect(payloadFor(a, { action: 'arm_away', code: '1234' })).toBe('{"action": "ARM_AWAY", "code": "1234"}')
    expect(payloadFor(a, { action: 'disarm', code: '1234' })).toBe('{"action": "DISARM", "code": "1234"}')
    expect(confirms(a, { action: 'arm_away' }, 'arming')).toBe(true)
    expect(confirms(a, { action: 'disarm' }, 'armed_away')).toBe(false)
  })

  it('siren and valve', () => {
    const siren = action(device('siren', { cmd_t: 'x/set', stat_t: 'x/state' }), 'thing')
    expect(payloadFor(siren, { on: true })).toBe('{"state":"ON"}') // siren.py: a JSON body without command_template
    const valve = device('valve', { cmd_t: 'x/set', stat_t: 'x/state' })
    expect(action(valve, 'thing').input.properties).toEqual({
      action: { type: 'string', enum: ['open', 'close'] },
    })
    const positioned = device('valve', { cmd_t: 'x/set', pos: true, stat_t: 'x/state' })
    expect(payloadFor(action(positioned, 'thing_position'), { position: 70 })).toBe('70')
  })

  it('light with the template schema', () => {
    const a = action(
      device('light', {
        schema: 'template',
        cmd_t: 'x/set',
        cmd_on_tpl:
          '{"state": "{{ state }}"{% if brightness is defined %}, "level": {{ brightness }}{% endif %}}',
        cmd_off_tpl: '{"state": "{{ state }}"}',
      }),
      'thing',
    )
    expect(payloadFor(a, { on: true, brightness: 10 })).toBe('{"state": "on", "level": 10}')
    expect(payloadFor(a, { on: false })).toBe('{"state": "off"}')
  })
})

describe('rejections', () => {
  const ok = { stat_t: 'x/state', cmd_t: 'x/set' }
  it.each([
    ['oversize', 'homeassistant/switch/a/config', 'x'.repeat(20_000)],
    ['malformed_json', 'homeassistant/switch/a/config', '{"name": '],
    ['malformed_json', 'homeassistant/switch/a/config', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['not_an_object', 'homeassistant/switch/a/config', '[1, 2]'],
    ['not_an_object', 'homeassistant/switch/a/config', '"text"'],
    ['unknown_component', 'homeassistant/teleporter/a/config', ok],
    ['unsupported_component', 'homeassistant/camera/a/config', ok],
    ['bad_topic', 'homeassistant/switch/a b/config', ok],
    ['bad_topic', 'homeassistant/switch/config', ok],
    ['bad_topic', 'elsewhere/switch/a/config', ok],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 'x/+/set' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 'x/#' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 'x//set' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: '/x/set' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 'x/../set' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 'x/\u0000/set' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: '$SYS/x' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: `x/${'y'.repeat(300)}` }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, stat_t: 'x/+' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, avty_t: 'x/#' }],
    ['bad_topic', 'homeassistant/switch/a/config', { ...ok, cmd_t: 42 }],
    ['bad_template', 'homeassistant/switch/a/config', { ...ok, val_tpl: '{% for x in y %}{% endfor %}' }],
    ['bad_template', 'homeassistant/sensor/a/config', { stat_t: 'x', val_tpl: '{{ value_json.__class__ }}' }],
    ['bad_template', 'homeassistant/number/a/config', { ...ok, cmd_tpl: '{{ value' }],
    ['bad_template', 'homeassistant/switch/a/config', { ...ok, avty_t: 'x/a', avty_tpl: 7 }],
    ['missing_field', 'homeassistant/switch/a/config', { stat_t: 'x/state' }],
    ['missing_field', 'homeassistant/sensor/a/config', { name: 'no state topic' }],
    ['missing_field', 'homeassistant/select/a/config', { cmd_t: 'x/set' }],
    ['missing_field', 'homeassistant/cover/a/config', { stat_t: 'x/state' }],
    ['missing_field', 'homeassistant/device/a/config', { dev: { ids: 'a' } }],
  ])('%s: %s %j', (want, topic, payload) => {
    const ha = new HomeAssistantImporter()
    const r = ha.handle(topic, payload instanceof Uint8Array ? payload : bytes(payload))
    expect(r.events).toEqual([])
    expect(r.rejections.map((x) => x.reason)).toEqual([want])
    expect(r.rejections[0]!.topic).toBe(topic)
  })

  it('too_many_devices: refuses configs for devices past the limit, accepts more of known ones', () => {
    const ha = new HomeAssistantImporter({ maxDevices: 2 })
    const config = (dev: string, obj: string) => ({
      topic: `homeassistant/sensor/${dev}/${obj}/config`,
      payload: { stat_t: `${dev}/${obj}` },
    })
    const { devices, rejections } = feed(ha, [
      config('a', 't'),
      config('b', 't'),
      config('c', 't'),
      config('a', 'h'),
    ])
    expect([...devices.keys()].sort()).toEqual(['a', 'b'])
    expect(rejections.map((r) => r.reason)).toEqual(['too_many_devices'])
    expect(devices.get('a')!.sensors).toHaveLength(2)
    // once a device goes, another fits
    ha.handle('homeassistant/sensor/b/t/config', new Uint8Array())
    expect(ha.handle(config('c', 't').topic, bytes(config('c', 't').payload)).events).toHaveLength(1)
  })

  it('too_many_entities: one device cannot grow without bound', () => {
    const ha = new HomeAssistantImporter({ maxEntitiesPerDevice: 3 })
    const messages = Array.from({ length: 5 }, (_, i) => ({
      topic: `homeassistant/sensor/flood/s${i}/config`,
      payload: { stat_t: `flood/${i}` },
    }))
    const { devices, rejections } = feed(ha, messages)
    expect(devices.get('flood')!.sensors).toHaveLength(3)
    expect(rejections.map((r) => r.reason)).toEqual(['too_many_entities', 'too_many_entities'])
  })

  it('an invalid update keeps the entity as it was', () => {
    const ha = new HomeAssistantImporter()
    const { devices } = feed(ha, [
      { topic: 'homeassistant/switch/a/config', payload: { ...ok, uniq_id: 'a' } },
    ])
    const r = ha.handle('homeassistant/switch/a/config', bytes({ ...ok, uniq_id: 'a', cmd_t: 'x/#' }))
    expect(r.events).toEqual([])
    expect(r.rejections.map((x) => x.reason)).toEqual(['bad_topic'])
    expect(devices.get('a')!.actions[0]!.commandTopic).toBe('x/set')
  })
})

describe('fuzz', () => {
  const topics = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc
      .tuple(
        fc.constantFrom(
          'sensor',
          'switch',
          'light',
          'lock',
          'cover',
          'climate',
          'device',
          'fan',
          'bogus',
          'number',
        ),
        fc.option(fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/), { nil: undefined }),
        fc.stringMatching(/^[a-zA-Z0-9_ -]{1,8}$/),
      )
      .map(([c, n, o]) => `homeassistant/${c}/${n != null ? `${n}/` : ''}${o}/config`),
  )
  const keys = fc.constantFrom(
    'stat_t',
    'cmd_t',
    'val_tpl',
    'cmd_tpl',
    'pl_on',
    'pl_off',
    'dev',
    'avty',
    'avty_t',
    '~',
    'schema',
    'brightness',
    'options',
    'modes',
    'cmps',
    'p',
    'uniq_id',
    'name',
    'min',
    'max',
    'set_pos_t',
    'temp_cmd_t',
    'mode_cmd_t',
    'bri_cmd_t',
    'bri_scl',
    '__proto__',
    'constructor',
  )
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('x/set', '~/set', 'a/+/b', '{{ value_json.a }}', '{{ value', '{% for %}', 'ON', ''),
  )
  const config = fc.dictionary(keys, value, { maxKeys: 10 })
  const payload = fc.oneof(
    config.map((c) => bytes(c)),
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ maxLength: 200 }).map((s) => bytes(s)),
    fc
      .record({ cmps: fc.dictionary(fc.string({ maxLength: 5 }), config, { maxKeys: 3 }), dev: config })
      .map(bytes),
  )

  it('never throws, and everything it reports is well formed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(topics, payload), { maxLength: 12 }), (messages) => {
        const ha = new HomeAssistantImporter({ maxDevices: 4 })
        for (const [topic, bytesIn] of messages) {
          const r = ha.handle(topic, bytesIn)
          for (const e of r.events) if (e.type === 'upsert') wellFormed(e.device)
          for (const rej of r.rejections) expect(typeof rej.reason).toBe('string')
        }
      }),
      { numRuns: 400 },
    )
  })
})
