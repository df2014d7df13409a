/**
 * The libp2p host: TCP, Noise, Yamux, identify, ping, gossipsub, a kith-private Kademlia DHT, mDNS for the
 * household LAN, bootstrap for fleets, and circuit relay v2 with DCUtR for peers behind NAT. Limits are
 * set for a small device: few connections, few parallel dials, few pending inbound handshakes.
 */
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import type { ConfigFile } from '../config/index.ts'
import type { Identity } from './identity.ts'
import { agentVersion } from './peer-names.ts'
import { VERSION } from '../version.ts'

export type NetworkConfig = ConfigFile['network']

/** The DHT and mDNS names are kith's own, so kith nodes never join the public IPFS DHT or answer its LAN queries. */
export const DHT_PROTOCOL = '/kith/kad/1.0.0'
export const MDNS_SERVICE_TAG = '_kith._udp.local'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- libp2p keys its service map by name, with a different type per service
export type KithLibp2p = Libp2p<Record<string, any>>

/** True when every listen address with a host is on loopback: there is no LAN to announce to, so mDNS stays off. */
export function allLoopback(listen: readonly string[]): boolean {
  return listen.every((addr) => {
    const host = multiaddr(addr)
      .getComponents()
      .find((c) => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))
    // a relay listen address (/p2p-circuit) has no host of its own and says nothing about the LAN
    if (host == null) return true
    return /^127\./.test(host.value ?? '') || host.value === '::1' || host.value === 'localhost'
  })
}

export function mdnsEnabled(network: NetworkConfig): boolean {
  return network.mdns && !allLoopback(network.listen)
}

type PeerDiscoveryFactory = NonNullable<Libp2pOptions['peerDiscovery']>[number]

/**
 * Dials every peer that `factory` discovers. libp2p 3 only records discovered peers in the peer store and
 * never dials them by itself, so without this mDNS finds the household but connects to nobody. Each mDNS
 * query (every 10 s) rediscovers the peer, which retries a failed dial; an open connection is reused.
 */
function dialDiscovered(factory: PeerDiscoveryFactory): PeerDiscoveryFactory {
  return (components) => {
    const discovery = factory(components)
    const log = components.logger.forComponent('kith:connectivity:discovery')
    discovery.addEventListener('peer', (evt) => {
      const { id, multiaddrs } = evt.detail
      // a loopback address heard from the LAN leads back to this host, not to the peer
      const addrs = multiaddrs
        .filter((ma) => !allLoopback([ma.toString()]))
        .map((ma) => ma.encapsulate(`/p2p/${id.toString()}`))
      if (addrs.length === 0) return
      components.connectionManager
        .openConnection(addrs)
        .catch((err: Error) => log('could not dial discovered peer %p - %e', id, err))
    })
    return discovery
  }
}

/**
 * Builds, but does not start, the host for `identity` with the given network settings.
 *
 * @example
 * const host = await createHost(config.network, identity)
 * await host.start()
 */
export async function createHost(
  network: NetworkConfig,
  identity: Identity,
  options: { name?: string | undefined } = {},
): Promise<KithLibp2p> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (network.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: network.bootstrap, timeout: 100 }))
  if (mdnsEnabled(network))
    peerDiscovery.push(dialDiscovered(mdns({ serviceTag: MDNS_SERVICE_TAG, interval: 10_000 })))

  const services: ServiceFactoryMap = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
      // gossipsub's default penalises 11+ peers on one IP and graylists them from 15: on a household LAN
      // behind one NAT, or a relay, or loopback, that cuts honest peers off. kith resists Sybils in the trust
      // plane (reputation, canaries, evidence), not by IP address.
      scoreParams: { IPColocationFactorWeight: 0 },
      // a node receives each message from several mesh peers; without a fast id every copy is
      // signature-checked before the seen-cache drops it (issue 9's scale simulation: ~6.5 checks per message).
      // The id covers every field, signature included, so a forged copy cannot pass for the real one.
      fastMsgIdFn: fastMessageId,
    }),
  }
  if (network.dht !== 'off') {
    // kad-dht finds ping and identify among the services at run time; the types cannot see that
    services.dht = kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: network.dht === 'client',
      kBucketSize: 20,
    }) as unknown as ServiceFactoryMap[string]
  }
  if (network.relay.client) services.dcutr = dcutr()
  if (network.relay.server) services.relay = circuitRelayServer({ reservations: { maxReservations: 16 } })

  return createLibp2p({
    start: false,
    privateKey: identity.privateKey,
    // identify sends it to every peer: the node's version and the name it was given (peer-names.ts)
    nodeInfo: { userAgent: agentVersion(VERSION, options.name) },
    addresses: { listen: network.listen, announce: network.announce },
    transports: network.relay.client ? [tcp(), circuitRelayTransport()] : [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: network.maxConnections,
      maxIncomingPendingConnections: network.maxIncomingPendingConnections,
      maxParallelDials: network.maxParallelDials,
      maxDialQueueLength: 50,
      dialTimeout: 10_000,
      // a household peer that drops is redialled for about two hours (1 s, then 1.5 × longer each time),
      // not given up after libp2p's default five tries (half a minute): a router reboot must not leave a
      // node alone until it restarts. PeerKeeper starts over after that.
      reconnectRetries: 20,
      reconnectRetryInterval: 1_000,
      reconnectBackoffFactor: 1.5,
    },
    services,
  }) as Promise<KithLibp2p>
}

/**
 * gossipsub's fast message id: sha256 over every field of the received message, signature included.
 *
 * @example
 * fastMessageId({ topic: 'kith/announce/1', data, seqno, from, signature }) // 'q3v…='
 */
export function fastMessageId(msg: {
  from?: Uint8Array
  seqno?: Uint8Array
  topic: string
  data?: Uint8Array
  signature?: Uint8Array
}): string {
  const h = createHash('sha256')
  for (const part of [msg.from, msg.seqno, msg.data, msg.signature]) {
    h.update(String(part?.byteLength ?? -1))
    h.update(':')
    if (part !== undefined) h.update(part)
  }
  return h.update(msg.topic).digest('base64')
}
