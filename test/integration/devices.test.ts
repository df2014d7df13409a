/**
 * The device plane on real parts: kith nodes with their embedded broker (aedes) or Debian's mosquitto,
 * virtual devices from firmware-bridge/ speaking MQTT over TCP, and a second node reaching a device through
 * the task protocol.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startVirtualDevice, type VirtualDevice } from '../../firmware-bridge/virtual-device.ts'
import type { KithNode } from '../../src/node/node.ts'
import { tempMosquitto } from '../brokers.ts'
import { ROOT, tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { skipWithout } from '../system.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function node(yaml: string[], bootstrap: string[] = []): Promise<KithNode> {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  const n = await startTestNode(join(dir, 'n'), { yaml, bootstrap })
  cleanups.push(() => n.stop())
  return n
}

async function device(options: Parameters<typeof startVirtualDevice>[0]): Promise<VirtualDevice> {
  const d = await startVirtualDevice({ readingIntervalMs: 0, ...options })
  cleanups.push(() => d.stop())
  return d
}

const offers = (n: KithNode, id: string) => n.execution.registry.get(id) != null
/** in the node's own signed descriptor: what the network is told */
const advertised = (n: KithNode, id: string) =>
  (n.discovery.announcer.current()?.descriptor.caps ?? []).some((c) => c.id === id)
const call = (n: KithNode, capability: string, input: unknown, timeoutMs = 10_000) =>
  n.execution.delegate({ target: { capability }, input, timeoutMs })

const relayNode = (extra: string[] = []) =>
  node(['devices:', '  - id: relay1', '    profile: diy-relay', ...extra])

describe('profile devices on the embedded broker', () => {
  it('switches a relay: command published, state confirmed, the reply says so; sensors read with age', async () => {
    const n = await relayNode()
    const relay = await device({
      url: n.devices.brokerUrl() as string,
      kind: 'diy-relay',
      id: 'relay1',
      announce: 'none',
    })
    await waitFor('relay capabilities', () => offers(n, 'relay1.set'))
    const res = await call(n, 'relay1.set', { state: 'ON' })
    expect(res).toMatchObject({ ok: true, status: 'ok', local: true, output: { confirmed: true } })
    expect(relay.state).toMatchObject({ relay: 'ON' })
    expect(relay.received).toHaveLength(1)
    expect(JSON.parse(relay.received[0]?.payload as string)).toMatchObject({ relay: 'ON' })
    const reading = await call(n, 'relay1.temperature', {})
    expect(reading.ok).toBe(true)
    expect(reading.output).toMatchObject({ value: expect.any(Number), unit: '°C', ageMs: expect.any(Number) })
    // the action is in the node's own signed descriptor with its risk and input schema
    await waitFor('descriptor lists the action', () =>
      (n.discovery.announcer.current()?.descriptor.caps ?? []).some(
        (c) => c.id === 'relay1.set' && c.kind === 'device',
      ),
    )
  })

  it('refuses input that fails the action schema before anything is published', async () => {
    const n = await relayNode()
    const relay = await device({
      url: n.devices.brokerUrl() as string,
      kind: 'diy-relay',
      id: 'relay1',
      announce: 'none',
    })
    await waitFor('relay capabilities', () => offers(n, 'relay1.set'))
    const res = await call(n, 'relay1.set', { state: 'MAYBE' })
    expect(res).toMatchObject({ ok: false, status: 'error', error: { code: 'bad_input' } })
    const injected = await call(n, 'relay1.set', { state: 'ON', extra: '"}, "relay": "OFF' })
    expect(injected).toMatchObject({ ok: false, error: { code: 'bad_input' } })
    expect(relay.received).toHaveLength(0)
  })

  it('answers timeout when the device never confirms', async () => {
    const n = await relayNode(['    actions: { set: { timeout: 300 } }'])
    const relay = await device({
      url: n.devices.brokerUrl() as string,
      kind: 'diy-relay',
      id: 'relay1',
      announce: 'none',
      confirm: false,
    })
    await waitFor('relay capabilities', () => offers(n, 'relay1.set'))
    const res = await call(n, 'relay1.set', { state: 'ON' })
    expect(res.status).toBe('timeout')
    expect(relay.received).toHaveLength(1)
    expect(n.devices.bridge.commands.timedOut).toBe(1)
  })

  it('withdraws a device whose connection dies (Last Will) and offers it again when it returns', async () => {
    const n = await relayNode()
    const url = n.devices.brokerUrl() as string
    const first = await startVirtualDevice({
      url,
      kind: 'diy-relay',
      id: 'relay1',
      announce: 'none',
      readingIntervalMs: 0,
    })
    await waitFor('online', () => offers(n, 'relay1.set'))
    await first.stop({ abrupt: true })
    await waitFor('withdrawn', () => !advertised(n, 'relay1.set') && !advertised(n, 'relay1.temperature'))
    // a command for the offline device waits for it within the caller's deadline, and publishes nothing
    expect(await call(n, 'relay1.set', { state: 'ON' }, 500)).toMatchObject({ ok: false })
    expect(first.received).toHaveLength(0)
    await device({ url, kind: 'diy-relay', id: 'relay1', announce: 'none' })
    await waitFor('back online', () => advertised(n, 'relay1.set'))
    expect((await call(n, 'relay1.set', { state: 'OFF' })).ok).toBe(true)
  })

  it('lets another node run the device action through the task protocol', async () => {
    const hub = await relayNode()
    await device({
      url: hub.devices.brokerUrl() as string,
      kind: 'diy-relay',
      id: 'relay1',
      announce: 'none',
    })
    const addr = hub.host.getMultiaddrs()[0]?.toString() as string
    const other = await node([], [addr])
    await waitFor('remote node sees the action', () =>
      [...other.discovery.store.live()].some((e) => e.descriptor.caps.some((c) => c.id === 'relay1.set')),
    )
    const res = await call(other, 'relay1.set', { state: 'ON' })
    expect(res).toMatchObject({ ok: true, local: false, provider: hub.host.peerId.toString() })
  })
})

