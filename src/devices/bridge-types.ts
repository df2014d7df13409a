/**
 * What the device bridge is built over and what it reports: the MQTT link it needs, per-device overrides of
 * imported devices, and the summary GET /v1/devices lists.
 */
import type { SchemaCheck } from '../execution/io-schema.ts'
import type { Events } from '../util/event-bus.ts'
import type { Logger } from '../util/logger.ts'
import type { DeviceEvents } from './events.ts'
import type { DeviceSpec, DiscoveryImporter, Risk, UnmappedReport } from './types.ts'

/** The part of {@link MqttLink} the bridge uses (a fake in unit tests). */
export interface BridgeLink {
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<void>
  unsubscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<void>
  publish(topic: string, payload: string, opts: { qos?: 0 | 1; retain?: boolean }): Promise<void>
  onConnect(listener: (reconnect: boolean) => void): () => void
}

export interface ImportOverride {
  risk?: Risk
  allow?: string[]
  ignore?: boolean
}

export interface DeviceBridgeInit {
  /** this node's peer id: its own API may run any action */
  self: string
  /** peers that may run any device's high-risk actions (trust.pretrusted) */
  trusted: string[]
  /** per configured (profile) device id, more peers allowed to run its high-risk actions */
  allow: Record<string, string[]>
  link: BridgeLink
  importers: DiscoveryImporter[]
  /** per imported device id */
  overrides: Record<string, ImportOverride>
  compileSchema: (schema: Record<string, unknown>) => SchemaCheck
  log: Logger
  now?: () => number
  /**
   * Home Assistant's birth message, published (QoS 0, not retained, as Home Assistant does) once the
   * importers are subscribed and after every reconnect: Zigbee2MQTT, Tasmota and ESPHome answer it by
   * announcing their devices and states again, so devices known before kith started are seen even when their
   * messages were not retained. No will is set on its topic, since a real Home Assistant may share the broker.
   */
  birth?: { topic: string; payload: string }
  /** where changes of the offered set and commands are published; default a bus of the bridge's own */
  events?: Events<Pick<DeviceEvents, 'devices' | 'device-command'>>
}

export interface DeviceSummary {
  id: string
  title: string
  source: DeviceSpec['source']
  online: boolean
  capabilities: string[]
  /** options of the device's discovery config kith did not map, or only partly, by reason */
  unmapped?: UnmappedReport
  readings: Record<string, { value: unknown; at: number; ageMs: number }>
}
