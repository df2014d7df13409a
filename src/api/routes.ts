/**
 * The kith endpoints of the local API (DESIGN.md, "Contract"). Each route calls a function of the node it is
 * given; nothing here reaches into a plane directly.
 */
import type { PeerInfo } from '../connectivity/peers.ts'
import type { ClockEstimate } from '../discovery/clock-offset.ts'
import type { SignedDescriptor } from '../discovery/descriptor.ts'
import type { Intent, IntentConstraints, Match } from '../discovery/matcher/index.ts'
import type { StoreEntry } from '../discovery/store.ts'
import { HttpError, type QueryParamDoc, type Route } from './http.ts'

export interface NodeStatus {
  peerId: string
  name?: string
  /** the fleet owner id the config names (`owner:`), when it names one */
  owner?: string
  version: string
  startedAt: number
  uptimeMs: number
  listen: string[]
  connections: number
  mdns: boolean
  dht: string
  /** this node's clock against its peers' (discovery/clock-offset.ts) */
  clock?: ClockEstimate
}

/** What the API needs from the running node. */
export interface ApiNode {
  status(): NodeStatus
  peers(): PeerInfo[]
  descriptor(): SignedDescriptor | undefined
  descriptors(): StoreEntry[]
  /** the name a peer gave itself over identify (connectivity/peer-names.ts); not part of its descriptor */
  peerName?(peer: string): string | undefined
  /** counters of the discovery plane: store outcomes, gossip and pull bytes */
  discoveryStats(): Record<string, unknown>
  findCapabilities(intent: Intent, limit: number): Match[]
  /** this node's MQTT devices with availability and last readings, and the device plane's counters */
  devices(): Record<string, unknown>
}

const MAX_LIMIT = 100

/** The query parameters {@link intentFromQuery} reads, for the OpenAPI document. */
const INTENT_QUERY: QueryParamDoc[] = [
  { name: 'q', description: 'what you want done, in words (at most 1000 characters)' },
  { name: 'tag', description: 'a tag the capability must have; repeatable or comma-separated' },
  { name: 'kind', description: 'only this kind', schema: { enum: ['script', 'device', 'sensor'] } },
  { name: 'local', description: 'only this node (true) or only others (false)', schema: { type: 'boolean' } },
  { name: 'minTier', description: 'lowest verification tier', schema: { enum: ['1', '2', '3'] } },
  {
    name: 'maxLatencyMs',
    description: 'highest expected latency',
    schema: { type: 'number', exclusiveMinimum: 0 },
  },
  {
    name: 'limit',
    description: 'most matches',
    schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 10 },
  },
]

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
  const { sig, attest, catalog, ...rest } = signed.descriptor
  return {
    ...rest,
    // v2: the summary's catalog, its page digests in hex
    ...(catalog != null
      ? {
          catalog: {
            ...catalog,
            pages: catalog.pages.map((p) => ({
              digest: Buffer.from(p.digest).toString('hex'),
              count: p.count,
            })),
          },
        }
      : {}),
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
      doc: {
        summary: 'Liveness: peer id, version, uptime (no token needed)',
        description: 'Answers `{"status":"ok", peerId, version, uptimeMs}`.',
      },
      handle: () => {
        const s = node.status()
        return { status: 'ok', peerId: s.peerId, version: s.version, uptimeMs: s.uptimeMs }
      },
    },
    {
      method: 'GET',
      path: '/v1/status',
      doc: {
        summary: 'This node: peer id, name, version, listen addresses, connections, last reload',
        description:
          'Also `owner` (the fleet owner id, when the config names one), mDNS and DHT mode, and ' +
          '`clock: {offsetMs, peers, suspect, outliers}`: the median of the ' +
          "peers' clocks minus this node's. `suspect`: two or more peers agree this node is off by more than " +
          'half of discovery.maxClockSkew (a Pi without a real-time clock booted before NTP); `outliers`: the ' +
          'peers that are off themselves.',
      },
      handle: () => node.status(),
    },
    {
      method: 'GET',
      path: '/v1/peers',
      doc: {
        summary: 'Connected peers',
        description:
          "Answers `{peers: [{peerId, addrs, direction, relayed, since, streams, name?}]}`; `name` is the peer's own `name:`.",
      },
      handle: () => ({ peers: node.peers() }),
    },
    {
      method: 'GET',
      path: '/v1/discovery/stats',
      doc: {
        summary: 'Discovery counters: store outcomes, gossip and pull bytes',
        description:
          'Store counters (accepted, replaced, duplicate, expired, evicted, rejected by reason) and gossip ' +
          'counters (bytes in and out, pulls).',
      },
      handle: () => node.discoveryStats(),
    },
    {
      method: 'GET',
      path: '/v1/devices',
      doc: {
        summary: "This node's MQTT devices, their availability and last readings",
        description:
          'Answers `{broker, connected, devices: [{id, title, source, online, capabilities, readings}], ' +
          'rejected, commands, mqtt}`.',
      },
      handle: () => node.devices(),
    },
    {
      method: 'GET',
      path: '/v1/capabilities',
      doc: {
        summary: 'Capabilities in the network that match an intent, ranked, each with its provider',
        description:
          'Answers `{intent, matches: [{peer, local, capability, score, parts: {relevance, schema, ' +
          'availability, trust, latency}}]}`.',
        query: INTENT_QUERY,
      },
      handle: (req) => {
        const { intent, limit } = intentFromQuery(req.query)
        return { intent, matches: node.findCapabilities(intent, limit) }
      },
    },
    {
      method: 'GET',
      path: '/v1/descriptor',
      doc: {
        summary:
          "This node's signed descriptor: the v2 summary with its catalog, every capability of its pages in caps (503 before the first announce)",
        description: 'Binary fields are base64url; `digest` is added.',
      },
      handle: () => {
        const own = node.descriptor()
        if (own == null) throw new HttpError(503, 'not_ready', 'this node has not announced yet')
        return descriptorJson(own)
      },
    },
    {
      method: 'GET',
      path: '/v1/descriptors',
      doc: {
        summary:
          'Every live descriptor held: peer, seq, iat, ttl, state, caps; and the name the peer gave itself, unsigned',
        description:
          'Answers `{now, descriptors: [{…, expiresAt, name?}]}`; `now` is the server clock, to compute ages against.',
      },
      handle: () => ({
        // the server's clock: a client computes descriptor ages against it, not its own
        now: Date.now(),
        descriptors: node.descriptors().map((e) => {
          const name = node.peerName?.(e.descriptor.peer)
          return descriptorJson(e, {
            receivedAt: e.receivedAt,
            expiresAt: e.expiresAt,
            ...(name !== undefined ? { name } : {}),
          })
        }),
      }),
    },
  ]
}
