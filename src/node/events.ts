/**
 * The node's event bus carries every plane's events: each plane declares what it publishes (its
 * `events.ts`) and is handed the bus typed to that; the node's own map adds what only the node knows.
 */
import type { ConnectivityEvents } from '../connectivity/events.ts'
import type { DeviceEvents } from '../devices/events.ts'
import type { DiscoveryEvents } from '../discovery/events.ts'
import type { ExecutionEvents } from '../execution/events.ts'
import type { TrustEvents } from '../trust/events.ts'
import type { EventBus } from '../util/event-bus.ts'

/** What the node itself publishes. */
export interface StatusEvents {
  /** something `GET /v1/status` shows changed that no plane publishes: a reload (its count, the name) */
  status: { reason: 'reload' }
}

/** Every event on the node's bus. */
export type NodeEvents = ConnectivityEvents &
  DiscoveryEvents &
  ExecutionEvents &
  TrustEvents &
  DeviceEvents &
  StatusEvents

/** The node's event bus. */
export type NodeBus = EventBus<NodeEvents>
