/**
 * What the discovery plane publishes on the node's event bus (src/util/event-bus.ts): the soft-state store's
 * changes, the state sampler's readings and band crossings, and the clock estimate.
 */
import type { ClockEstimate } from './clock-offset.ts'
import type { NodeState } from './descriptor.ts'
import type { Bands } from './bands.ts'
import type { StoreEvent } from './store.ts'

export interface DiscoveryEvents {
  /** a descriptor entered the store, changed state, or left it */
  descriptor: StoreEvent
  /** the sampler read the node's state (every good sample) */
  'state-sample': NodeState
  /** the node's state crossed a band (battery low, load high, throttled): worth an announce at once */
  'state-band': { bands: Bands; state: NodeState; previous: Bands }
  /** the clock estimate's verdict changed: this node suspect or not, or its count of outlying peers */
  clock: ClockEstimate
}
