/**
 * The virtual device against a real broker (aedes, embedded here on 127.0.0.1 with TCP_NODELAY): what it
 * announces, a command -> state round trip driven through the matching profile, duplicate dropping, and the
 * Last Will when its connection dies.
 */
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net'
import { Aedes } from 'aedes'
import { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startVirtualDevice, type VirtualDevice } from '../../firmware-bridge/virtual-device.ts'
import {
  builtinProfileDir,
  deviceFromProfile,
  loadProfiles,
  type Profile,
} from '../../src/devices/profile.ts'
import { compileTemplate } from '../../src/devices/template.ts'
import type { ActionSpec } from '../../src/devices/types.ts'

interface Message {
  topic: string
  payload: string
  retain: boolean
}

let broker: Aedes
let server: Server
let url: string
let observer: MqttClient
let profiles: Map<string, Profile>
const devices: VirtualDevice[] = []
const inbox: Message[] = []
const waiters = new Set<() => void>()
const watched = new Set<string>()

beforeAll(async () => {
  broker = await Aedes.createBroker()
  server = createServer({ noDelay: true }, broker.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  url = `mqtt://127.0.0.1:${port}`
  observer = new MqttClient(() => createConnection({ host: '127.0.0.1', port, noDelay: true }), {
    protocolVersion: 4,
    clientId: 'test-observer',
    reconnectPeriod: 0,
  })
  await new Promise<void>((resolve, reject) => {
    observer.once('connect', () => resolve())
    observer.once('error', reject)
  })
  observer.on('message', (topic, payload, packet) => {
    inbox.push({ topic, payload: payload.toString('utf8'), retain: packet.retain })
    for (const wake of waiters) wake()
  })
  profiles = await loadProfiles([builtinProfileDir()])
})

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.stop()))
  if (watched.size > 0) await observer.unsubscribeAsync([...watched])
  watched.clear()
  inbox.length = 0
})

