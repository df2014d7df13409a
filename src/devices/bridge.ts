/**
 * The MQTT bridge: keeps a {@link DeviceRuntime} per known device (from profiles in the config and from
 * discovery importers), routes MQTT messages to them, and offers each online device's sensors and actions
 * as capabilities. A device that goes offline leaves the offered set; one that comes back returns.
 */
import type { Capability } from '../discovery/descriptor.ts'
import { TaskFailure } from '../execution/registry.ts'
import { TimeoutError } from '../execution/scheduler.ts'
import { EventBus, type Events } from '../util/event-bus.ts'
import { type ActionContext, DeviceRuntime } from './device-runtime.ts'
import type { DeviceEvents } from './events.ts'
import { MqttLinkError } from './mqtt-link.ts'
import type { DeviceBridgeInit, DeviceSummary } from './bridge-types.ts'
import type { DeviceSpec, DiscoveryImporter, Risk } from './types.ts'

export class DeviceBridge {
  readonly #init: DeviceBridgeInit
  readonly #devices = new Map<string, DeviceRuntime>()
  /** ids of devices from the config: importers may not replace them */
  readonly #pinned = new Set<string>()
  readonly #events: Events<Pick<DeviceEvents, 'devices' | 'device-command'>>
  /** discovery filters and their handlers */
  readonly #importHandlers = new Map<string, (topic: string, payload: Buffer) => void>()
  /** per device id, the one handler its topics are routed to */
  readonly #deviceHandlers = new Map<string, (topic: string, payload: Buffer) => void>()
  #offConnect?: () => void
  /** who may run high-risk actions besides this node: from the init, then from {@link updateAccess} */
  #trusted: ReadonlySet<string>
  #allow: Readonly<Record<string, readonly string[]>>
  /** rejected discovery messages and devices by reason, commands and their outcomes */
  readonly rejected: Record<string, number> = {}
  readonly commands = { sent: 0, confirmed: 0, timedOut: 0, failed: 0, resent: 0 }

  constructor(init: DeviceBridgeInit) {
    this.#init = init
    this.#trusted = new Set(init.trusted)
    this.#allow = init.allow
    this.#events = init.events ?? new EventBus({ log: init.log })
  }

  #now(): number {
    return (this.#init.now ?? Date.now)()
  }

  async start(configured: DeviceSpec[]): Promise<void> {
    for (const spec of configured) {
      this.#pinned.add(spec.id)
      await this.#upsert(spec, false)
    }
    this.#offConnect = this.#init.link.onConnect((reconnect) => {
      if (!reconnect) return
      let resent = 0
      for (const d of this.#devices.values()) resent += d.resendPending()
      this.commands.resent += resent
      if (resent > 0) this.#events.emit('device-command', { outcome: 'resent' })
      this.#announceBirth()
    })
    for (const importer of this.#init.importers)
      for (const filter of importer.subscriptions) {
        const handler = (topic: string, payload: Buffer) => this.#import(importer, topic, payload)
        this.#importHandlers.set(filter, handler)
        await this.#init.link.subscribe(filter, handler)
      }
    this.#announceBirth()
  }

  /** Says kith is online to the device software (see {@link DeviceBridgeInit.birth}); births sent, for metrics. */
  births = 0

