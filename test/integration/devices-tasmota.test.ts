/**
 * Tasmota's native discovery through a real kith node and its embedded broker (aedes): five devices from the
 * fixtures in test/fixtures/devices/tasmota-native/ (a plug, a dimmer, an RGBCW bulb, a shutter and a sensor),
 * each given its own MAC and topic, announce themselves retained as Tasmota does; a test client plays the
 * devices: it records every command kith publishes and answers with the fixture's `stat/<topic>/RESULT`.
 * Every action of each fixture is driven through the task path and must publish exactly what Home
 * Assistant's tasmota integration publishes for the same service call, and be confirmed by the reply.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import type { KithNode } from '../../src/node/node.ts'
import { tempMosquitto } from '../brokers.ts'
import { apiJson, ROOT, tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { skipWithout } from '../system.ts'

interface Fixture {
  discovery: { topic: string; payload: unknown }[]
  availability: { topic: string; payload: string }[]
  actions: {
    part: string
    input: Record<string, unknown>
    expect: { topic: string; payload: string }
    reply?: { topic: string; payload: unknown }[]
    confirmed: boolean
  }[]
  readings?: { topic: string; payload: unknown; sensor: string; value: unknown }[]
}

const DIR = join(ROOT, 'test/fixtures/devices/tasmota-native')
const text = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))

/** The fixture for a device of its own: MAC `0000004900<n>`, topic `tasmota_<n>`, device id `4900<n>`. */
function relabel(name: string, n: string): Fixture {
  const raw = readFileSync(join(DIR, `${name}.json`), 'utf8')
  return JSON.parse(
    raw.replaceAll('00000049A3BC', `0000004900${n}`).replaceAll('tasmota_49A3BC', `tasmota_${n}`),
  ) as Fixture
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function node(yaml: string[] = []): Promise<KithNode> {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  const n = await startTestNode(join(dir, 'n'), { yaml })
  cleanups.push(() => n.stop())
  return n
}

async function client(url: string, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: id })
  cleanups.push(() => c.endAsync(true))
  return c
}

/** Plays Tasmota devices: commands in, the queued reply for each out on stat/<topic>/RESULT. */
async function virtualTasmota(url: string) {
  const c = await client(url, 'virtual-tasmota')
  const received: { topic: string; payload: string }[] = []
  const replies: { topic: string; payload: unknown }[][] = []
  c.on('message', (topic, payload) => {
    received.push({ topic, payload: payload.toString() })
    for (const r of replies.shift() ?? []) void c.publishAsync(r.topic, text(r.payload), { qos: 1 })
  })
  await c.subscribeAsync('+/cmnd/#', { qos: 1 })
  return {
    received,
    async announce(f: Fixture) {
      for (const m of [...f.discovery, ...f.availability])
        await c.publishAsync(m.topic, text(m.payload), { qos: 1, retain: true })
    },
    replyNext: (r: { topic: string; payload: unknown }[] | undefined) => replies.push(r ?? []),
    publish: (topic: string, payload: unknown) => c.publishAsync(topic, text(payload), { qos: 1 }),
  }
}

// SetOption19 1: arendst/Tasmota tasmota/tasmota_xdrv_driver/xdrv_12_home_assistant.ino
// (19dcf0df1271066e73120bf9ea317f8b60b8317a) HAssAnnounceRelayLight, as the SetOption19 conformance fixture
// test/fixtures/devices/tasmota-sonoff-basic.json has it; the device identified by its chip id (%06X)
const SO19_TOPIC = 'homeassistant/switch/490001_RL_1/config'
const SO19_CONFIG = {
  name: 'Tasmota',
  stat_t: 'tasmota_01/tele/STATE',
  avty_t: 'tasmota_01/tele/LWT',
  pl_avail: 'Online',
  pl_not_avail: 'Offline',
  cmd_t: 'tasmota_01/cmnd/POWER',
  pl_off: 'OFF',
  pl_on: 'ON',
  val_tpl: '{{value_json.POWER}}',
  uniq_id: '490001_RL_1',
  dev: { ids: ['490001'] },
}

