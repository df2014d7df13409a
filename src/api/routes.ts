/**
 * The kith endpoints of the local API (DESIGN.md, "Contract"). Each route calls a function of the node it is
 * given; nothing here reaches into a plane directly.
 */
import type { PeerInfo } from '../connectivity/peers.ts'
import type { Route } from './http.ts'

export interface NodeStatus {
  peerId: string
  name?: string
  version: string
  startedAt: number
  uptimeMs: number
  listen: string[]
  connections: number
  mdns: boolean
  dht: string
}

/** What the API needs from the running node. */
export interface ApiNode {
  status(): NodeStatus
  peers(): PeerInfo[]
}

export function kithRoutes(node: ApiNode): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      open: true,
      handle: () => {
        const s = node.status()
        return { status: 'ok', peerId: s.peerId, version: s.version, uptimeMs: s.uptimeMs }
      },
    },
    { method: 'GET', path: '/v1/status', handle: () => node.status() },
    { method: 'GET', path: '/v1/peers', handle: () => ({ peers: node.peers() }) },
  ]
}
