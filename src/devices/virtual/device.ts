/**
 * A virtual device that behaves like real firmware over MQTT: a Last Will on its availability topic, `online`
 * once connected, an announcement through Home Assistant discovery or Homie v5 (or none, for profile-configured
 * devices), periodic readings, and commands obeyed and confirmed by publishing the new state, retained.
 *
 * The demo household (`kith start --demo`) runs these inside the node's process; firmware-bridge/virtual-device.ts
 * runs one as a program. Use it:  const device = await startVirtualDevice({ url, kind: 'plug', id: 'desk-plug' })
 */
import { createConnection } from 'node:net'
import { type IClientOptions, MqttClient } from 'mqtt'
import { haDiscovery, homieDescription, homieId } from './announce.ts'
import { type DeviceState, KINDS, type KindModel, type VirtualDeviceKind } from './kinds.ts'
import { MODELS } from './models.ts'

export type Announce = 'homeassistant' | 'homie' | 'none'

export interface VirtualDeviceOptions {
  /** `mqtt://[user:password@]host:port` */
  url: string
  kind: VirtualDeviceKind
  /** the device id (kith's DEVICE_ID form); Homie turns `_` into `-` */
  id: string
  /** default `homeassistant` */
  announce?: Announce
  /** base topic; default the kind's (`zigbee2mqtt/<id>`, `kith/<id>` for diy-relay), `homie/5/<id>` for Homie */
  base?: string
  /** Home Assistant discovery prefix, default `homeassistant` */
  discoveryPrefix?: string
  title?: string
  /** false: record commands but neither obey nor confirm them (a device that never answers); default true */
  confirm?: boolean
  /** how often readings are published (ms); 0 turns them off; default 10,000 */
  readingIntervalMs?: number
  /** MQTT clean session; default true (a relay should not act on commands queued while it was away) */
  clean?: boolean
  /** called with every command as it arrives */
  onCommand?: (command: ReceivedCommand) => void
}

/** A command as it arrived. */
export interface ReceivedCommand {
  topic: string
  payload: string
  /** the MQTT DUP flag: the broker is redelivering a QoS 1 message */
  dup: boolean
  /** dropped because its task id was already applied (diy-relay) */
  duplicate: boolean
  at: number
}

export interface VirtualDevice {
  readonly id: string
  readonly kind: VirtualDeviceKind
  readonly announce: Announce
  /** `state` and `command` are the JSON topics (absent for Homie, whose topics are per property) */
  readonly topics: { base: string; availability: string; state?: string; command?: string }
  readonly received: readonly ReceivedCommand[]
  readonly state: Readonly<DeviceState>
  /** changes readings (e.g. motion, an opened door) and publishes them */
  update(patch: Partial<DeviceState>): Promise<void>
  /** graceful: publishes offline (Homie: disconnected) first; abrupt: drops the socket so the Last Will fires */
  stop(options?: { abrupt?: boolean }): Promise<void>
}

const MAX_COMMAND_BYTES = 4096
const MAX_RECEIVED = 10_000
const REMEMBERED_TASKS = 64

/**
 * Connects, announces and starts publishing; resolves once the device is online.
 *
 * @example
 * const lamp = await startVirtualDevice({ url: 'mqtt://127.0.0.1:1883', kind: 'light', id: 'hall', announce: 'homie' })
 * await lamp.stop()
 */
export async function startVirtualDevice(options: VirtualDeviceOptions): Promise<VirtualDevice> {
  const device = new Device(options)
  await device.start()
  return device
}

class Device implements VirtualDevice {
  readonly id: string
  readonly kind: VirtualDeviceKind
  readonly announce: Announce
  readonly topics: VirtualDevice['topics']
  readonly received: ReceivedCommand[] = []
  readonly #options: VirtualDeviceOptions
  readonly #model: KindModel
  readonly #state: DeviceState
  readonly #tasks: string[] = []
  readonly #published = new Map<string, string>()
  #client: MqttClient | undefined
  #timer: NodeJS.Timeout | undefined
  #lastTick = Date.now()

  constructor(options: VirtualDeviceOptions) {
    const model = MODELS[options.kind]
    if (model == null) throw new Error(`unknown kind "${options.kind}" (kinds: ${KINDS.join(', ')})`)
    this.id = options.id
    this.kind = options.kind
    this.announce = options.announce ?? 'homeassistant'
    this.#options = options
    this.#model = model
    this.#state = model.initial()
    if (this.announce === 'homie') {
      const base = options.base ?? `homie/5/${homieId(options.id)}`
      this.topics = { base, availability: `${base}/$state` }
    } else {
      const base = options.base ?? model.base.replace('{id}', options.id)
      this.topics = { base, availability: `${base}/availability`, state: base, command: `${base}/set` }
    }
  }

  get state(): Readonly<DeviceState> {
    return { ...this.#state }
  }

  get #homie(): boolean {
    return this.announce === 'homie'
  }

