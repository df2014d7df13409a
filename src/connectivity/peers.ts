/** A plain view of the host's open connections, one entry per peer, for the API and the CLI. */
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { KithLibp2p } from './host.ts'

export interface PeerInfo {
  peerId: string
  /** remote addresses of the open connections */
  addrs: string[]
  direction: 'inbound' | 'outbound'
  /** true when every connection goes through a relay */
  relayed: boolean
  /** when the oldest open connection was opened (ms since the epoch) */
  since: number
  streams: number
  /** the name the peer gave itself (peer-names.ts), when it did */
  name?: string
}

/** The peers the host has open connections to, oldest connection first. */
export function listPeers(host: KithLibp2p, nameOf?: (peer: string) => string | undefined): PeerInfo[] {
  const byPeer = new Map<string, PeerInfo>()
  for (const conn of host.getConnections()) {
    if (conn.status !== 'open') continue
    const id = conn.remotePeer.toString()
    const addr = conn.remoteAddr.toString()
    const relayed = addr.includes('/p2p-circuit')
    const prev = byPeer.get(id)
    if (prev == null) {
      const name = nameOf?.(id)
      byPeer.set(id, {
        peerId: id,
        addrs: [addr],
        direction: conn.direction,
        relayed,
        since: conn.timeline.open,
        streams: conn.streams.length,
        ...(name !== undefined ? { name } : {}),
      })
    } else {
      prev.addrs.push(addr)
      prev.relayed &&= relayed
      prev.since = Math.min(prev.since, conn.timeline.open)
      prev.streams += conn.streams.length
    }
  }
  return [...byPeer.values()].sort((a, b) => a.since - b.since)
}

/**
 * Gives the peer store the addresses a peer's descriptor lists, when the host has no connection to it: a
 * pull or a task may go to a peer that is not a neighbour. Unparsable addresses are skipped.
 *
 * @example
 * await learnAddresses(host, provider, store.get(provider.toString())?.descriptor.addrs ?? [])
 */
export async function learnAddresses(
  host: KithLibp2p,
  peer: PeerId,
  addrs: readonly string[],
): Promise<void> {
  if (host.getConnections(peer).length > 0) return
  const parsed = addrs.flatMap((a) => {
    try {
      return [multiaddr(a)]
    } catch {
      return []
    }
  })
  if (parsed.length > 0) await host.peerStore.merge(peer, { multiaddrs: parsed })
}