describe('sensors granted to scripts', () => {
  it('lets a script read the sensors its capability lists, and nothing else', async () => {
    const { dir, cleanup } = await tempDir()
    cleanups.push(cleanup)
    const script = await writeText(
      dir,
      'feels.js',
      'async function run(input) { const r = await device.read(input.sensor); return { celsius: r == null ? null : r.value } }',
    )
    const n = await relayNode([
      'capabilities:',
      '  - id: feels-like',
      '    kind: script',
      '    title: How warm it feels',
      `    script: ${script}`,
      '    sensors: [relay1.temperature]',
    ])
    await device({ url: n.devices.brokerUrl() as string, kind: 'diy-relay', id: 'relay1', announce: 'none' })
    await waitFor('temperature read', () => n.devices.bridge.read('relay1.temperature') != null)
    const ok = await call(n, 'feels-like', { sensor: 'relay1.temperature' })
    expect(ok).toMatchObject({ ok: true, output: { celsius: expect.any(Number) } })
    const refused = await call(n, 'feels-like', { sensor: 'relay1.humidity' })
    expect(refused.ok).toBe(false)
  })
})

describe('high-risk device actions', () => {
  it('runs a lock for this node and allow-listed peers only', async () => {
    const hub = await node(['devices:', '  - id: front', '    profile: door-lock'])
    await device({ url: hub.devices.brokerUrl() as string, kind: 'lock', id: 'front', announce: 'none' })
    await waitFor('lock offered', () => advertised(hub, 'front.unlock'))
    const addr = hub.host.getMultiaddrs()[0]?.toString() as string
    const stranger = await node([], [addr])
    await waitFor('stranger sees the lock', () =>
      [...stranger.discovery.store.live()].some((e) =>
        e.descriptor.caps.some((c) => c.id === 'front.unlock'),
      ),
    )
    const refused = await call(stranger, 'front.unlock', {})
    expect(refused).toMatchObject({ ok: false, error: { code: 'not_allowed' } })
    expect((await call(hub, 'front.unlock', {})).ok).toBe(true)
    expect(hub.execution.registry.get('front.unlock')?.capability.risk).toBe('high')
  })

  it('lets a peer on the device allow-list run it', async () => {
    const friend = await node([])
    const hub = await node([
      'devices:',
      '  - id: front',
      '    profile: door-lock',
      `    allow: [${friend.host.peerId.toString()}]`,
    ])
    await device({ url: hub.devices.brokerUrl() as string, kind: 'lock', id: 'front', announce: 'none' })
    await waitFor('lock offered', () => advertised(hub, 'front.lock'))
    await friend.host.dial(hub.host.getMultiaddrs()[0] as never)
    await waitFor('friend sees the lock', () =>
      [...friend.discovery.store.live()].some((e) => e.descriptor.caps.some((c) => c.id === 'front.lock')),
    )
    expect((await call(friend, 'front.lock', {})).ok).toBe(true)
  })
})

