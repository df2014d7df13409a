import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HomieImporter } from '../../src/devices/homie.ts'
import { MAX_DISCOVERED_TOPIC_BYTES, topicProblem } from '../../src/util/mqtt-topic.ts'
import { compileTemplate, isTruthy } from '../../src/devices/template.ts'
import {
  type ActionSpec,
  type AvailabilitySpec,
  type DeviceSpec,
  type ImportEvent,
  type ImportRejection,
} from '../../src/devices/types.ts'
import { DEVICE_ID, PART_ID } from '../../src/config/devices-schema.ts'

/** the rules kith holds topics taken from discovery messages to */
const discovered = { maxBytes: MAX_DISCOVERED_TOPIC_BYTES }

const FIXTURES = join(import.meta.dirname, '../../firmware-bridge/fixtures/homie')

interface Message {
  topic: string
  payload: unknown
}

function fixture(name: string): Message[] {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Message[]
}

function bytes(payload: unknown): Uint8Array {
  return new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload))
}

function feed(homie: HomieImporter, messages: Message[], devices = new Map<string, DeviceSpec>()) {
  const rejections: ImportRejection[] = []
  const events: ImportEvent[] = []
  for (const m of messages) {
    const r = homie.handle(m.topic, bytes(m.payload))
    rejections.push(...r.rejections)
    events.push(...r.events)
    for (const e of r.events) {
      if (e.type === 'upsert') devices.set(e.device.id, e.device)
      else devices.delete(e.deviceId)
    }
  }
  return { devices, rejections, events }
}

function action(device: DeviceSpec, id: string): ActionSpec {
  const a = device.actions.find((x) => x.id === id)
  expect(a, `action ${id} in ${device.actions.map((x) => x.id).join(',')}`).toBeDefined()
  return a!
}

function payloadFor(a: ActionSpec, input: unknown): string {
  return compileTemplate(a.payload).render({ input, task: 't1', device: 'd' })
}

function confirms(a: ActionSpec, input: unknown, reported: string): boolean {
  let json: unknown
  try {
    json = JSON.parse(reported)
  } catch {
    json = undefined
  }
  return isTruthy(
    compileTemplate(a.confirm!.when).render({ input, task: 't1', value: reported, value_json: json }),
  )
}

/** How the bridge reads an availability message under a spec: online, offline, or neither. */
function availability(spec: AvailabilitySpec, payload: string): 'online' | 'offline' | undefined {
  const word = (spec.value != null ? compileTemplate(spec.value).render({ value: payload }) : payload).trim()
  if (spec.online.includes(word)) return 'online'
  if (spec.offline.includes(word)) return 'offline'
  return undefined
}

function wellFormed(device: DeviceSpec): void {
  expect(device.id).toMatch(DEVICE_ID)
  const ids = [...device.sensors, ...device.actions].map((p) => p.id)
  expect(new Set(ids).size).toBe(ids.length)
  for (const id of ids) expect(id).toMatch(PART_ID)
  for (const s of device.sensors) expect(topicProblem(s.topic, discovered)).toBeUndefined()
  for (const a of device.actions) {
    expect(topicProblem(a.commandTopic, discovered)).toBeUndefined()
    compileTemplate(a.payload)
    if (a.confirm != null) compileTemplate(a.confirm.when)
  }
}

