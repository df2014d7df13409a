/**
 * What the connectivity plane publishes on the node's event bus (src/util/event-bus.ts): connections to
 * peers opening and closing (libp2p's own events, carried over by the node).
 */

export interface ConnectivityEvents {
  /** a connection to `peer` opened or closed (`GET /v1/events` names it `peers`) */
  connection: { type: 'open' | 'close'; peer: string }
}
