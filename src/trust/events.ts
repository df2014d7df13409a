/**
 * What the trust plane publishes on the node's event bus (src/util/event-bus.ts): reputation moving.
 */

export interface TrustEvents {
  /** an outcome was recorded about a peer, or trust was recomputed (`GET /v1/events` names it `trust`) */
  trust: { reason: 'recorded' | 'recomputed'; peer?: string; topic?: string }
}
