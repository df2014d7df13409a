/**
 * Real households on real brokers: a Zigbee2MQTT network of 30 devices sharing one availability topic, kith
 * started after its devices (Home Assistant's birth message makes them announce again), and the same household
 * through Debian's mosquitto over TLS with a password (a CA and certificates made here with openssl).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/index.ts'
import type { DeviceSummary } from '../../src/devices/bridge-types.ts'
import type { KithNode } from '../../src/node/node.ts'
import { startMosquitto } from '../brokers.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { skipWithout } from '../system.ts'
import { startZigbee2Mqtt, type Z2mKind } from '../zigbee2mqtt.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function scratch(): Promise<string> {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  return dir
}

async function node(dir: string, yaml: string[]): Promise<KithNode> {
  const n = await startTestNode(join(dir, 'n'), { yaml })
  cleanups.push(() => n.stop())
  return n
}

async function zigbee2mqtt(options: Parameters<typeof startZigbee2Mqtt>[0]) {
  const z = await startZigbee2Mqtt(options)
  cleanups.push(() => z.stop())
  return z
}

const KINDS: Z2mKind[] = ['plug', 'bulb', 'weather']
const household = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `${KINDS[i % 3]}_${i}`, kind: KINDS[i % 3] as Z2mKind }))

const devicesOf = (n: KithNode): DeviceSummary[] => n.devices.bridge.devices()
const online = (n: KithNode) => devicesOf(n).filter((d) => d.online)
const call = (n: KithNode, capability: string, input: unknown) =>
  n.execution.delegate({ target: { capability }, input, timeoutMs: 10_000 })

/** Drives each device once: plugs and bulbs switched on and confirmed, weather sensors read. */
async function driveEach(n: KithNode, names: string[]): Promise<void> {
  const known = n.devices.bridge.knownCapabilities()
  for (const name of names) {
    const d = devicesOf(n).find((x) => x.title === name)
    expect(d, `device ${name}`).toBeDefined()
    const caps = known.filter((c) => (d as DeviceSummary).capabilities.includes(c.id))
    if (name.startsWith('weather')) {
      const read = caps.find((c) => c.kind === 'sensor' && c.id.endsWith('temperature'))
      expect(read, `${name} temperature`).toBeDefined()
      const res = await call(n, read?.id as string, {})
      expect(res, name).toMatchObject({ ok: true, output: { value: 21.5, unit: '°C' } })
      continue
    }
    const onOff = caps.find(
      (c) => c.kind === 'device' && (c.input.properties as Record<string, unknown> | undefined)?.on != null,
    )
    expect(onOff, `${name} on/off action in ${caps.map((c) => c.id).join(', ')}`).toBeDefined()
    const res = await call(n, onOff?.id as string, { on: true })
    expect(res, name).toMatchObject({ ok: true, output: { confirmed: true } })
  }
}

describe('a Zigbee2MQTT household', () => {
  it('brings 30 devices sharing zigbee2mqtt/bridge/state online and drives each once', async () => {
    const dir = await scratch()
    const n = await node(dir, [])
    const devices = household(30)
    const z2m = await zigbee2mqtt({ url: n.devices.brokerUrl() as string, devices, spreadMs: 10_000 })
    await waitFor('30 devices online', () => online(n).length === 30, 30_000)
    // one broker subscription for the shared topic, its retained message handed to the other 29 from the cache
    expect(n.devices.link?.counters.retainedReplayed).toBeGreaterThanOrEqual(29)
    await driveEach(
      n,
      devices.map((d) => d.name),
    )
    expect(z2m.received.filter((r) => r.topic.endsWith('/set'))).toHaveLength(20)
    // the bridge going away takes every device offline with it (its will), and back
    await z2m.stop()
    const watcher = await mqtt.connectAsync(n.devices.brokerUrl() as string)
    await watcher.publishAsync('zigbee2mqtt/bridge/state', '{"state":"offline"}', { retain: true, qos: 1 })
    await waitFor('all offline', () => online(n).length === 0, 15_000)
    await watcher.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', { retain: true, qos: 1 })
    await waitFor('all online again', () => online(n).length === 30, 15_000)
    await watcher.endAsync()
  })

  it.skipIf(skipWithout('mosquitto'))(
    'started after its devices, kith sends the birth message and reads the states they publish again',
    async () => {
      const dir = await scratch()
      const broker = await startMosquitto(dir)
      cleanups.push(() => broker.stop())
      const devices = household(6)
      const z2m = await zigbee2mqtt({ url: broker.url, devices, birthDelayMs: 300 })
      // the states went out before kith was there, and Zigbee2MQTT does not retain them
      const n = await node(dir, [`mqtt: { broker: '${broker.url}' }`])
      await waitFor('6 devices online', () => online(n).length === 6, 20_000)
      await waitFor('birth answered', () => z2m.births >= 1, 10_000)
      expect(n.devices.bridge.births).toBeGreaterThanOrEqual(1)
      await waitFor(
        'states read after the birth message',
        () => devicesOf(n).every((d) => Object.keys(d.readings).length > 0),
        15_000,
      )
      const weather = devicesOf(n).find((d) => d.title.startsWith('weather'))
      expect(Object.values(weather?.readings ?? {}).map((r) => r.value)).toContain(21.5)
    },
  )

  it('sends no birth message when mqtt.discovery.birth is false', async () => {
    const dir = await scratch()
    const n = await node(dir, ['mqtt: { listen: 127.0.0.1:0, discovery: { birth: false } }'])
    const z2m = await zigbee2mqtt({
      url: n.devices.brokerUrl() as string,
      devices: household(3),
      birthDelayMs: 0,
    })
    await waitFor('3 devices online', () => online(n).length === 3, 20_000)
    expect(n.devices.bridge.births).toBe(0)
    expect(z2m.births).toBe(0)
  })

  it.skipIf(skipWithout('mosquitto', 'openssl'))(
    'reaches the household through mosquitto over TLS with a password',
    async () => {
      const dir = await scratch()
      const pki = makePki(dir)
      const broker = await startMosquitto(dir, {
        tls: { cert: pki.serverCert, key: pki.serverKey },
        users: { kith: 'kith-secret-1', z2m: 'z2m-secret-2' },
      })
      cleanups.push(() => broker.stop())
      expect(broker.url).toMatch(/^mqtts:/)
      const devices = household(6)
      const z2m = await zigbee2mqtt({
        url: broker.url,
        username: 'z2m',
        password: 'z2m-secret-2',
        connect: { ca: pki.caPem, rejectUnauthorized: true },
        devices,
        birthDelayMs: 200,
      })
      const passwordFile = await writeText(dir, 'mqtt-password', 'kith-secret-1\n')
      await chmod(passwordFile, 0o600)
      const n = await node(dir, [
        'mqtt:',
        `  broker: '${broker.url}'`,
        '  username: kith',
        `  passwordFile: ${passwordFile}`,
        '  tls:',
        `    ca: ${pki.ca}`,
      ])
      await waitFor('6 devices online over TLS', () => online(n).length === 6, 20_000)
      await waitFor(
        'states after the birth message',
        () => devicesOf(n).every((d) => Object.keys(d.readings).length > 0),
        15_000,
      )
      await driveEach(
        n,
        devices.map((d) => d.name),
      )
      expect(z2m.received.length).toBe(4)
    },
  )
})