const DEVICES: [string, string][] = [
  ['plug', '01'],
  ['dimmer', '02'],
  ['rgbcw-bulb', '03'],
  ['shutter', '04'],
  ['am2301-sensor', '05'],
]

/** Announces the five devices (if not yet), drives every fixture action and reading through `n`'s task path. */
async function driveAll(n: KithNode, tasmota: Awaited<ReturnType<typeof virtualTasmota>>, announce: boolean) {
  const fixtures = DEVICES.map(([name, id]) => ({ name, id: `4900${id}`, f: relabel(name, id) }))
  if (announce) for (const { f } of fixtures) await tasmota.announce(f)
  const bridge = n.devices.bridge
  await waitFor('five Tasmota devices online', () =>
    fixtures.every(({ id }) =>
      bridge.devices().some((d) => d.id === id && d.online && d.source === 'tasmota'),
    ),
  )
  await waitFor('every action offered', () =>
    fixtures.every(({ id, f }) =>
      f.actions.every((a) => n.execution.registry.get(`${id}.${a.part}`) != null),
    ),
  )
  expect(bridge.devices().find((d) => d.id === '490001')?.title).toBe('Tasmota')
  for (const { name, id, f } of fixtures) {
    for (const a of f.actions) {
      const before = tasmota.received.length
      tasmota.replyNext(a.reply)
      const res = await n.execution.delegate({
        target: { capability: `${id}.${a.part}` },
        input: a.input,
        timeoutMs: 15_000,
      })
      expect(res, `${name} ${a.part} ${JSON.stringify(a.input)}`).toMatchObject({
        ok: true,
        output: { confirmed: a.confirmed },
      })
      await waitFor(`${name} ${a.part} command seen`, () => tasmota.received.length > before)
      expect(tasmota.received.slice(before), `${name} ${a.part}`).toEqual([a.expect])
    }
    for (const r of f.readings ?? []) {
      await tasmota.publish(r.topic, r.payload)
      await waitFor(`${name} ${r.sensor} reads ${JSON.stringify(r.value)}`, async () => {
        const res = await n.execution.delegate({
          target: { capability: `${id}.${r.sensor}` },
          input: {},
          timeoutMs: 5000,
        })
        return res.ok && (res.output as { value: unknown }).value === r.value
      })
    }
  }
  expect(bridge.rejected).toEqual({})
}

