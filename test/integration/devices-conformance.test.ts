/**
 * Conformance against the device software itself: every fixture in test/fixtures/devices/ is a discovery
 * config exactly as Zigbee2MQTT, Tasmota (SetOption19) or ESPHome builds it, cited to its source. Through a
 * real embedded broker each is imported, every action kith offers is driven through the bridge's run path,
 * and what kith publishes is compared with what Home Assistant publishes for the same service call (cited to
 * Home Assistant's own tests); then the device's state reply is played back and the confirmation and the
 * sensor readings are checked. Options kith does not map must be counted with a reason, never dropped.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../src/devices/broker.ts'
import { DeviceBridge } from '../../src/devices/bridge.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { MqttLink } from '../../src/devices/mqtt-link.ts'
import type { DeviceSpec } from '../../src/devices/types.ts'
import { SchemaCompiler } from '../../src/execution/io-schema.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { waitFor } from '../helpers.ts'

const DIR = join(import.meta.dirname, '../fixtures/devices')

interface Message {
  topic: string
  /** a string is sent as it is; anything else as its JSON */
  payload: unknown
}

interface Cited {
  repo: string
  file: string
  commit?: string
  version?: string
  what: string
}

interface ActionCase {
  /** the part id: the capability is `<device>.<part>` */
  part: string
  input: unknown
  /** the Home Assistant service call that publishes the same command, and where HA's tests show it */
  ha: Cited & { service: string }
  expect: Message
  /** further publications Home Assistant makes for the same call (a two-point climate: low, then high) */
  also?: Message[]
  /** the device's state reply to play back after the command */
  reply?: Message[]
  /** whether kith should report the command confirmed by the reply (false: no state topic to confirm on) */
  confirmed: boolean
}

interface ReadingCase {
  part: string
  /** messages to publish first (absent: the last action's reply is the state) */
  reply?: Message[]
  value: unknown
}

export interface Fixture {
  name: string
  source: Cited
  /** the discovery configs (one or more entities of one device), published retained */
  discovery: Message[]
  /** availability messages the device software publishes (retained) */
  availability?: Message[]
  actions: ActionCase[]
  readings: ReadingCase[]
  /** options the import must report as not (fully) mapped, with the reason it gives */
  unmapped?: Record<string, string>
  /** why the fixture is skipped (only for a difference in another engineer's area at the deadline) */
  pending?: string
}

const text = (payload: unknown): string => (typeof payload === 'string' ? payload : JSON.stringify(payload))

/** A payload as compared: a JSON object or array as its parsed value, anything else as its text. */
function comparable(payload: string): unknown {
  try {
    const parsed: unknown = JSON.parse(payload)
    if (typeof parsed === 'object' && parsed !== null) return parsed
  } catch {
    // not JSON: compared as text
  }
  return payload
}

export function loadFixtures(dir = DIR): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(
      (f) =>
        ({
          name: f.replace(/\.json$/, ''),
          ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object),
        }) as Fixture,
    )
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function client(url: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: `conformance-${Math.random().toString(36).slice(2)}` })
  cleanups.push(() => c.endAsync())
  return c
}

/** A broker, a link and a bridge with the Home Assistant importer, as the node wires them. */
async function hub() {
  const log = silentLogger()
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    maxClients: 16,
    maxPayloadBytes: 256 * 1024,
    log,
  })
  await broker.start()
  cleanups.push(() => broker.stop())
  const link = new MqttLink({
    url: broker.url,
    clientId: 'kith-conformance',
    protocol: 'auto',
    outbox: 64,
    maxPayloadBytes: 256 * 1024,
    maxRatePerTopic: 100,
    log,
  })
  const schemas = new SchemaCompiler()
  const bridge = new DeviceBridge({
    self: 'self',
    trusted: [],
    allow: {},
    link,
    importers: [new HomeAssistantImporter({ confirmTimeout: 5_000 })],
    overrides: {},
    compileSchema: (schema) => schemas.compile(schema, 'input') ?? (() => undefined),
    log,
  })
  link.awaited = (topic) => bridge.awaits(topic)
  await link.start()
  cleanups.push(() => link.stop())
  await bridge.start([])
  cleanups.push(() => bridge.stop())
  return { broker, bridge }
}

const fixtures = loadFixtures()

/** The device the fixture's configs make, through an importer of its own (the bridge keeps only summaries). */
function importedSpec(f: Fixture): DeviceSpec {
  const ha = new HomeAssistantImporter()
  let spec: DeviceSpec | undefined
  for (const m of f.discovery) {
    for (const e of ha.handle(m.topic, new TextEncoder().encode(text(m.payload))).events)
      if (e.type === 'upsert') spec = e.device
  }
  if (spec == null) throw new Error(`${f.name}: the configs make no device`)
  return spec
}

describe('conformance fixtures', () => {
  it('has at least 40 fixtures: 15 Zigbee2MQTT, 10 Tasmota, 10 ESPHome, each citing its source', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40)
    const by = (repo: string) => fixtures.filter((f) => f.source.repo === repo).length
    expect(by('Koenkk/zigbee2mqtt')).toBeGreaterThanOrEqual(15)
    expect(by('arendst/Tasmota')).toBeGreaterThanOrEqual(10)
    expect(by('esphome/esphome')).toBeGreaterThanOrEqual(10)
    for (const f of fixtures) {
      expect(f.source.file, f.name).toBeTruthy()
      expect(f.source.commit ?? f.source.version, f.name).toBeTruthy()
      for (const a of f.actions) expect(a.ha.commit ?? a.ha.version, `${f.name} ${a.part}`).toBeTruthy()
    }
  })
})