describe('Homie v5', () => {
  it('imports a $description: every property a sensor, settable ones actions on …/set', () => {
    const { devices, rejections } = feed(new HomieImporter(), fixture('v5-thermostat.json'))
    expect(rejections).toEqual([])
    const d = devices.get('thermostat-lr')!
    wellFormed(d)
    expect(d).toMatchObject({
      title: 'Living room thermostat',
      source: 'homie',
      tags: ['homie', 'thermostat'],
    })
    expect(d.sensors.map((s) => [s.id, s.kind, s.topic, s.unit])).toEqual([
      ['thermostat_temperature', 'temperature', 'homie/5/thermostat-lr/thermostat/temperature', '°C'],
      ['thermostat_setpoint', 'temperature', 'homie/5/thermostat-lr/thermostat/setpoint', '°C'],
      ['thermostat_mode', 'mode', 'homie/5/thermostat-lr/thermostat/mode', undefined],
      ['thermostat_heating', 'state', 'homie/5/thermostat-lr/thermostat/heating', undefined],
      ['display_backlight', 'state', 'homie/5/thermostat-lr/display/backlight', undefined],
      ['display_beep', 'state', 'homie/5/thermostat-lr/display/beep', undefined],
    ])
    expect(d.sensors[0]!.schema).toEqual({ type: 'number', minimum: -20, maximum: 60 })
    expect(d.actions.map((a) => a.id)).toEqual([
      'thermostat_setpoint_set',
      'thermostat_mode_set',
      'display_backlight_set',
      'display_beep_set',
    ])
    for (const a of d.actions) expect(a.risk).toBe('medium')
  })

  it('builds inputs, payloads and confirmations from datatype and format', () => {
    const d = feed(new HomieImporter(), fixture('v5-thermostat.json')).devices.get('thermostat-lr')!
    const setpoint = action(d, 'thermostat_setpoint_set')
    expect(setpoint.commandTopic).toBe('homie/5/thermostat-lr/thermostat/setpoint/set')
    expect(setpoint.input).toEqual({
      type: 'object',
      properties: { value: { type: 'number', minimum: 5, maximum: 30 } },
      required: ['value'],
      additionalProperties: false,
    })
    expect(payloadFor(setpoint, { value: 21.5 })).toBe('21.5')
    expect(setpoint.confirm?.topic).toBe('homie/5/thermostat-lr/thermostat/setpoint')
    expect(confirms(setpoint, { value: 21 }, '21.0')).toBe(true)
    expect(confirms(setpoint, { value: 21 }, '20.5')).toBe(false)
    const mode = action(d, 'thermostat_mode_set')
    expect(mode.input.properties).toEqual({ value: { type: 'string', enum: ['off', 'heat', 'auto'] } })
    expect(payloadFor(mode, { value: 'auto' })).toBe('auto')
    expect(confirms(mode, { value: 'auto' }, 'auto')).toBe(true)
    const backlight = action(d, 'display_backlight_set')
    expect(payloadFor(backlight, { value: false })).toBe('false')
    expect(confirms(backlight, { value: false }, 'false')).toBe(true)
    // a non-retained property is an event: nothing reports it back
    expect(action(d, 'display_beep_set').confirm).toBeUndefined()
  })

  it('reads $state: ready is online, lost and disconnected are offline', () => {
    const d = feed(new HomieImporter(), fixture('v5-thermostat.json')).devices.get('thermostat-lr')!
    expect(d.availability).toEqual([
      { topic: 'homie/5/thermostat-lr/$state', online: ['ready'], offline: ['lost', 'disconnected'] },
    ])
    const spec = d.availability[0]!
    expect(availability(spec, 'ready')).toBe('online')
    expect(availability(spec, 'lost')).toBe('offline')
    expect(availability(spec, 'disconnected')).toBe('offline')
    expect(availability(spec, 'init')).toBeUndefined()
  })

  it('an empty retained $description removes the device; a new version updates it', () => {
    const homie = new HomieImporter()
    feed(homie, fixture('v5-thermostat.json'))
    const description = fixture('v5-thermostat.json').find((m) => m.topic.endsWith('$description'))!
    const changed = structuredClone(description.payload) as { nodes: Record<string, unknown> }
    delete changed.nodes.display
    let r = homie.handle(description.topic, bytes(changed))
    expect(r.events).toHaveLength(1)
    expect((r.events[0] as { device: DeviceSpec }).device.actions).toHaveLength(2)
    r = homie.handle(description.topic, new Uint8Array())
    expect(r.events).toEqual([{ type: 'remove', deviceId: 'thermostat-lr' }])
    expect(homie.handle(description.topic, new Uint8Array()).events).toEqual([])
  })

  it('does not guess a lock from names: a settable property stays medium risk', () => {
    const { devices } = feed(new HomieImporter(), [
      {
        topic: 'homie/5/front-door/$description',
        payload: {
          homie: '5.0',
          version: 1,
          name: 'Front door lock',
          nodes: { lock: { type: 'lock', properties: { locked: { datatype: 'boolean', settable: true } } } },
        },
      },
    ])
    expect(devices.get('front-door')!.actions[0]!.risk).toBe('medium')
  })
})