describe('Tasmota native discovery on the embedded broker and on mosquitto', () => {
  it('imports a plug, a dimmer, an RGBCW bulb, a shutter and a sensor; drives every action as Home Assistant does', async () => {
    const n = await node()
    const tasmota = await virtualTasmota(n.devices.brokerUrl() as string)
    await driveAll(n, tasmota, true)
  }, 120_000)

  it.skipIf(skipWithout('mosquitto'))(
    'through mosquitto, with kith started after the devices announced themselves (retained)',
    async () => {
      const broker = await tempMosquitto(cleanups)
      const tasmota = await virtualTasmota(broker.url)
      for (const [name, id] of DEVICES) await tasmota.announce(relabel(name, id))
      const n = await node([`mqtt: { broker: '${broker.url}' }`])
      await driveAll(n, tasmota, false)
    },
    120_000,
  )

  it('a device announced natively and in Home Assistant’s format (SetOption19) is one device; the other is counted', async () => {
    const n = await node()
    const url = n.devices.brokerUrl() as string
    const tasmota = await virtualTasmota(url)
    await tasmota.announce(relabel('plug', '01'))
    const bridge = n.devices.bridge
    await waitFor('plug imported', () => bridge.devices().some((d) => d.id === '490001' && d.online))
    const publisher = await client(url, 'so19-publisher')
    await publisher.publishAsync(SO19_TOPIC, JSON.stringify(SO19_CONFIG), { qos: 1, retain: true })
    await waitFor('the second announcement counted', () => (bridge.rejected.id_taken ?? 0) >= 1)
    const plugs = bridge.devices().filter((d) => d.id.includes('490001'))
    expect(plugs.map((d) => [d.id, d.source])).toEqual([['490001', 'tasmota']])
  }, 60_000)

  it('Home Assistant’s format first, the native config second: the native one replaces it, one announcement counted', async () => {
    const n = await node()
    const url = n.devices.brokerUrl() as string
    const publisher = await client(url, 'so19-publisher')
    await publisher.publishAsync(SO19_TOPIC, JSON.stringify(SO19_CONFIG), { qos: 1, retain: true })
    await publisher.publishAsync('tasmota_01/tele/LWT', 'Online', { qos: 1, retain: true })
    const bridge = n.devices.bridge
    await waitFor('SetOption19 plug imported', () => bridge.devices().some((d) => d.id === '490001'))
    const tasmota = await virtualTasmota(url)
    await tasmota.announce(relabel('plug', '01'))
    await waitFor('the second announcement counted', () => (bridge.rejected.id_taken ?? 0) >= 1)
    // the native config wins whichever came first: the device is Tasmota's, driven as hatasmota drives it
    await waitFor('the native device replaced the copy', () =>
      bridge.devices().some((d) => d.id === '490001' && d.source === 'tasmota' && d.online),
    )
    await waitFor('its relay offered', () => n.execution.registry.get('490001.relay1') != null)
    expect(bridge.devices().filter((d) => d.id.includes('490001'))).toHaveLength(1)
    tasmota.replyNext([{ topic: 'tasmota_01/stat/RESULT', payload: { POWER: 'ON' } }])
    const res = await n.execution.delegate({
      target: { capability: '490001.relay1' },
      input: { on: true },
      timeoutMs: 10_000,
    })
    expect(res, JSON.stringify(res)).toMatchObject({ ok: true, output: { confirmed: true } })
    expect(tasmota.received).toEqual([{ topic: 'tasmota_01/cmnd/Power1', payload: 'ON' }])
  }, 60_000)

  it('refuses a broken config with a counted reason and keeps serving the devices it has', async () => {
    const n = await node()
    const url = n.devices.brokerUrl() as string
    const tasmota = await virtualTasmota(url)
    await tasmota.announce(relabel('plug', '01'))
    const bridge = n.devices.bridge
    await waitFor('plug imported', () => bridge.devices().some((d) => d.id === '490001' && d.online))
    const publisher = await client(url, 'bad-publisher')
    await publisher.publishAsync('tasmota/discovery/000000490009/config', '{"ver":1', {
      qos: 1,
      retain: true,
    })
    await publisher.publishAsync('tasmota/discovery/000000490010/config', '{"ver":1,"mac":"000000490010"}', {
      qos: 1,
      retain: true,
    })
    await waitFor(
      'both counted',
      () => bridge.rejected.malformed_json === 1 && bridge.rejected.bad_config === 1,
    )
    // what a user sees: GET /v1/devices lists the device with what kith could not map, and the refusals by reason
    const view = await apiJson<{
      devices: {
        id: string
        source: string
        online: boolean
        unmapped?: { counts: Record<string, number> }
      }[]
      unmapped: Record<string, number>
      rejected: Record<string, number>
    }>(n.apiUrl, '/v1/devices')
    expect(view.devices.find((d) => d.id === '490001')).toMatchObject({ source: 'tasmota', online: true })
    expect(view.devices.find((d) => d.id === '490001')?.unmapped?.counts.partly).toBeGreaterThanOrEqual(1)
    expect(view.unmapped.partly).toBeGreaterThanOrEqual(1)
    expect(view.rejected).toMatchObject({ malformed_json: 1, bad_config: 1 })
    tasmota.replyNext([{ topic: 'tasmota_01/stat/RESULT', payload: { POWER: 'ON' } }])
    const res = await n.execution.delegate({
      target: { capability: '490001.relay1' },
      input: { on: true },
      timeoutMs: 10_000,
    })
    expect(res).toMatchObject({ ok: true, output: { confirmed: true } })
  }, 60_000)
})
