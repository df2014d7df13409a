/**
 * The kith endpoints of the local API (DESIGN.md, "Contract"). Each route calls a function of the node it is
 * given; nothing here reaches into a plane directly.
 */
import type { PeerInfo } from '../connectivity/peers.ts'
import type { SignedDescriptor } from '../discovery/descriptor.ts'
import type { StoreEntry } from '../discovery/store.ts'
import { HttpError, type Route } from './http.ts'

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
  descriptor(): SignedDescriptor | undefined
  descriptors(): StoreEntry[]
  /** counters of the discovery plane: store outcomes, gossip and pull bytes */
  discoveryStats(): Record<string, unknown>
}

/** A descriptor as JSON: binary fields in base64url, plus its digest. */
export function descriptorJson(
  signed: SignedDescriptor,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const { sig, attest, ...rest } = signed.descriptor
  return {
    ...rest,
    attest: {
      tpm: attest.tpm,
      ...(attest.akPub != null ? { akPub: Buffer.from(attest.akPub).toString('base64url') } : {}),
    },
    sig: Buffer.from(sig).toString('base64url'),
    digest: Buffer.from(signed.digest).toString('hex'),
    ...extra,
  }
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
    { method: 'GET', path: '/v1/discovery/stats', handle: () => node.discoveryStats() },
    {
      method: 'GET',
      path: '/v1/descriptor',
      handle: () => {
        const own = node.descriptor()
        if (own == null) throw new HttpError(503, 'not_ready', 'this node has not announced yet')
        return descriptorJson(own)
      },
    },
    {
      method: 'GET',
      path: '/v1/descriptors',
      handle: () => ({
        descriptors: node
          .descriptors()
          .map((e) => descriptorJson(e, { receivedAt: e.receivedAt, expiresAt: e.expiresAt })),
      }),
    },
  ]
}
