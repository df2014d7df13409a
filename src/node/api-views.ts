/**
 * What the agent card and the metrics read from a running node: small views over the planes, so that api/
 * sees counters and capabilities, never the planes themselves.
 */
import type { AgentCardInit } from '../api/agent-card.ts'
import type { ApiNode, NodeStatus } from '../api/routes.ts'
import type { EventSourceDef } from '../api/events.ts'
import type { TrustView } from '../api/trust.ts'
import type { ConnectionRefusals } from '../api/connection-guard.ts'
import type { MetricsSource } from '../api/metrics.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import type { PeerNames } from '../connectivity/peer-names.ts'
import { listPeers } from '../connectivity/peers.ts'
import type { WorkerSandbox } from '../execution/sandbox/index.ts'
import type { CanaryBook } from '../trust/canary.ts'
import type { Reputation } from '../trust/reputation/index.ts'
import { unmappedTotals } from '../devices/ha-unmapped.ts'
import type { Events } from '../util/event-bus.ts'
import type { DevicePlane } from '../devices/plane.ts'
import type { LocalState } from '../discovery/local-state.ts'
import type { DiscoveryPlane } from '../discovery/plane.ts'
import type { NodeEvents } from './events.ts'
import type { ExecutionPlane } from '../execution/plane.ts'

/** What the kith endpoints of the API read (routes.ts): the node's status, peers, descriptors and devices. */
export function apiNodeView(parts: {
  status(): NodeStatus
  host: KithLibp2p
  discovery: DiscoveryPlane
  devices: DevicePlane
  names?: PeerNames
}): ApiNode {
  const { host, discovery, devices, names } = parts
  const peerName = (peer: string) => names?.get(peer)
  return {
    status: () => parts.status(),
    peers: () => listPeers(host, peerName),
    peerName,
    descriptor: () => discovery.announcer.current(),
    descriptors: () => [...discovery.store.live()],
    findCapabilities: (intent, limit) => discovery.index.query(intent, { limit }),
    devices: () => {
      const rows = devices.bridge.devices()
      return {
        broker: devices.brokerUrl() ?? null,
        connected: devices.link?.connected ?? false,
        devices: rows,
        // options of imported configs kith does not map, per reason over every device (each row has its own)
        unmapped: unmappedTotals(rows),
        rejected: devices.bridge.rejected,
        commands: devices.bridge.commands,
        mqtt: devices.link?.counters ?? null,
        ...(devices.broker != null ? { brokerRefused: devices.broker.refused } : {}),
      }
    },
    discoveryStats: () => ({
      live: discovery.store.size,
      store: discovery.store.counters,
      gossip: discovery.announcer.counters,
      // v2: pages held for others' summaries; the fitted v1 copy's gossip while v1-only peers are around
      pages: { ...discovery.pages.counters, ...discovery.announcer.wire.served },
      ...(discovery.legacy != null ? { legacy: discovery.legacy.counters } : {}),
    }),
  }
}

/**
 * The agent card of a node: its advertised capabilities (its current descriptor's), its name and API URL
 * as they are when the card is asked for.
 */
export function agentCardView(parts: {
  identity: Identity
  version: string
  discovery: DiscoveryPlane
  name(): string | undefined
  apiUrl(): string
  tokenRequired: boolean
}): AgentCardInit {
  return {
    peerId: parts.identity.peerId.toString(),
    publicKey: parts.identity.publicKey,
    version: parts.version,
    sign: parts.identity.sign,
    describe: () => {
      const name = parts.name()
      return {
        ...(name != null ? { name } : {}),
        apiUrl: parts.apiUrl(),
        capabilities: parts.discovery.announcer.current()?.descriptor.caps ?? [],
        tokenRequired: parts.tokenRequired,
      }
    },
  }
}

/** The counters of every plane, read at each scrape. */
export function metricsView(parts: {
  host: KithLibp2p
  discovery: DiscoveryPlane
  execution: ExecutionPlane
  sandbox: WorkerSandbox
  /** CPU time of the scripts the sandbox ran, ms */
  sandboxCpuMs(): number
  devices: DevicePlane
  reputation: Reputation
  canaries: CanaryBook
  local: LocalState
  /** the API server's refused connections, counted by reason */
  apiRefusals: ConnectionRefusals
}): MetricsSource {
  const { discovery, devices } = parts
  return {
    peers: () => parts.host.getPeers().length,
    liveDescriptors: () => {
      let live = 0
      for (const _ of discovery.store.live()) live++
      return live
    },
    discovery: () => ({ store: discovery.store.counters, gossip: discovery.announcer.counters }),
    tasks: () => parts.execution.tasks.rows(),
    taskRefusals: () => parts.execution.refused(),
    apiRefusals: () => parts.apiRefusals,
    sandbox: () => ({ counters: parts.sandbox.counters, cpuMs: parts.sandboxCpuMs() }),
    mqtt: () => {
      const link = devices.link
      if (link == null) return undefined
      return { connected: link.connected, counters: link.counters, commands: devices.bridge.commands }
    },
    trust: () => ({
      recorded: parts.reputation.counters.recorded,
      canaries: { passed: parts.canaries.counters.passed, failed: parts.canaries.counters.failed },
    }),
    state: () => parts.local.state(),
    clock: () => discovery.clock.estimate(),
  }
}

/** Peers listed by `GET /v1/trust` at most: the ones with records and live descriptors, newest kept. */
const MAX_TRUST_PEERS = 256

/** What `GET /v1/trust` reads: the reputation service's explanations, over the peers this node knows. */
export function trustView(parts: {
  self: string
  reputation: Reputation
  discovery: DiscoveryPlane
}): TrustView {
  const { reputation, discovery, self } = parts
  return {
    self,
    peers: () => {
      const known = new Set(reputation.records.peers())
      for (const entry of discovery.store.live()) known.add(entry.descriptor.peer)
      known.delete(self)
      return [...known].slice(-MAX_TRUST_PEERS).map((peer) => {
        const { topics } = reputation.explain(peer)
        const caught = topics.some((t) => reputation.caught(peer, t.topic))
        return { peer, caught, topics }
      })
    },
    capabilities: () =>
      [...discovery.store.live()].flatMap((entry) => {
        const peer = entry.descriptor.peer
        return entry.descriptor.caps.map((cap) => {
          const topic = reputation.topicOf(cap)
          const { trust, caught } = reputation.standing(peer, cap)
          return { peer, capability: cap.id, topic, trust, caught }
        })
      }),
  }
}

/**
 * The resources `GET /v1/events` reports changes of, each over the bus events that move it: a device's
 * readings arrive as MQTT messages, `status` moves with connections, the clock's verdict and reloads.
 */
export function eventSources(events: Events<NodeEvents>): EventSourceDef[] {
  const on =
    (...names: Array<keyof NodeEvents>) =>
    (changed: () => void): (() => void) => {
      const offs = names.map((name) => events.on(name, changed))
      return () => {
        for (const off of offs) off()
      }
    }
  return [
    { name: 'descriptors', subscribe: on('descriptor') },
    { name: 'peers', subscribe: on('connection') },
    { name: 'devices', subscribe: on('devices', 'device-command', 'mqtt') },
    { name: 'tasks', subscribe: on('task') },
    { name: 'trust', subscribe: on('trust') },
    { name: 'status', subscribe: on('status', 'connection', 'clock') },
  ]
}
