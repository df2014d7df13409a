/** A plain view of the host's open connections, one entry per peer, for the API and the CLI. */
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
}

/** The peers the host has open connections to, oldest connection first. */
export function listPeers(host: KithLibp2p): PeerInfo[] {
  const byPeer = new Map<string, PeerInfo>()
  for (const conn of host.getConnections()) {
    if (conn.status !== 'open') continue
    const id = conn.remotePeer.toString()
    const addr = conn.remoteAddr.toString()
    const relayed = addr.includes('/p2p-circuit')
    const prev = byPeer.get(id)
    if (prev == null) {
      byPeer.set(id, {
        peerId: id,
        addrs: [addr],
        direction: conn.direction,
        relayed,
        since: conn.timeline.open,
        streams: conn.streams.length,
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