describe.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
  it.skipIf(f.pending != null)(
    'imports, publishes what Home Assistant publishes, and reads the state reply',
    async () => {
      const { broker, bridge } = await hub()
      const device = await client(broker.url)
      for (const m of f.availability ?? [])
        await device.publishAsync(m.topic, text(m.payload), { retain: true, qos: 1 })
      for (const m of f.discovery)
        await device.publishAsync(m.topic, text(m.payload), { retain: true, qos: 1 })

      const parts = [...f.actions.map((a) => a.part), ...f.readings.map((r) => r.part)]
      let id = ''
      await waitFor(
        `${f.name}: imported with ${parts.join(', ')}`,
        () => {
          const d = bridge.devices().find((x) => parts.every((p) => x.capabilities.includes(`${x.id}.${p}`)))
          id = d?.id ?? ''
          return d != null
        },
        10_000,
      ).catch((err: Error) => {
        const offered = bridge.devices().flatMap((d) => d.capabilities)
        throw new Error(
          `${err.message}; offered: ${offered.join(', ')}; refused: ${JSON.stringify(bridge.rejected)}`,
        )
      })
      expect(bridge.rejected, 'no config or entity refused').toEqual({})

      const spy = await client(broker.url)
      const seen: { topic: string; payload: string }[] = []
      spy.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }))
      const commandTopics = [
        ...new Set(f.actions.flatMap((a) => [a.expect, ...(a.also ?? [])].map((m) => m.topic))),
      ]
      if (commandTopics.length > 0) await spy.subscribeAsync(commandTopics, { qos: 1 })

      for (const a of f.actions) {
        seen.length = 0
        const ctrl = new AbortController()
        const run = bridge.run(`${id}.${a.part}`, a.input, { task: `t-${a.part}` }, ctrl.signal)
        let failed: Error | undefined
        run.catch((err: Error) => {
          failed = err
        })
        const wanted = [a.expect, ...(a.also ?? [])]
        const published = () => wanted.every((w) => seen.some((m) => m.topic === w.topic))
        await waitFor(
          `${f.name}: ${a.part} publishes on ${wanted.map((w) => w.topic).join(', ')}`,
          () => failed != null || published(),
        )
        if (failed != null && !published())
          throw new Error(`${f.name}: ${a.part} ${JSON.stringify(a.input)} failed: ${failed.message}`)
        for (const w of wanted) {
          const sent = seen.find((m) => m.topic === w.topic) as { topic: string; payload: string }
          expect(
            comparable(sent.payload),
            `${f.name}: ${a.part} ${JSON.stringify(a.input)} on ${w.topic} (HA: ${a.ha.service})`,
          ).toEqual(comparable(text(w.payload)))
        }
        for (const m of a.reply ?? []) await device.publishAsync(m.topic, text(m.payload), { qos: 1 })
        const result = (await run) as { confirmed: boolean }
        expect(result.confirmed, `${f.name}: ${a.part} confirmed`).toBe(a.confirmed)
      }

      for (const r of f.readings) {
        for (const m of r.reply ?? []) await device.publishAsync(m.topic, text(m.payload), { qos: 1 })
        await waitFor(
          `${f.name}: ${r.part} reads ${JSON.stringify(r.value)}`,
          () => {
            const reading = bridge.read(`${id}.${r.part}`)
            return reading != null && JSON.stringify(reading.value) === JSON.stringify(r.value)
          },
          5_000,
        ).catch(() => undefined)
        expect(bridge.read(`${id}.${r.part}`)?.value, `${f.name}: ${r.part}`).toEqual(r.value)
      }

      // every action kith offers for the device is driven above
      const spec = importedSpec(f)
      const driven = new Set(f.actions.map((a) => a.part))
      expect(
        spec.actions.map((a) => a.id).filter((a) => !driven.has(a)),
        `${f.name}: actions not driven`,
      ).toEqual([])

      // what the import could not map is counted with a reason, never dropped: the same configs through an
      // importer of their own give the device's report, which must list the options the fixture names
      const report = spec.unmapped
      const reasons = ['not_supported', 'partly', 'display_only', 'not_mapped', 'bad_value']
      for (const o of report?.options ?? []) {
        expect(reasons, `${f.name}: ${o.option}`).toContain(o.reason)
        expect(o.detail.length, `${f.name}: ${o.option} says why`).toBeGreaterThan(0)
      }
      const counted = Object.values(report?.counts ?? {}).reduce((a, b) => a + b, 0)
      expect(counted).toBeGreaterThanOrEqual(report?.options.length ?? 0)
      for (const [option, reason] of Object.entries(f.unmapped ?? {})) {
        const found = report?.options.find((o) => o.option === option)
        expect(found?.reason, `${f.name}: ${option} counted as ${reason}`).toBe(reason)
      }
    },
    30_000,
  )
})