  async start(): Promise<void> {
    const url = new URL(this.#options.url)
    if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:')
      throw new Error(`unsupported broker URL ${url.href}`)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const port = Number(url.port || 1883)
    const clientOptions: IClientOptions = {
      protocolVersion: 4,
      clientId: `kith-vd-${this.id}`,
      clean: this.#options.clean ?? true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: false,
      will: {
        topic: this.topics.availability,
        payload: Buffer.from(this.#homie ? 'lost' : 'offline'),
        qos: 1,
        retain: true,
      },
      ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    }
    // Nagle's algorithm holds small packets back ~40 ms per hop; a command round trip is all small packets
    const client = new MqttClient(() => createConnection({ host, port, noDelay: true }), clientOptions)
    this.#client = client
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet.dup === true))
    client.on('error', () => {}) // reconnects on its own; a failed first connect is reported below
    const ready = new Promise<void>((resolve, reject) => {
      client.once('error', reject)
      client.on('connect', () => {
        this.#online().then(() => {
          client.off('error', reject)
          resolve()
        }, reject)
      })
    })
    try {
      await ready
    } catch (err) {
      client.end(true)
      throw err
    }
    const interval = this.#options.readingIntervalMs ?? 10_000
    if (interval > 0) {
      this.#lastTick = Date.now()
      this.#timer = setInterval(() => void this.#tick().catch(() => {}), interval)
    }
  }

  // on every (re)connect: listen first, then describe, then say so
  async #online(): Promise<void> {
    const client = this.#client!
    const base = this.topics.base
    const filters = this.#homie ? [`${base}/+/+/set`] : [`${base}/set`, `${base}/set/+`]
    await client.subscribeAsync(filters, { qos: 1 })
    this.#published.clear()
    if (this.#homie) {
      await this.#publish(this.topics.availability, 'init')
      await this.#publish(`${base}/$description`, JSON.stringify(homieDescription(this.#model, this.#title)))
      await this.#publishState()
      await this.#publish(this.topics.availability, 'ready')
      return
    }
    if (this.announce === 'homeassistant') {
      const identity = {
        id: this.id,
        kind: this.kind,
        title: this.#title,
        base,
        prefix: this.#options.discoveryPrefix ?? 'homeassistant',
      }
      for (const a of haDiscovery(this.#model, identity)) await this.#publish(a.topic, a.payload)
    }
    await this.#publishState()
    await this.#publish(this.topics.availability, 'online')
  }

  get #title(): string {
    return this.#options.title ?? `${this.#model.title} ${this.id}`
  }

  #onMessage(topic: string, bytes: Buffer, dup: boolean): void {
    if (bytes.byteLength > MAX_COMMAND_BYTES) return
    const payload = bytes.toString('utf8')
    const command = this.#parse(topic, payload)
    if (command == null) return
    const record: ReceivedCommand = { topic, payload, dup, duplicate: false, at: Date.now() }
    if (this.received.length >= MAX_RECEIVED) this.received.shift()
    this.received.push(record)
    this.#options.onCommand?.(record)
    if (this.#options.confirm === false) return
    const task = command.task
    if (this.#model.dedupe === true && typeof task === 'string') {
      if (this.#tasks.includes(task)) {
        // already obeyed: say the state again (the first confirmation may have been lost) but do not act twice
        record.duplicate = true
        void this.#publishState(true).catch(() => {})
        return
      }
      this.#tasks.push(task)
      if (this.#tasks.length > REMEMBERED_TASKS) this.#tasks.shift()
    }
    const patch = this.#model.command(this.#state, command)
    if (patch == null) return
    Object.assign(this.#state, patch)
    void this.#publishState(true).catch(() => {})
  }

  /** The JSON command a message means, or undefined when it means nothing to this device. */
  #parse(topic: string, payload: string): Record<string, unknown> | undefined {
    const base = this.topics.base
    if (this.#homie) {
      const [node, prop] = topic.slice(base.length + 1).split('/')
      const p = this.#model.homie.properties.find((q) => q.node === node && q.id === prop)
      const value = p?.decode?.(payload.trim())
      return p != null && value !== undefined ? { [p.key]: value } : undefined
    }
    if (topic === `${base}/set`) {
      try {
        const json: unknown = JSON.parse(payload)
        if (json != null && typeof json === 'object' && !Array.isArray(json))
          return json as Record<string, unknown>
      } catch {
        // Zigbee2MQTT takes a bare word on <base>/set as the state
      }
      const key = this.#model.plainKey
      return key != null && payload.trim() !== '' ? { [key]: payload.trim() } : undefined
    }
    const key = topic.slice(`${base}/set/`.length)
    let value: unknown = payload.trim()
    try {
      value = JSON.parse(payload)
    } catch {
      // a bare string value
    }
    return { [key]: value }
  }

  async #tick(): Promise<void> {
    const now = Date.now()
    Object.assign(this.#state, this.#model.tick(this.#state, now - this.#lastTick, Math.random))
    this.#lastTick = now
    await this.#publishState()
  }

  async update(patch: Partial<DeviceState>): Promise<void> {
    Object.assign(this.#state, patch)
    await this.#publishState()
  }

  /** Zigbee2MQTT style: the whole state object on the base topic; Homie: each changed property. */
  async #publishState(always = false): Promise<void> {
    if (this.#client?.connected !== true) return
    if (!this.#homie) return this.#publish(this.topics.base, JSON.stringify(this.#state))
    for (const p of this.#model.homie.properties) {
      const value = this.#state[p.key]
      if (value === undefined) continue
      const topic = `${this.topics.base}/${p.node}/${p.id}`
      const text = p.encode(value)
      if (!always && this.#published.get(topic) === text) continue
      this.#published.set(topic, text)
      await this.#publish(topic, text)
    }
  }

  async #publish(topic: string, payload: string): Promise<void> {
    await this.#client!.publishAsync(topic, payload, { qos: 1, retain: true })
  }

  async stop(options: { abrupt?: boolean } = {}): Promise<void> {
    clearInterval(this.#timer)
    const client = this.#client
    if (client == null) return
    this.#client = undefined
    if (options.abrupt === true || !client.connected) {
      await client.endAsync(true)
      return
    }
    await client.publishAsync(this.topics.availability, this.#homie ? 'disconnected' : 'offline', {
      qos: 1,
      retain: true,
    })
    await client.endAsync()
  }
}
