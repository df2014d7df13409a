/**
 * The household as one list: this node, every peer with a live descriptor, every open connection, and the
 * peers whose descriptor vanished in the last ten minutes (kept, faded, so a flapping peer does not blink).
 */
import { GONE_MS } from './store.ts'
import type { Gone } from './store.ts'
import type { Connection, Descriptor } from './types.ts'

export type Freshness = 'live' | 'stale' | 'expired'
export type Link = 'self' | 'direct' | 'relayed' | 'none'

export interface PeerView {
  id: string
  self: boolean
  descriptor?: Descriptor
  connection?: Connection
  /** its descriptor left the node's list */
  gone: boolean
  state: Freshness
  link: Link
  /** ms since the descriptor's lifetime began: now − (expiresAt − ttl) */
  age?: number
  /** the name the peer gave itself */
  name?: string
}

/** A descriptor older than this share of its TTL is about to expire unless its owner speaks again. */
export const STALE_SHARE = 0.75

/**
 * The freshness of a held descriptor at `now` (the node's clock). Never `expired`: the node extends a
 * descriptor's life on a heartbeat without a new body, so only its leaving the node's list (the node
 * announces that) says it expired; past its TTL here it is stale until the dashboard has asked again.
 *
 * @example
 * freshness(12_000, 15_000) // 'stale'
 */
export function freshness(age: number, ttl: number): Freshness {
  return age > STALE_SHARE * ttl ? 'stale' : 'live'
}

export function descriptorAge(d: Descriptor, now: number): number {
  return Math.max(0, now - (d.expiresAt - d.ttl))
}

export function peerViews(init: {
  self: string | undefined
  descriptors: Descriptor[]
  connections: Connection[]
  gone: Map<string, Gone>
  /** the node's clock */
  now: number
  /** performance.now(), the clock of {@link Gone.at} */
  localNow: number
  names?: ReadonlyMap<string, string>
}): PeerView[] {
  const byId = new Map<string, PeerView>()
  const entry = (id: string): PeerView => {
    let view = byId.get(id)
    if (view == null) {
      view = {
        id,
        self: id === init.self,
        gone: false,
        state: 'live',
        link: id === init.self ? 'self' : 'none',
      }
      byId.set(id, view)
    }
    return view
  }
  if (init.self != null) entry(init.self)
  for (const d of init.descriptors) {
    const view = entry(d.peer)
    view.descriptor = d
    view.age = descriptorAge(d, init.now)
    view.state = freshness(view.age, d.ttl)
  }
  for (const [id, g] of init.gone) {
    if (byId.get(id)?.descriptor != null || init.localNow - g.at >= GONE_MS) continue
    const view = entry(id)
    view.descriptor = g.descriptor
    view.gone = true
    view.state = 'expired'
  }
  for (const c of init.connections) {
    const view = entry(c.peerId)
    if (view.self) continue
    view.connection = c
    view.link = c.relayed ? 'relayed' : 'direct'
  }
  for (const view of byId.values()) {
    const name = init.names?.get(view.id)
    if (name != null) view.name = name
  }
  // a stable order keeps every peer in its place in the graph as others come and go
  return [...byId.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.id.localeCompare(b.id))
}
