/**
 * Wires the device plane from the config: the embedded broker (or none, for an external one), the MQTT
 * link, the device profiles and discovery importers, and the bridge that turns devices into capabilities.
 */
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { CapabilityConfig, Config } from '../config/index.ts'
import { isLoopbackHost, parseHostPort } from '../config/index.ts'
import type { CapabilityRegistry } from '../execution/registry.ts'
import { DeviceBridge } from '../devices/bridge.ts'
import { EmbeddedBroker } from '../devices/broker.ts'
import { HomeAssistantImporter } from '../devices/homeassistant.ts'
import { HomieImporter } from '../devices/homie.ts'
import { MqttLink } from '../devices/mqtt-link.ts'
import { TasmotaImporter } from '../devices/tasmota.ts'
import { builtinProfileDir, devicesFromConfig, loadProfiles } from '../devices/profile.ts'
import { compileTemplate } from '../devices/template.ts'
import type { DeviceSpec, DiscoveryImporter } from '../devices/types.ts'
import type { SchemaCompiler } from '../execution/io-schema.ts'
import type { DeviceEvents } from '../devices/events.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import type { LocalState } from './discovery.ts'

export interface DevicePlane {
  readonly bridge: DeviceBridge
  readonly link?: MqttLink
  readonly broker?: EmbeddedBroker
  /** the broker URL devices connect to, once started */
  brokerUrl(): string | undefined
  /**
   * The devices of `next` (a config reload), from its profile folders; throws, changing nothing, when one
   * does not fit its profile or devices are configured while the running node has no MQTT.
   */
  resolveDevices(next: Config): Promise<DeviceSpec[]>
  /** makes the configured devices `specs`: see DeviceBridge.replaceConfigured */
  replaceDevices(specs: DeviceSpec[]): Promise<{ added: string[]; changed: string[]; removed: string[] }>
  start(): Promise<void>
  stop(): Promise<void>
}

export class DeviceConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeviceConfigError'
  }
}

/** Who may run high-risk device actions under `config`: the household, and per device its `allow` list. */
export function deviceAccess(config: Pick<Config, 'trust' | 'devices'>): {
  trusted: string[]
  allow: Record<string, string[]>
} {
  return {
    trusted: config.trust.pretrusted,
    allow: Object.fromEntries(config.devices.flatMap((d) => (d.allow != null ? [[d.id, d.allow]] : []))),
  }
}

/** The device specs of the config's `devices:` list, from the built-in and configured profile folders. */
export async function configuredDevices(config: Config): Promise<DeviceSpec[]> {
  if (config.devices.length === 0) return []
  const profiles = await loadProfiles([builtinProfileDir(), ...config.mqtt.profiles], {
    checkTemplate: compileTemplate,
  })
  return devicesFromConfig(config.devices, profiles, { locate: config.locate })
}