describe('profile devices through mosquitto', () => {
  it.skipIf(skipWithout('mosquitto'))('round-trips an action over MQTT 5', async () => {
    const broker = await tempMosquitto(cleanups)
    const n = await node([
      // 200 confirmations on one state topic within a second: above the default per-topic flood limit
      `mqtt: { broker: '${broker.url}', maxRatePerTopic: 100000 }`,
      'devices:',
      '  - id: relay1',
      '    profile: diy-relay',
    ])
    expect(n.devices.link?.protocolVersion).toBe(5)
    await device({ url: broker.url, kind: 'diy-relay', id: 'relay1', announce: 'none' })
    await waitFor('relay capabilities', () => offers(n, 'relay1.set'))
    expect((await call(n, 'relay1.set', { state: 'ON' })).ok).toBe(true)
  })

  // exactly once for the commands answered ok, matched by task id; a call may also end `busy` or `error` (not
  // applied) or `timeout` (unknown: at most once, maybe late)
  it.skipIf(skipWithout('mosquitto'))(
    'applies every command answered ok exactly once at the device across a broker restart, any other at most once, and answers every caller',
    async () => {
      const broker = await tempMosquitto(cleanups)
      const n = await node([
        // 200 confirmations on one state topic within a second: above the default per-topic flood limit
        `mqtt: { broker: '${broker.url}', maxRatePerTopic: 100000 }`,
        'execution: { maxConcurrent: 256, maxQueue: 1024, sandbox: { workers: 1 } }',
        'devices:',
        '  - id: relay1',
        '    profile: diy-relay',
        '    actions: { set: { timeout: 20000 } }',
      ])
      const relay = await device({
        url: broker.url,
        kind: 'diy-relay',
        id: 'relay1',
        announce: 'none',
        clean: false,
      })
      await waitFor('relay capabilities', () => offers(n, 'relay1.set'))
      // paced so that the restart falls in the middle of the burst
      const calls: Array<ReturnType<typeof call>> = []
      const firing = (async () => {
        for (let i = 0; i < 200; i++) {
          calls.push(call(n, 'relay1.set', { state: i % 2 === 0 ? 'ON' : 'OFF' }, 30_000))
          await new Promise((r) => setTimeout(r, 10))
        }
      })()
      await waitFor('some commands arrived', () => relay.received.length >= 20)
      await broker.restart(300)
      const afterRestart = calls.length
      await firing
      const results = await Promise.all(calls)
      expect(afterRestart).toBeLessThan(200)
      // every caller is told the outcome
      for (const r of results) expect(['ok', 'timeout', 'error', 'busy']).toContain(r.status)
      const applied = relay.received
        .filter((c) => !c.duplicate)
        .map((c) => (JSON.parse(c.payload) as { task: string }).task)
      // no command applied twice at the device, however often QoS 1 and kith's resend delivered it
      expect(new Set(applied).size).toBe(applied.length)
      const outcomes = results.map((r) => r.status).join(',')
      // every command that ended ok was applied exactly once, by the task id the node ran it under (the
      // journal's incoming task, whose id the payload carries); anything else applied ended `timeout`
      // (unknown: it may have been applied late)
      const ran = n.execution.journal
        .recent(1_000)
        .filter((t) => t.cap === 'relay1.set' && t.direction === 'in')
      const okIds = ran.filter((t) => t.status === 'ok').map((t) => t.id)
      expect(okIds.length, outcomes).toBe(results.filter((r) => r.ok).length)
      const unknownIds = new Set(ran.filter((t) => t.status === 'timeout').map((t) => t.id))
      const times = new Map<string, number>()
      for (const id of applied) times.set(id, (times.get(id) ?? 0) + 1)
      expect(
        okIds.filter((id) => times.get(id) !== 1),
        outcomes,
      ).toEqual([])
      const okSet = new Set(okIds)
      expect(
        applied.filter((id) => !okSet.has(id) && !unknownIds.has(id)),
        outcomes,
      ).toEqual([])
      // a loaded machine may refuse a few at once (busy): never silently
      expect(results.filter((r) => r.ok).length, outcomes).toBeGreaterThanOrEqual(190)
    },
    120_000,
  )
})