  #announceBirth(): void {
    const birth = this.#init.birth
    if (birth == null || this.#init.importers.length === 0) return
    this.#init.link.publish(birth.topic, birth.payload, { qos: 0, retain: false }).then(
      () => {
        this.births += 1
      },
      (err: Error) => this.#init.log.warn({ err, topic: birth.topic }, 'birth message not sent'),
    )
  }

  async stop(): Promise<void> {
    this.#offConnect?.()
    for (const [filter, handler] of this.#importHandlers) await this.#init.link.unsubscribe(filter, handler)
    this.#importHandlers.clear()
    for (const id of [...this.#devices.keys()]) await this.#remove(id, false)
  }

  /**
   * Makes the configured devices `specs` (a config reload): new ones join, changed ones replace their old
   * runtime (keeping its readings and pending commands), the ones no longer listed leave. Imported devices
   * stay, except one whose id a configured device now takes.
   *
   * @example
   * const { added, changed, removed } = await bridge.replaceConfigured(await configuredDevices(next))
   */
  async replaceConfigured(
    specs: DeviceSpec[],
  ): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
    const changes = { added: [] as string[], changed: [] as string[], removed: [] as string[] }
    const ids = new Set(specs.map((s) => s.id))
    for (const id of [...this.#pinned]) {
      if (ids.has(id)) continue
      this.#pinned.delete(id)
      await this.#remove(id, true)
      changes.removed.push(id)
    }
    for (const spec of specs) {
      const old = this.#devices.get(spec.id)
      const pinned = this.#pinned.has(spec.id)
      if (pinned && old != null && JSON.stringify(old.spec) === JSON.stringify(spec)) continue
      if (!pinned && old != null) await this.#remove(spec.id, false)
      this.#pinned.add(spec.id)
      await this.#upsert(spec, false)
      ;(pinned ? changes.changed : changes.added).push(spec.id)
    }
    return changes
  }

  /**
   * Changes who may run high-risk actions (a config reload): `trusted` for every device, `allow` per
   * configured device id. Actions already running finish; the next one is checked against the new lists.
   */
  updateAccess(access: { trusted: readonly string[]; allow: Record<string, readonly string[]> }): void {
    this.#trusted = new Set(access.trusted)
    this.#allow = access.allow
  }

  /** Calls `listener` whenever the set of offered capabilities may have changed. */
  onChange(listener: () => void): () => void {
    return this.#events.on('devices', listener)
  }

  /** Capabilities of every online device: what the descriptor offers. */
  capabilities(): Capability[] {
    return [...this.#devices.values()].filter((d) => d.online).flatMap((d) => d.capabilities())
  }

  /**
   * Capabilities of every known device, online or not: what this node can be asked to run. An action on a
   * device that is offline for a moment (its broker restarting) waits for it instead of failing at once.
   */
  knownCapabilities(): Capability[] {
    return [...this.#devices.values()].flatMap((d) => d.capabilities())
  }

  devices(): DeviceSummary[] {
    const now = this.#now()
    return [...this.#devices.values()].map((d) => ({
      id: d.spec.id,
      title: d.spec.title,
      source: d.spec.source,
      online: d.online,
      capabilities: d.capabilities().map((c) => c.id),
      ...(d.spec.unmapped != null ? { unmapped: d.spec.unmapped } : {}),
      readings: Object.fromEntries(
        d.spec.sensors.flatMap((s) => {
          const r = d.reading(s.id, now)
          return r == null ? [] : [[s.id, r]]
        }),
      ),
    }))
  }

  /**
   * Whether `peer` may run a high-risk action of this device: this node itself, the pre-trusted household
   * nodes, and the peers the config lists for the device (DESIGN.md: high-risk device actions require an
   * allow-list entry).
   */
  allowed(deviceId: string, peer: string): boolean {
    const { self, overrides } = this.#init
    return (
      peer === self ||
      this.#trusted.has(peer) ||
      (this.#allow[deviceId]?.includes(peer) ?? false) ||
      (overrides[deviceId]?.allow?.includes(peer) ?? false)
    )
  }

  /** Runs `<device>.<part>`: a sensor read returns the last value, an action is published and confirmed. */
  async run(capability: string, input: unknown, ctx: ActionContext, signal: AbortSignal): Promise<unknown> {
    const dot = capability.indexOf('.')
    const deviceId = capability.slice(0, dot)
    const part = capability.slice(dot + 1)
    let device = this.#devices.get(deviceId)
    if (device == null) throw new TaskFailure('unknown_device', `no device ${deviceId}`)
    const isSensor = device.spec.sensors.some((s) => s.id === part)
    const risk = device.spec.actions.find((a) => a.id === part)?.risk
    if (risk === 'high' && !this.allowed(deviceId, ctx.peer ?? this.#init.self))
      throw new TaskFailure(
        'not_allowed',
        `${capability} is high risk and ${ctx.peer} is not on its allow-list`,
      )
    if (!device.online) {
      if (isSensor) throw new TaskFailure('device_offline', `${deviceId} is not reachable`)
      // an action waits, within its timeout, for the device to come back; nothing is published meanwhile,
      // so a command never reaches a device later than its caller was told
      const timeout = device.spec.actions.find((a) => a.id === part)?.confirm?.timeout ?? 5000
      await this.#untilOnline(deviceId, timeout, signal)
      device = this.#devices.get(deviceId) as DeviceRuntime
    }
    if (isSensor) {
      const reading = device.reading(part, this.#now())
      if (reading == null) throw new TaskFailure('no_reading', `${capability} has not reported a value yet`)
      const unit = device.spec.sensors.find((s) => s.id === part)?.unit
      return { ...reading, ...(unit != null ? { unit } : {}) }
    }
    this.commands.sent += 1
    this.#events.emit('device-command', { outcome: 'sent', capability })
    try {
      const result = await device.act(part, input, ctx, this.#publish, signal)
      if (result.confirmed) {
        this.commands.confirmed += 1
        this.#events.emit('device-command', { outcome: 'confirmed', capability })
      }
      return result
    } catch (err) {
      const timedOut = err instanceof TimeoutError
      if (timedOut) this.commands.timedOut += 1
      else this.commands.failed += 1
      this.#events.emit('device-command', { outcome: timedOut ? 'timed-out' : 'failed', capability })
      throw err
    }
  }

  #untilOnline(deviceId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        const d = this.#devices.get(deviceId)
        if (d == null) return finish(new TaskFailure('unknown_device', `${deviceId} was removed`))
        if (d.online) finish()
      }
      const finish = (err?: Error) => {
        clearTimeout(timer)
        off()
        signal.removeEventListener('abort', aborted)
        if (err == null) resolve()
        else reject(err)
      }
      const aborted = () => finish(new TaskFailure('device_offline', `${deviceId} is not reachable`))
      const timer = setTimeout(
        () => finish(new TaskFailure('device_offline', `${deviceId} stayed unreachable for ${timeoutMs} ms`)),
        timeoutMs,
      )
      const off = this.onChange(check)
      signal.addEventListener('abort', aborted, { once: true })
      check()
    })
  }

  /** True while some command waits for a confirmation on `topic`. */
  awaits(topic: string): boolean {
    for (const d of this.#devices.values()) if (d.awaits(topic)) return true
    return false
  }

  /** Reads a sensor for a sandboxed script (`device.read("<device>.<sensor>")`); undefined if unknown. */
  read(capability: string): { value: unknown; at: number; ageMs: number } | undefined {
    const dot = capability.indexOf('.')
    const device = this.#devices.get(capability.slice(0, dot))
    return device?.online === true ? device.reading(capability.slice(dot + 1), this.#now()) : undefined
  }

  readonly #publish = async (topic: string, payload: string, retain: boolean): Promise<void> => {
    try {
      await this.#init.link.publish(topic, payload, { qos: 1, retain })
    } catch (err) {
      if (err instanceof MqttLinkError) throw new TaskFailure(`mqtt_${err.code}`, err.message)
      throw err
    }
  }

  #reject(reason: string, message: string, topic?: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1
    this.#init.log.debug({ reason, topic, message }, 'device input rejected')
  }

  #import(importer: DiscoveryImporter, topic: string, payload: Buffer): void {
    const { events, rejections } = importer.handle(topic, payload)
    for (const r of rejections) this.#reject(r.reason, r.message, r.topic)
    for (const event of events) {
      const id = event.type === 'upsert' ? event.device.id : event.deviceId
      if (this.#pinned.has(id)) {
        this.#reject('id_taken', `a configured device is already called ${id}`, topic)
        continue
      }
      const existing = this.#devices.get(id)
      if (event.type === 'upsert' && existing != null && existing.spec.source !== event.device.source) {
        // a Tasmota device announced natively and in Home Assistant's format (SetOption19) is one device: the
        // native config wins, whichever came first; the other announcement is counted
        const nativeWins = event.device.source === 'tasmota' && existing.spec.source === 'homeassistant'
        this.#reject(
          'id_taken',
          `${id} is already a ${nativeWins ? 'tasmota' : existing.spec.source} device`,
          topic,
        )
        if (!nativeWins) continue
      }
      if (event.type === 'remove') {
        if (existing != null && existing.spec.source !== importer.source) continue
        // an unsubscribe the broker refuses must not end the node: the device is gone from here either way
        this.#remove(event.deviceId, true).catch((err: Error) =>
          this.#init.log.warn({ err, device: event.deviceId }, 'device removal failed'),
        )
        continue
      }
      const override = this.#init.overrides[id]
      if (override?.ignore === true) continue
      const spec =
        override?.risk != null
          ? {
              ...event.device,
              actions: event.device.actions.map((a) => ({ ...a, risk: override.risk as Risk })),
            }
          : event.device
      void this.#upsert(spec, true).catch((err: Error) => this.#reject('bad_device', err.message, topic))
    }
  }

  async #upsert(spec: DeviceSpec, imported: boolean): Promise<void> {
    let runtime: DeviceRuntime
    try {
      runtime = new DeviceRuntime(spec, this.#init.compileSchema)
    } catch (err) {
      if (!imported) throw err
      this.#reject('bad_device', `${spec.id}: ${(err as Error).message}`)
      return
    }
    const old = this.#devices.get(spec.id)
    // discovery configs are re-published unchanged (e.g. when Zigbee2MQTT restarts): nothing to do
    if (old != null && JSON.stringify(old.spec) === JSON.stringify(spec)) return
    if (old != null) runtime.adopt(old)
    const oldTopics = old?.topics() ?? new Set<string>()
    const handler = this.#handlerFor(spec.id)
    this.#devices.set(spec.id, runtime)
    for (const t of runtime.topics()) if (!oldTopics.has(t)) await this.#init.link.subscribe(t, handler)
    for (const t of oldTopics) if (!runtime.topics().has(t)) await this.#init.link.unsubscribe(t, handler)
    this.#changed()
  }

  async #remove(id: string, notify: boolean): Promise<void> {
    const device = this.#devices.get(id)
    if (device == null) return
    this.#devices.delete(id)
    const handler = this.#handlerFor(id)
    for (const t of device.topics()) await this.#init.link.unsubscribe(t, handler)
    this.#deviceHandlers.delete(id)
    device.clear()
    if (notify) this.#changed()
  }

  #handlerFor(id: string): (topic: string, payload: Buffer) => void {
    let handler = this.#deviceHandlers.get(id)
    if (handler == null) {
      handler = (topic, payload) => {
        const device = this.#devices.get(id)
        if (device == null) return
        try {
          if (device.handle(topic, payload, this.#now())) this.#changed()
        } catch (err) {
          this.#reject('bad_payload', (err as Error).message, topic)
        }
      }
      this.#deviceHandlers.set(id, handler)
    }
    return handler
  }

  #changed(): void {
    this.#events.emit('devices', {})
  }
}