export function buildDevices(parts: {
  config: Config
  peerId: string
  schemas: SchemaCompiler
  logger: Logger
  events: Events<DeviceEvents>
}): DevicePlane {
  const { config } = parts
  const m = config.mqtt
  const log = componentLogger(parts.logger, 'kith:devices')
  const password = config.mqttPassword
  const broker =
    m.broker === 'embedded'
      ? new EmbeddedBroker({
          ...(parseHostPort(m.listen) as { host: string; port: number }),
          ...(m.username != null ? { username: m.username } : {}),
          ...(password != null ? { password } : {}),
          maxClients: m.maxClients,
          maxPayloadBytes: m.maxPayloadBytes,
          log: componentLogger(parts.logger, 'kith:devices:broker'),
        })
      : undefined
  const importers: DiscoveryImporter[] = []
  const limits = { maxPayloadBytes: m.maxPayloadBytes, maxDevices: m.discovery.maxDevices }
  if (m.discovery.homeassistant)
    importers.push(new HomeAssistantImporter({ prefix: m.discovery.homeassistantPrefix, ...limits }))
  if (m.discovery.homie) importers.push(new HomieImporter({ prefix: m.discovery.homiePrefix, ...limits }))
  if (m.discovery.tasmota)
    importers.push(new TasmotaImporter({ prefix: m.discovery.tasmotaPrefix, ...limits }))

  let link: MqttLink | undefined
  const bridgeLink = {
    subscribe: (f: string, h: (t: string, p: Buffer) => void) => (link as MqttLink).subscribe(f, h),
    unsubscribe: (f: string, h: (t: string, p: Buffer) => void) => (link as MqttLink).unsubscribe(f, h),
    publish: (t: string, p: string, o: { qos?: 0 | 1; retain?: boolean }) =>
      (link as MqttLink).publish(t, p, o),
    onConnect: (l: (reconnect: boolean) => void) => (link as MqttLink).onConnect(l),
  }
  const bridge = new DeviceBridge({
    self: parts.peerId,
    ...deviceAccess(config),
    link: bridgeLink,
    importers,
    overrides: m.imported,
    compileSchema: (schema) => parts.schemas.compile(schema, 'input') ?? (() => undefined),
    log,
    ...(m.discovery.birth !== false ? { birth: m.discovery.birth } : {}),
    events: parts.events,
  })

  const url = (): string | undefined => {
    if (m.broker === 'off') return undefined
    if (broker == null) return m.broker
    // a broker bound to every interface is still reached through loopback from here
    const bound = new URL(broker.url)
    return isLoopbackHost(bound.hostname) ? broker.url : `mqtt://127.0.0.1:${bound.port}`
  }

  return {
    bridge,
    get link() {
      return link
    },
    broker,
    brokerUrl: () => (broker == null || link != null ? url() : undefined),
    async resolveDevices(next) {
      if (m.broker === 'off' && next.devices.length > 0)
        throw new DeviceConfigError('devices are configured but the running node has mqtt.broker off')
      return configuredDevices(next)
    },
    async replaceDevices(specs) {
      if (link == null) return { added: [], changed: [], removed: [] }
      return bridge.replaceConfigured(specs)
    },
    async start() {
      if (m.broker === 'off') {
        if (config.devices.length > 0)
          throw new DeviceConfigError('devices are configured but mqtt.broker is off')
        return
      }
      const devices = await configuredDevices(config)
      await broker?.start()
      const tls = m.tls
      link = new MqttLink({
        url: url() as string,
        clientId: m.clientId ?? `kith-${parts.peerId.slice(-16)}`,
        ...(m.username != null ? { username: m.username } : {}),
        ...(password != null ? { password } : {}),
        ...(tls != null
          ? {
              tls: {
                rejectUnauthorized: tls.rejectUnauthorized,
                ...(tls.ca != null ? { ca: await readFile(tls.ca) } : {}),
                ...(tls.cert != null ? { cert: await readFile(tls.cert) } : {}),
                ...(tls.key != null ? { key: await readFile(tls.key) } : {}),
              },
            }
          : {}),
        // aedes speaks 3.1.1 only: no need to try 5 first
        protocol: broker != null && m.protocol === 'auto' ? '3.1.1' : m.protocol,
        outbox: m.outbox,
        maxPayloadBytes: m.maxPayloadBytes,
        maxRatePerTopic: m.maxRatePerTopic,
        log: componentLogger(parts.logger, 'kith:devices:mqtt'),
        events: parts.events,
      })
      link.awaited = (topic) => bridge.awaits(topic)
      try {
        await link.start()
        await bridge.start(devices)
      } catch (err) {
        await link.stop()
        await broker?.stop()
        throw err
      }
    },
    async stop() {
      // the link and the broker are stopped whatever the bridge did, so no socket outlives the node
      await bridge
        .stop()
        .catch((err: unknown) =>
          log.warn({ err }, 'the device bridge did not stop cleanly; stopping the MQTT link anyway'),
        )
      await link?.stop()
      await broker?.stop()
    },
  }
}

/**
 * The node's local state with the online devices' capabilities added after its own, and a re-announce
 * whenever a device comes, goes or changes.
 */
export function withDeviceCapabilities(
  local: LocalState,
  bridge: DeviceBridge,
  events: Events<Pick<DeviceEvents, 'devices'>>,
): LocalState {
  return {
    state: () => local.state(),
    // every capability: the v2 summary's catalog pages carry them all (src/discovery/summary.ts)
    capabilities: () => [...local.capabilities(), ...bridge.capabilities()],
    ...(local.start != null ? { start: () => (local.start as () => Promise<void>)() } : {}),
    ...(local.stop != null ? { stop: () => (local.stop as () => void)() } : {}),
    ...(local.replaceCapabilities != null
      ? { replaceCapabilities: (caps: CapabilityConfig[]) => local.replaceCapabilities?.(caps) }
      : {}),
    watch(onChange) {
      const offLocal = local.watch?.(onChange)
      const offBridge = events.on('devices', () => onChange())
      return () => {
        offLocal?.()
        offBridge()
      }
    },
  }
}

/** Keeps the registry's device capabilities equal to the bridge's known devices; returns the unsubscribe function. */
export function syncDeviceCapabilities(
  registry: CapabilityRegistry,
  bridge: DeviceBridge,
  events: Events<Pick<DeviceEvents, 'devices'>>,
): () => void {
  let offered = new Map<string, string>()
  const sync = () => {
    const next = new Map<string, string>()
    for (const capability of bridge.knownCapabilities()) {
      const text = JSON.stringify(capability)
      next.set(capability.id, text)
      if (offered.get(capability.id) === text) continue
      registry.register({
        capability,
        run: (input, signal, ctx) =>
          bridge.run(
            capability.id,
            input,
            { task: ctx?.id ?? randomUUID(), ...(ctx?.peer != null ? { peer: ctx.peer } : {}) },
            signal,
          ),
      })
    }
    for (const id of offered.keys()) if (!next.has(id)) registry.unregister(id)
    offered = next
  }
  sync()
  return events.on('devices', sync)
}
