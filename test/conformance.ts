/**
 * The conformance fixtures (test/fixtures/devices/*.json) and the hub they run against: their shape, the
 * loader, how payloads are compared, and a broker + link + bridge with the Home Assistant importer wired as
 * the node wires them (src/devices/plane.ts).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { EmbeddedBroker } from '../src/devices/broker.ts'
import { DeviceBridge } from '../src/devices/bridge.ts'
import { HomeAssistantImporter } from '../src/devices/homeassistant.ts'
import { MqttLink } from '../src/devices/mqtt-link.ts'
import type { DeviceSpec } from '../src/devices/types.ts'
import { SchemaCompiler } from '../src/execution/io-schema.ts'
import { silentLogger } from '../src/util/logger.ts'

const DIR = join(import.meta.dirname, 'fixtures/devices')

export interface Message {
  topic: string
  /** a string is sent as it is; anything else as its JSON */
  payload: unknown
}

export interface Cited {
  repo: string
  file: string
  commit?: string
  version?: string
  what: string
}

export interface ActionCase {
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

export interface ReadingCase {
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

export const text = (payload: unknown): string =>
  typeof payload === 'string' ? payload : JSON.stringify(payload)

/** A payload as compared: a JSON object or array as its parsed value, anything else as its text. */
export function comparable(payload: string): unknown {
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

/** A broker, a link and a bridge with the Home Assistant importer, as the node wires them. */
export async function hub(cleanups: Array<() => Promise<unknown>>) {
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

/** The device the fixture's configs make, through an importer of its own (the bridge keeps only summaries). */
export function importedSpec(f: Fixture): DeviceSpec {
  const ha = new HomeAssistantImporter()
  let spec: DeviceSpec | undefined
  for (const m of f.discovery) {
    for (const e of ha.handle(m.topic, new TextEncoder().encode(text(m.payload))).events)
      if (e.type === 'upsert') spec = e.device
  }
  if (spec == null) throw new Error(`${f.name}: the configs make no device`)
  return spec
}