describe('a household under bad input', () => {
  it('keeps serving its devices through a state flood, a 1 MiB retained message and 10,000 discovery configs, counting each', async () => {
    const dir = await scratch()
    const n = await node(dir, ['mqtt: { listen: 127.0.0.1:0, maxPayloadBytes: 65536 }'])
    const url = n.devices.brokerUrl() as string
    const devices = household(6)
    await zigbee2mqtt({ url, devices })
    await waitFor('6 devices online', () => online(n).length === 6, 20_000)
    const rogue = await mqtt.connectAsync(url, { clientId: 'rogue' })
    cleanups.push(() => rogue.endAsync(true))
    // a device that floods its own state topic loses its excess, nobody else's
    for (let i = 0; i < 2000; i++)
      rogue.publish('zigbee2mqtt/plug_0', JSON.stringify({ state: 'OFF', power: i }), { qos: 0 })
    // a retained message of 1 MiB: refused by the broker's or the link's size cap
    await rogue
      .publishAsync('zigbee2mqtt/weather_2', Buffer.alloc(1024 * 1024, 0x20), { qos: 0, retain: true })
      .catch(() => undefined)
    // 10,000 discovery configs: devices beyond mqtt.discovery.maxDevices are refused and counted
    for (let i = 0; i < 10_000; i++)
      rogue.publish(
        `homeassistant/switch/junk_${i}/config`,
        JSON.stringify({
          name: `junk ${i}`,
          command_topic: `junk/${i}/set`,
          unique_id: `junk_${i}`,
          device: { identifiers: [`junk_${i}`] },
        }),
        { qos: 0, retain: true },
      )
    await waitFor(
      'too many devices counted',
      () => (n.devices.bridge.rejected.too_many_devices ?? 0) > 0,
      60_000,
    )
    expect(n.devices.link?.counters.rateLimited).toBeGreaterThan(0)
    expect(devicesOf(n).length).toBeLessThanOrEqual(configSchema.parse({}).mqtt.discovery.maxDevices)
    // the household still answers
    await driveEach(
      n,
      devices.map((d) => d.name),
    )
    // the weather sensor whose state topic got the 1 MiB message is still online and served
    expect(devicesOf(n).find((d) => d.title === 'weather_2')?.online).toBe(true)
  })
})

/** A CA and a server certificate for 127.0.0.1, made with openssl in `dir`. */
function makePki(dir: string): { ca: string; caPem: string; serverCert: string; serverKey: string } {
  const at = (name: string) => join(dir, name)
  const ssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' })
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
  ssl(`req -x509 ${ec} -days 2 -subj /CN=kith-test-ca -keyout ${at('ca.key')} -out ${at('ca.pem')}`)
  ssl(`req ${ec} -subj /CN=127.0.0.1 -keyout ${at('server.key')} -out ${at('server.csr')}`)
  writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  ssl(
    `x509 -req -in ${at('server.csr')} -CA ${at('ca.pem')} -CAkey ${at('ca.key')} -CAcreateserial -days 2 ` +
      `-extfile ${at('san.ext')} -out ${at('server.pem')}`,
  )
  return {
    ca: at('ca.pem'),
    caPem: readFileSync(at('ca.pem'), 'utf8'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
  }
}