afterAll(async () => {
  await observer.endAsync()
  await new Promise<void>((resolve) => broker.close(() => resolve()))
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

async function start(options: Omit<Parameters<typeof startVirtualDevice>[0], 'url'>): Promise<VirtualDevice> {
  const device = await startVirtualDevice({ url, readingIntervalMs: 0, ...options })
  devices.push(device)
  return device
}

async function watch(...topics: string[]): Promise<void> {
  for (const t of topics) watched.add(t)
  await observer.subscribeAsync(topics, { qos: 1 })
}

/** The first message (already seen or still to come) on `topic` that satisfies `test`. */
function next(topic: string, test: (m: Message) => boolean = () => true): Promise<Message> {
  return new Promise((resolve, reject) => {
    // not a timing check: a clearer failure than the test's own timeout when the message never comes
    const giveUp = setTimeout(() => {
      waiters.delete(check)
      reject(new Error(`no matching message on ${topic}; saw ${JSON.stringify(inbox.map((m) => m.topic))}`))
    }, 20_000)
    const check = () => {
      const found = inbox.find((m) => m.topic === topic && test(m))
      if (found == null) return
      clearTimeout(giveUp)
      waiters.delete(check)
      resolve(found)
    }
    waiters.add(check)
    check()
  })
}

const json = (m: Message) => JSON.parse(m.payload) as Record<string, unknown>

/** A profile template rendered by the device plane's engine, as the node renders it. */
const render = (source: string, ctx: Record<string, unknown>): string => compileTemplate(source).render(ctx)

/** The action's command payload, rendered from its template. */
const payloadOf = (action: ActionSpec, input: object, task: string): string =>
  render(action.payload, { input, task, device: 'test' })

describe('virtual device', () => {
  it('announces itself through Home Assistant discovery with Zigbee2MQTT-style topics', async () => {
    const plug = await start({ kind: 'plug', id: 'desk_plug', title: 'Desk plug' })
    await watch('homeassistant/#', 'zigbee2mqtt/#')

    const config = json(await next('homeassistant/switch/desk_plug/switch/config'))
    expect(config).toMatchObject({
      stat_t: 'zigbee2mqtt/desk_plug',
      cmd_t: 'zigbee2mqtt/desk_plug/set',
      val_tpl: '{{ value_json.state }}',
      pl_on: 'ON',
      pl_off: 'OFF',
      uniq_id: 'desk_plug_switch',
      avty: [{ t: 'zigbee2mqtt/desk_plug/availability' }],
      dev: { ids: ['kith_desk_plug'], name: 'Desk plug' },
    })
    const power = json(await next('homeassistant/sensor/desk_plug/power/config'))
    expect(power).toMatchObject({ stat_t: 'zigbee2mqtt/desk_plug', unit_of_meas: 'W', dev_cla: 'power' })
    expect((await next('zigbee2mqtt/desk_plug/availability')).payload).toBe('online')
    const state = await next('zigbee2mqtt/desk_plug')
    expect(state.retain).toBe(true)
    expect(json(state)).toMatchObject({ state: 'OFF' })
    expect(plug.topics).toMatchObject({ command: 'zigbee2mqtt/desk_plug/set' })
  })

  it('announces itself through Homie v5 and obeys a property /set', async () => {
    const light = await start({ kind: 'light', id: 'hall_light', announce: 'homie', title: 'Hall light' })
    const root = 'homie/5/hall-light'
    expect(light.topics.availability).toBe(`${root}/$state`)
    await watch(`${root}/#`)

    expect((await next(`${root}/$state`)).payload).toBe('ready')
    const description = json(await next(`${root}/$description`))
    expect(description).toMatchObject({ homie: '5.0', name: 'Hall light' })
    expect(Number.isInteger(description.version)).toBe(true)
    expect(description.nodes).toMatchObject({
      light: { properties: { brightness: { datatype: 'integer', format: '0:254', settable: true } } },
    })
    expect((await next(`${root}/light/on`)).payload).toBe('false')

    await observer.publishAsync(`${root}/light/brightness/set`, '128', { qos: 1 })
    await next(`${root}/light/brightness`, (m) => m.payload === '128')
    await next(`${root}/light/on`, (m) => m.payload === 'true')
    expect(light.state).toMatchObject({ state: 'ON', brightness: 128 })
  })

  it('obeys a profile command and confirms it with the new state (smart plug)', async () => {
    await start({ kind: 'plug', id: 'lamp_plug', announce: 'none' })
    const spec = deviceFromProfile({ id: 'lamp_plug', profile: 'smart-plug' }, profiles.get('smart-plug')!)
    const set = spec.actions.find((a) => a.id === 'set')!
    await watch(set.confirm!.topic)
    await next(set.confirm!.topic)

    const input = { state: 'ON' }
    await observer.publishAsync(set.commandTopic, payloadOf(set, input, 't1'), {
      qos: 1,
    })
    const confirmed = await next(set.confirm!.topic, (m) => json(m).state === 'ON')
    const when = render(set.confirm!.when, {
      input,
      value: confirmed.payload,
      value_json: json(confirmed),
    })
    expect(when.trim()).toMatch(/^true$/i)
    expect(json(confirmed).power).toBeGreaterThan(0)

    // Zigbee2MQTT also takes a bare word on <base>/set
    await observer.publishAsync(set.commandTopic, 'OFF', { qos: 1 })
    await next(set.confirm!.topic, (m) => json(m).state === 'OFF')
  })

  it('drops a repeated diy-relay command by its task id but says its state again', async () => {
    const relay = await start({ kind: 'diy-relay', id: 'garden', announce: 'none' })
    const spec = deviceFromProfile({ id: 'garden', profile: 'diy-relay' }, profiles.get('diy-relay')!)
    const set = spec.actions[0]!
    expect(set.commandTopic).toBe('kith/garden/set')
    await watch(set.confirm!.topic)

    const on = payloadOf(set, { state: 'ON' }, 'task-1')
    expect(JSON.parse(on)).toEqual({ relay: 'ON', task: 'task-1' })
    await observer.publishAsync(set.commandTopic, on, { qos: 1 })
    await next(set.confirm!.topic, (m) => json(m).relay === 'ON' && json(m).task === 'task-1')

    // the same task again (as a redelivery would be), even asking otherwise, changes nothing
    inbox.length = 0
    await observer.publishAsync(set.commandTopic, JSON.stringify({ relay: 'OFF', task: 'task-1' }), {
      qos: 1,
    })
    const again = await next(set.confirm!.topic)
    expect(json(again)).toMatchObject({ relay: 'ON', task: 'task-1' })
    expect(relay.received.map((r) => [r.duplicate, r.dup])).toEqual([
      [false, false],
      [true, false],
    ])

    await observer.publishAsync(set.commandTopic, JSON.stringify({ relay: 'OFF', task: 'task-2' }), {
      qos: 1,
    })
    await next(set.confirm!.topic, (m) => json(m).relay === 'OFF' && json(m).task === 'task-2')
  })

  it('records but neither obeys nor confirms a command when told never to confirm', async () => {
    const relay = await start({ kind: 'diy-relay', id: 'mute', announce: 'none', confirm: false })
    await observer.publishAsync('kith/mute/set', JSON.stringify({ relay: 'ON', task: 'x' }), { qos: 1 })
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => relay.received.length > 0 && (clearInterval(poll), resolve()), 5)
    })
    expect(relay.received[0]).toMatchObject({ topic: 'kith/mute/set', duplicate: false })
    expect(relay.state.relay).toBe('OFF')
    await watch('kith/mute')
    expect(json(await next('kith/mute'))).toMatchObject({ relay: 'OFF' })
  })

  it('publishes readings on its interval', async () => {
    await start({ kind: 'climate-sensor', id: 'bedroom', announce: 'none', readingIntervalMs: 20 })
    await watch('zigbee2mqtt/bedroom')
    let count = 0
    await next('zigbee2mqtt/bedroom', (m) => typeof json(m).temperature === 'number' && ++count >= 3)
  })

  it('goes offline through its Last Will when its connection dies', async () => {
    const plug = await start({ kind: 'plug', id: 'flaky' })
    const homie = await start({ kind: 'contact', id: 'back-door', announce: 'homie' })
    await watch('zigbee2mqtt/flaky/availability', 'homie/5/back-door/$state')
    await next('zigbee2mqtt/flaky/availability', (m) => m.payload === 'online')
    await next('homie/5/back-door/$state', (m) => m.payload === 'ready')

    await plug.stop({ abrupt: true })
    await homie.stop({ abrupt: true })
    await next('zigbee2mqtt/flaky/availability', (m) => m.payload === 'offline')
    await next('homie/5/back-door/$state', (m) => m.payload === 'lost')

    inbox.length = 0
    await observer.unsubscribeAsync('zigbee2mqtt/flaky/availability')
    await watch('zigbee2mqtt/flaky/availability')
    const kept = await next('zigbee2mqtt/flaky/availability')
    expect(kept).toMatchObject({ payload: 'offline', retain: true })
  })

  it('says offline itself on a graceful stop', async () => {
    const plug = await start({ kind: 'lock', id: 'porch' })
    await watch('zigbee2mqtt/porch/availability')
    await next('zigbee2mqtt/porch/availability', (m) => m.payload === 'online')
    await plug.stop()
    await next('zigbee2mqtt/porch/availability', (m) => m.payload === 'offline')
  })
})
