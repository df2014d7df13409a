/**
 * The kith endpoints of the local API (DESIGN.md, "Contract"). Each route calls a function of the node it is
 * given; nothing here reaches into a plane directly.
 */
import type { PeerInfo } from '../connectivity/peers.ts'
import type { SignedDescriptor } from '../discovery/descriptor.ts'
import type { Intent, IntentConstraints, Match } from '../discovery/matcher/index.ts'
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
  findCapabilities(intent: Intent, limit: number): Match[]
  /** this node's MQTT devices with availability and last readings, and the device plane's counters */
  devices(): Record<string, unknown>
}

const MAX_LIMIT = 100

/** Reads an intent from query parameters: `q`, `tag` (repeatable or comma-separated), `kind`, `local`, `minTier`, `maxLatencyMs`, `limit`. */
export function intentFromQuery(query: URLSearchParams): { intent: Intent; limit: number } {
  const text = query.get('q') ?? ''
  if (text.length > 1000) throw new HttpError(400, 'bad_request', 'q is longer than 1000 characters')
  const tags = query
    .getAll('tag')
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '')
  const constraints: IntentConstraints = {}
  const kind = query.get('kind')
  if (kind != null) {
    if (kind !== 'script' && kind !== 'device' && kind !== 'sensor')
      throw new HttpError(400, 'bad_request', 'kind must be script, device or sensor')
    constraints.kind = kind
  }
  const local = query.get('local')
  if (local != null) constraints.local = local === 'true' || local === '1'
  const minTier = query.get('minTier')
  if (minTier != null) {
    if (minTier !== '1' && minTier !== '2' && minTier !== '3')
      throw new HttpError(400, 'bad_request', 'minTier must be 1, 2 or 3')
    constraints.minTier = Number(minTier) as 1 | 2 | 3
  }
  const maxLatency = query.get('maxLatencyMs')
  if (maxLatency != null) {
    const n = Number(maxLatency)
    if (!Number.isFinite(n) || n <= 0)
      throw new HttpError(400, 'bad_request', 'maxLatencyMs must be a positive number')
    constraints.maxLatencyMs = n
  }
  const limit = Number(query.get('limit') ?? 10)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new HttpError(400, 'bad_request', `limit must be 1-${MAX_LIMIT}`)
  if (text.trim() === '' && tags.length === 0)
    throw new HttpError(400, 'bad_request', 'give q (what you want done) or a tag')
  return { intent: { text, ...(tags.length > 0 ? { tags } : {}), constraints }, limit }
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
    { method: 'GET', path: '/v1/devices', handle: () => node.devices() },
    {
      method: 'GET',
      path: '/v1/capabilities',
      handle: (req) => {
        const { intent, limit } = intentFromQuery(req.query)
        return { intent, matches: node.findCapabilities(intent, limit) }
      },
    },
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