describe('Homie v4', () => {
  it('assembles the device once nodes, property lists and datatypes have arrived, then updates it', () => {
    const homie = new HomieImporter()
    const devices = new Map<string, DeviceSpec>()
    const reported: string[] = []
    for (const m of fixture('v4-garden-pump.json')) {
      const r = feed(homie, [m], devices)
      expect(r.rejections).toEqual([])
      for (const e of r.events) reported.push(`${e.type} after ${m.topic.slice('homie/garden-pump/'.length)}`)
    }
    // nothing until the last datatype, then an update for the unit that followed it
    expect(reported).toEqual([
      'upsert after sensor/temperature/$datatype',
      'upsert after sensor/temperature/$unit',
    ])
    const d = devices.get('garden-pump')!
    wellFormed(d)
    expect(d).toMatchObject({ title: 'Garden pump', tags: ['homie', 'relay', 'dht22'], source: 'homie' })
    expect(d.sensors.map((s) => [s.id, s.kind, s.unit])).toEqual([
      ['pump_power', 'state', undefined],
      ['pump_speed', 'speed', '%'],
      ['pump_color', 'color', undefined],
      ['sensor_temperature', 'temperature', '°C'],
    ])
    expect(d.availability[0]).toMatchObject({ topic: 'homie/garden-pump/$state', online: ['ready'] })
  })

  it('maps v4 datatypes and formats to inputs', () => {
    const d = feed(new HomieImporter(), fixture('v4-garden-pump.json')).devices.get('garden-pump')!
    const power = action(d, 'pump_power_set')
    expect(power.commandTopic).toBe('homie/garden-pump/pump/power/set')
    expect(payloadFor(power, { value: true })).toBe('true')
    expect(confirms(power, { value: true }, 'true')).toBe(true)
    const speed = action(d, 'pump_speed_set')
    expect(speed.input.properties).toEqual({ value: { type: 'integer', minimum: 0, maximum: 100 } })
    expect(payloadFor(speed, { value: 40 })).toBe('40')
    const color = action(d, 'pump_color_set')
    expect(color.input.properties).toEqual({
      value: { type: 'string', pattern: '^(?:\\d{1,3},\\d{1,3},\\d{1,3})$' },
    })
    expect(
      new RegExp((color.input.properties as { value: { pattern: string } }).value.pattern).test('255,0,10'),
    ).toBe(true)
    expect(d.actions.map((a) => a.id)).not.toContain('sensor_temperature_set')
  })

  it('removes the device when $homie is cleared, and when it stops being complete', () => {
    const homie = new HomieImporter()
    feed(homie, fixture('v4-garden-pump.json'))
    let r = homie.handle('homie/garden-pump/sensor/$properties', new Uint8Array())
    expect(r.events).toEqual([{ type: 'remove', deviceId: 'garden-pump' }])
    r = homie.handle('homie/garden-pump/sensor/$properties', bytes('temperature'))
    expect(r.events.map((e) => e.type)).toEqual(['upsert'])
    r = homie.handle('homie/garden-pump/$homie', new Uint8Array())
    expect(r.events).toEqual([{ type: 'remove', deviceId: 'garden-pump' }])
  })

  it('leaves out a property with an unknown datatype and keeps the rest', () => {
    const { devices } = feed(new HomieImporter(), [
      { topic: 'homie/dev/$homie', payload: '4.0.0' },
      { topic: 'homie/dev/$nodes', payload: 'n' },
      { topic: 'homie/dev/n/$properties', payload: 'good,odd' },
      { topic: 'homie/dev/n/good/$datatype', payload: 'float' },
      { topic: 'homie/dev/n/odd/$datatype', payload: 'quaternion' },
    ])
    expect(devices.get('dev')!.sensors.map((s) => s.id)).toEqual(['n_good'])
  })
})

