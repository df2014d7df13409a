/**
 * The device plane, assembled: the embedded broker (or none, for an external one), the MQTT link, the
 * device profiles and discovery importers, and the bridge that turns devices into capabilities.
 */
import { readFile } from 'node:fs/promises'
import type { Config } from '../config/index.ts'
import { isLoopbackHost, parseHostPort } from '../config/index.ts'
import type { SchemaCompiler } from '../execution/io-schema.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { DeviceBridge } from './bridge.ts'
import type { BridgeLink } from './bridge-types.ts'
import { EmbeddedBroker } from './broker.ts'
import type { DeviceEvents } from './events.ts'
import { HomeAssistantImporter } from './homeassistant.ts'
import { HomieImporter } from './homie.ts'
import { MqttLink } from './mqtt-link.ts'
import { configuredDevices } from './config-devices.ts'
import { DeviceConfigError } from './profile.ts'
import { TasmotaImporter } from './tasmota.ts'
import type { DeviceSpec, DiscoveryImporter } from './types.ts'

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

/** The bridge's link while `mqtt.broker` is off: no device can be configured, so nothing reaches it. */
const NO_LINK: BridgeLink = {
  subscribe: () => Promise.reject(new Error('mqtt.broker is off')),
  unsubscribe: () => Promise.resolve(),
  publish: () => Promise.reject(new Error('mqtt.broker is off')),
  onConnect: () => () => undefined,
}

/** What the device plane is built over. */
export interface DeviceComponents {
  config: Config
  /** this node's peer id: its own API may run any action; the MQTT client id ends with it */
  peerId: string
  schemas: SchemaCompiler
  logger: Logger
  events: Events<DeviceEvents>
}

/**
 * Builds the device plane; `start()` starts the embedded broker, connects the link and loads the devices.
 *
 * @example
 * const devices = createDevices({ config, peerId, schemas, logger, events })
 * await devices.start()
 */
export function createDevices(parts: DeviceComponents): DevicePlane {
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

  const url = (): string | undefined => {
    if (m.broker === 'off') return undefined
    if (broker == null) return m.broker
    // a broker bound to every interface is still reached through loopback from here
    const bound = new URL(broker.url)
    return isLoopbackHost(bound.hostname) ? broker.url : `mqtt://127.0.0.1:${bound.port}`
  }

  const tls = m.tls
  // built now, connected at start: its URL is read then (an embedded broker on port 0 has one only then)
  const link =
    m.broker === 'off'
      ? undefined
      : new MqttLink({
          url: () => url() as string,
          clientId: m.clientId ?? `kith-${parts.peerId.slice(-16)}`,
          ...(m.username != null ? { username: m.username } : {}),
          ...(password != null ? { password } : {}),
          ...(tls != null
            ? {
                tls: async () => ({
                  rejectUnauthorized: tls.rejectUnauthorized,
                  ...(tls.ca != null ? { ca: await readFile(tls.ca) } : {}),
                  ...(tls.cert != null ? { cert: await readFile(tls.cert) } : {}),
                  ...(tls.key != null ? { key: await readFile(tls.key) } : {}),
                }),
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
  /** the link has connected once (start ran): until then the broker's URL is not known, nor are devices */
  let started = false
  const bridge = new DeviceBridge({
    self: parts.peerId,
    ...deviceAccess(config),
    link: link ?? NO_LINK,
    importers,
    overrides: m.imported,
    compileSchema: (schema) => parts.schemas.compile(schema, 'input') ?? (() => undefined),
    log,
    ...(m.discovery.birth !== false ? { birth: m.discovery.birth } : {}),
    events: parts.events,
  })

  return {
    bridge,
    get link() {
      return started ? link : undefined
    },
    broker,
    brokerUrl: () => (broker == null || started ? url() : undefined),
    async resolveDevices(next) {
      if (m.broker === 'off' && next.devices.length > 0)
        throw new DeviceConfigError([], 'devices are configured but the running node has mqtt.broker off')
      return configuredDevices(next)
    },
    async replaceDevices(specs) {
      if (!started) return { added: [], changed: [], removed: [] }
      return bridge.replaceConfigured(specs)
    },
    async start() {
      if (m.broker === 'off') {
        if (config.devices.length > 0)
          throw new DeviceConfigError([], 'devices are configured but mqtt.broker is off')
        return
      }
      const devices = await configuredDevices(config)
      await broker?.start()
      if (link === undefined) return
      link.awaited = (topic) => bridge.awaits(topic)
      try {
        await link.start()
        started = true
        await bridge.start(devices)
      } catch (err) {
        started = false
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