interface Fixture {
  topic: string
  payload: unknown
}

async function fixtures(
  kind: 'homeassistant' | 'homie',
): Promise<Array<{ file: string; messages: Fixture[] }>> {
  const dir = join(ROOT, 'firmware-bridge/fixtures', kind)
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
  return Promise.all(
    files.map(async (file) => {
      const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Fixture | Fixture[]
      return { file, messages: Array.isArray(json) ? json : [json] }
    }),
  )
}

const payloadText = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))

describe('MQTT discovery imports', () => {
  it('imports every Home Assistant fixture as retained messages, and an empty config deletes', async () => {
    const n = await node([])
    const url = n.devices.brokerUrl() as string
    const publisher = await mqtt.connectAsync(url, { clientId: 'fixture-publisher' })
    cleanups.push(() => publisher.endAsync(true))
    const sets = await fixtures('homeassistant')
    for (const { messages } of sets)
      for (const m of messages)
        await publisher.publishAsync(m.topic, payloadText(m.payload), { qos: 1, retain: true })
    await waitFor('every fixture imported', () => n.devices.bridge.devices().length >= sets.length)
    const before = n.devices.bridge.devices().length
    expect(n.devices.bridge.rejected.malformed_json ?? 0).toBe(0)
    // the lock from Zigbee2MQTT is high risk
    const lockFile = sets.find((f) => f.file.includes('lock'))
    expect(lockFile).toBeDefined()
    const all = n.devices.bridge.devices()
    expect(all.length).toBe(before)
    // deleting every config of one fixture removes its device
    for (const m of lockFile?.messages ?? [])
      await publisher.publishAsync(m.topic, '', { qos: 1, retain: true })
    await waitFor('lock removed', () => n.devices.bridge.devices().length === before - 1)
  })

  it('runs an action of a Home Assistant-discovered plug and withdraws it when the plug goes offline', async () => {
    const n = await node([])
    const url = n.devices.brokerUrl() as string
    const plug = await startVirtualDevice({
      url,
      kind: 'plug',
      id: 'desk_plug',
      announce: 'homeassistant',
      readingIntervalMs: 0,
    })
    await waitFor('plug imported and online', () =>
      n.devices.bridge.devices().some((d) => d.online && d.capabilities.some((c) => c.includes('desk_plug'))),
    )
    const action = n.devices.bridge
      .devices()
      .flatMap((d) => d.capabilities)
      .find((c) => c.includes('desk_plug') && n.execution.registry.get(c)?.capability.kind === 'device')
    expect(action).toBeDefined()
    const schema = n.execution.registry.get(action as string)?.capability.input as {
      properties: Record<string, unknown>
    }
    const input = 'on' in schema.properties ? { on: true } : { state: 'ON' }
    await waitFor('plug action offered', () => offers(n, action as string))
    const res = await call(n, action as string, input)
    expect(res).toMatchObject({ ok: true, output: { confirmed: true } })
    expect(plug.state).toMatchObject({ state: 'ON' })
    await plug.stop({ abrupt: true })
    await waitFor('plug withdrawn', () => !advertised(n, action as string))
  })

  it('imports a Homie v5 device and sets a property through it', async () => {
    const n = await node([])
    const url = n.devices.brokerUrl() as string
    const light = await device({ url, kind: 'light', id: 'hall', announce: 'homie' })
    await waitFor('homie device online', () =>
      n.devices.bridge.devices().some((d) => d.source === 'homie' && d.online),
    )
    const homie = n.devices.bridge.devices().find((d) => d.source === 'homie')
    const action = homie?.capabilities.find((c) => n.execution.registry.get(c)?.capability.kind === 'device')
    expect(action).toBeDefined()
    await waitFor('homie action offered', () => offers(n, action as string))
    const schema = n.execution.registry.get(action as string)?.capability.input as {
      properties: Record<string, { type?: string }>
    }
    const [key, prop] = Object.entries(schema.properties)[0] as [string, { type?: string }]
    const value =
      prop.type === 'boolean' ? true : prop.type === 'integer' || prop.type === 'number' ? 100 : 'ON'
    const res = await call(n, action as string, { [key]: value })
    expect(res.status).toBe('ok')
    expect(light.received.length).toBeGreaterThan(0)
  })
})