describe('refusals', () => {
  const description = {
    homie: '5.0',
    version: 1,
    nodes: { n: { properties: { p: { datatype: 'integer' } } } },
  }
  it.each([
    ['oversize', 'homie/5/dev/$description', { ...description, pad: 'x'.repeat(20_000) }],
    ['malformed_json', 'homie/5/dev/$description', '{"homie": '],
    ['bad_topic', 'homie/5/Bad_Id/$description', description],
    ['bad_topic', 'homie/dev/No_Node/$properties', 'a'],
    ['bad_topic', 'elsewhere/5/dev/$description', description],
    ['bad_description', 'homie/5/dev/$description', '[1]'],
    ['bad_description', 'homie/5/dev/$description', { ...description, homie: '4.0' }],
    ['bad_description', 'homie/5/dev/$description', { ...description, nodes: [] }],
    [
      'bad_description',
      'homie/5/dev/$description',
      { homie: '5.0', nodes: { n: { properties: { p: {} } } } },
    ],
    [
      'bad_description',
      'homie/5/dev/$description',
      { homie: '5.0', nodes: { n: { properties: { p: { datatype: 'enum' } } } } },
    ],
    ['bad_description', 'homie/5/dev/$description', { homie: '5.0', nodes: { N: {} } }],
    [
      'bad_description',
      'homie/5/dev/$description',
      { homie: '5.0', nodes: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`n${i}`, {}])) },
    ],
    ['bad_description', 'homie/dev/$nodes', 'good,Bad_Node'],
  ])('%s: %s', (want, topic, payload) => {
    const r = new HomieImporter().handle(topic, bytes(payload))
    expect(r.rejections.map((x) => x.reason)).toEqual([want])
  })

  it('too_many_devices, counting v4 devices still being assembled', () => {
    const homie = new HomieImporter({ maxDevices: 2 })
    const { rejections } = feed(homie, [
      { topic: 'homie/5/a/$description', payload: description },
      { topic: 'homie/b/$homie', payload: '4.0.0' },
      { topic: 'homie/5/c/$description', payload: description },
    ])
    expect(rejections.map((r) => r.reason)).toEqual(['too_many_devices'])
    homie.handle('homie/5/a/$description', new Uint8Array())
    expect(homie.handle('homie/5/c/$description', bytes(description)).events).toHaveLength(1)
  })

  it('ignores topics it does not read (values, $state, $stats)', () => {
    const homie = new HomieImporter()
    for (const topic of [
      'homie/5/dev/n/p',
      'homie/5/dev/$state',
      'homie/dev/$stats/uptime',
      'homie/dev/n/p/set',
    ]) {
      expect(homie.handle(topic, bytes('1'))).toEqual({ events: [], rejections: [] })
    }
  })
})

describe('fuzz', () => {
  it('never throws, and everything it reports is well formed', () => {
    const id = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,6}$/), fc.constantFrom('n', 'p', 'Bad', '5', ''))
    const attribute = fc.constantFrom(
      '$homie',
      '$name',
      '$nodes',
      '$properties',
      '$datatype',
      '$format',
      '$settable',
      '$unit',
      '$description',
      '$state',
    )
    const topic = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(fc.oneof(id, attribute), { minLength: 1, maxLength: 4 }).map((l) => `homie/${l.join('/')}`),
      fc.tuple(id, attribute).map(([d, a]) => `homie/5/${d}/${a}`),
    )
    const property = fc.record(
      {
        datatype: fc.constantFrom(
          'integer',
          'float',
          'boolean',
          'string',
          'enum',
          'color',
          'json',
          'bogus',
          5,
        ),
        format: fc.oneof(
          fc.constantFrom('0:100', 'a,b', 'rgb', ':', '5:1', 'x:y'),
          fc.string({ maxLength: 8 }),
        ),
        settable: fc.oneof(fc.boolean(), fc.jsonValue()),
        retained: fc.boolean(),
        unit: fc.oneof(fc.constantFrom('°C', '%', 'W'), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    const description = fc.record({
      homie: fc.constantFrom('5.0', '5.1', '4.0', 5),
      name: fc.jsonValue(),
      nodes: fc.dictionary(id, fc.record({ properties: fc.dictionary(id, property, { maxKeys: 3 }) }), {
        maxKeys: 3,
      }),
    })
    const payload = fc.oneof(
      description.map(bytes),
      fc.string({ maxLength: 30 }).map(bytes),
      fc.constantFrom('4.0.0', 'n,p', 'integer', 'true', '').map(bytes),
      fc.uint8Array({ maxLength: 50 }),
    )
    fc.assert(
      fc.property(fc.array(fc.tuple(topic, payload), { maxLength: 20 }), (messages) => {
        const homie = new HomieImporter({ maxDevices: 3 })
        for (const [t, p] of messages) {
          const r = homie.handle(t, p)
          for (const e of r.events) if (e.type === 'upsert') wellFormed(e.device)
        }
      }),
      { numRuns: 400 },
    )
  })
})
