/**
 * Tasmota's native discovery: the fixtures in test/fixtures/devices/tasmota-native/ are configs as Tasmota's
 * xdrv_12_discovery.ino builds them (Home Assistant's own test configs), each with the commands Home
 * Assistant's tasmota integration publishes for a service call (hatasmota and Home Assistant's tests, cited
 * in each file) and the device's replies.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeviceRuntime } from '../../src/devices/device-runtime.ts'
import { TasmotaImporter } from '../../src/devices/tasmota.ts'
import { compileTemplate, isTruthy } from '../../src/devices/template.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'
import { ROOT } from '../helpers.ts'

const DIR = join(ROOT, 'test/fixtures/devices/tasmota-native')
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))

interface Fixture {
  what: string
  discovery: { topic: string; payload: unknown }[]
  expect?: {
    id?: string
    title?: string
    actions?: string[]
    sensors?: string[]
    titles?: Record<string, string>
    units?: Record<string, string>
    ranges?: Record<string, [number, number]>
  }
  actions: {
    part: string
    input: Record<string, unknown>
    expect: { topic: string; payload: string }
    reply?: { topic: string; payload: unknown }[]
    confirmed: boolean
  }[]
  readings?: { topic: string; payload: unknown; sensor: string; value: unknown }[]
}

export const fixtures: [string, Fixture][] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Fixture])

function importAll(f: Fixture, importer = new TasmotaImporter()): DeviceSpec {
  let device: DeviceSpec | undefined
  for (const m of f.discovery) {
    const { events, rejections } = importer.handle(m.topic, enc(m.payload))
    expect(rejections).toEqual([])
    for (const e of events) if (e.type === 'upsert') device = e.device
  }
  if (device == null) throw new Error('no device imported')
  return device
}

describe('Tasmota native discovery fixtures', () => {
  it('has at least ten fixtures, each citing where it came from', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10)
    for (const [, f] of fixtures) expect(JSON.stringify(f)).toContain('"commit"')
  })

  for (const [name, f] of fixtures) {
    it(`${name}: ${f.what}`, () => {
      const device = importAll(f)
      const e = f.expect ?? {}
      if (e.id != null) expect(device.id).toBe(e.id)
      if (e.title != null) expect(device.title).toBe(e.title)
      const actionIds = device.actions.map((a) => a.id)
      const sensorIds = device.sensors.map((s) => s.id)
      for (const id of e.actions ?? []) expect(actionIds).toContain(id)
      for (const id of e.sensors ?? []) expect(sensorIds).toContain(id)
      for (const [id, title] of Object.entries(e.titles ?? {}))
        expect(device.actions.find((a) => a.id === id)?.title).toBe(title)
      for (const [id, unit] of Object.entries(e.units ?? {}))
        expect(device.sensors.find((s) => s.id === id)?.unit).toBe(unit)
      for (const [path, [min, max]] of Object.entries(e.ranges ?? {})) {
        const [action = '', prop = ''] = path.split('.')
        const schema = device.actions.find((a) => a.id === action)?.input.properties as Record<string, object>
        expect(schema[prop]).toMatchObject({ minimum: min, maximum: max })
      }
      expect(new Set([...actionIds, ...sensorIds]).size).toBe(actionIds.length + sensorIds.length)
      for (const a of f.actions) {
        const action = device.actions.find((x) => x.id === a.part)
        expect(action, a.part).toBeDefined()
        if (action == null) continue
        expect(action.commandTopic).toBe(a.expect.topic)
        const payload = compileTemplate(action.payload).render({
          input: a.input,
          task: 't',
          device: device.id,
        })
        expect(payload, `${a.part} ${JSON.stringify(a.input)}`).toBe(a.expect.payload)
        if (!a.confirmed) continue
        const reply = a.reply?.[0] as { topic: string; payload: unknown }
        expect(action.confirm?.topic).toBe(reply.topic)
        const text = JSON.stringify(reply.payload)
        const when = compileTemplate(action.confirm?.when as string)
        expect(
          isTruthy(when.render({ input: a.input, task: 't', value: text, value_json: reply.payload })),
        ).toBe(true)
      }
      const runtime = new DeviceRuntime(device, () => () => undefined)
      for (const r of f.readings ?? []) {
        runtime.handle(r.topic, Buffer.from(JSON.stringify(r.payload)), 1000)
        expect(runtime.reading(r.sensor, 1000)?.value, r.sensor).toEqual(r.value)
      }
    })
  }
})

const plug = fixtures.find(([n]) => n === 'plug')?.[1] as Fixture
const config = plug.discovery[0]?.payload as Record<string, unknown>
const TOPIC = 'tasmota/discovery/00000049A3BC/config'

describe('TasmotaImporter', () => {
  it('a confirmation for the other power state, or another relay, does not confirm', () => {
    const device = importAll(plug)
    const action = device.actions[0] as DeviceSpec['actions'][number]
    const when = compileTemplate(action.confirm?.when as string)
    const ctx = (v: unknown) => ({ input: { on: true }, task: 't', value: JSON.stringify(v), value_json: v })
    expect(isTruthy(when.render(ctx({ POWER: 'OFF' })))).toBe(false)
    expect(isTruthy(when.render(ctx({ POWER2: 'ON' })))).toBe(false)
    expect(isTruthy(when.render(ctx({ POWER1: 'ON' })))).toBe(true)
  })

  it('is online by tele/<topic>/LWT with the config’s own words, and always when it deep-sleeps', () => {
    expect(importAll(plug).availability).toEqual([
      { topic: 'tasmota_49A3BC/tele/LWT', online: ['Online'], offline: ['Offline'] },
    ])
    const sleepy = { ...config, dslp: 1 }
    const { events } = new TasmotaImporter().handle(TOPIC, enc(sleepy))
    expect(events[0]?.type === 'upsert' && events[0].device.availability).toEqual([])
  })

  it('fills the full topic pattern as hatasmota does (%prefix%/%topic%/, %hostname%, %id%)', () => {
    const c = { ...config, ft: '%prefix%/%hostname%/%id%/' }
    const { events } = new TasmotaImporter().handle(TOPIC, enc(c))
    const device = events[0]?.type === 'upsert' ? events[0].device : undefined
    expect(device?.actions[0]?.commandTopic).toBe('cmnd/tasmota_49A3BC-0956/49A3BC/Power1')
  })

  it('refuses bad input with a counted reason and keeps the devices it has', () => {
    const importer = new TasmotaImporter({ maxDevices: 1, maxPayloadBytes: 4096 })
    expect(importer.handle(TOPIC, enc(config)).events).toHaveLength(1)
    const reasons = (topic: string, payload: unknown) =>
      importer
        .handle(topic, payload instanceof Uint8Array ? payload : enc(payload))
        .rejections.map((r) => r.reason)
    expect(reasons(TOPIC, '{not json')).toEqual(['malformed_json'])
    expect(reasons(TOPIC, [1, 2])).toEqual(['bad_config'])
    expect(reasons(TOPIC, { ...config, rl: 'many' })).toEqual(['bad_config'])
    expect(reasons(TOPIC, { ...config, rl: new Array(33).fill(1) })).toEqual(['bad_config'])
    expect(reasons(TOPIC, { ...config, ver: 2 })).toEqual(['bad_config'])
    expect(reasons(TOPIC, { ...config, t: 'a/+/b' })).toEqual(['bad_topic'])
    expect(reasons(TOPIC, { ...config, mac: '00000049A3BD' })).toEqual(['mac_mismatch'])
    expect(reasons(TOPIC, new Uint8Array(5000))).toEqual(['oversize'])
    expect(reasons('tasmota/discovery/aa:bb/config', config)).toEqual(['bad_topic'])
    expect(reasons('tasmota/discovery/00000049A3BD/config', { ...config, mac: '00000049A3BD' })).toEqual([
      'too_many_devices',
    ])
    // the first device is unchanged: the same config again reports nothing new
    expect(importer.handle(TOPIC, enc(config))).toEqual({ events: [], rejections: [] })
  })

  it('answers every wrong type in every key with a named reason, never an internal error', () => {
    const wrong: unknown[] = [null, 1, -1, 1.5, 'x', '', [], [null], [[]], {}, { '30': 'yes' }, true]
    const known = new Set(['bad_config', 'bad_topic', 'mac_mismatch'])
    for (const key of Object.keys(config))
      for (const value of wrong) {
        const { rejections } = new TasmotaImporter().handle(TOPIC, enc({ ...config, [key]: value }))
        for (const r of rejections)
          expect(known, `${key}=${JSON.stringify(value)}: ${r.message}`).toContain(r.reason)
      }
    const sensors = TOPIC.replace('config', 'sensors')
    for (const value of wrong) {
      const importer = new TasmotaImporter()
      importer.handle(TOPIC, enc(config))
      const { rejections } = importer.handle(sensors, enc({ sn: { X: value, Y: { Z: value } }, ver: 1 }))
      expect(rejections.filter((r) => r.reason === 'internal')).toEqual([])
    }
  })

  it('removes the device when its config is cleared (SetOption19 1), and re-reports it when it returns', () => {
    const importer = new TasmotaImporter()
    importer.handle(TOPIC, enc(config))
    expect(importer.handle(TOPIC, new Uint8Array()).events).toEqual([{ type: 'remove', deviceId: '49a3bc' }])
    expect(importer.handle(TOPIC, enc(config)).events[0]).toMatchObject({ type: 'upsert' })
  })

  it('bounds the sensors of one device and counts the rest', () => {
    const importer = new TasmotaImporter({ maxSensorsPerDevice: 3 })
    importer.handle(TOPIC, enc(config))
    const sn = { A: { Temperature: 1, Humidity: 2 }, B: { Temperature: 3, Humidity: 4 } }
    const { events, rejections } = importer.handle(TOPIC.replace('config', 'sensors'), enc({ sn, ver: 1 }))
    expect(rejections.map((r) => r.reason)).toEqual(['too_many_entities'])
    const device = events[0]?.type === 'upsert' ? events[0].device : undefined
    expect(device?.sensors.filter((s) => s.topic.endsWith('SENSOR'))).toHaveLength(3)
  })

  it('counts what it cannot map: button and switch presses, SetOption4 replies', () => {
    const c = { ...config, btn: [1, 0, 0, 0], so: { ...(config.so as object), '4': 1 } }
    const { events } = new TasmotaImporter().handle(TOPIC, enc(c))
    const device = events[0]?.type === 'upsert' ? events[0].device : undefined
    const options = device?.unmapped?.options.map((o) => o.option)
    expect(options).toEqual(expect.arrayContaining(['btn', 'so.4']))
    expect(device?.unmapped?.counts.not_supported).toBeGreaterThanOrEqual(1)
  })
})
