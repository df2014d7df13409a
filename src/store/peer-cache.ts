/**
 * Peers this node has been connected to, with their addresses, so that a restart reconnects without mDNS
 * or bootstrap. Bounded: only the `limit` most recently seen peers are kept.
 */
import type { Database } from './database.ts'

export interface CachedPeer {
  peerId: string
  addrs: string[]
  lastSeen: number
}

const MAX_ADDRS_PER_PEER = 8
const MAX_ADDR_LENGTH = 256

export class PeerCache {
  readonly #db: Database
  readonly #limit: number

  constructor(db: Database, limit: number) {
    this.#db = db
    this.#limit = limit
  }

  /** Records that `peerId` was reachable at `addrs` at time `now`; trims the table to its limit. */
  remember(peerId: string, addrs: string[], now = Date.now()): void {
    if (this.#limit === 0) return
    const kept = addrs.filter((a) => a.length <= MAX_ADDR_LENGTH).slice(0, MAX_ADDRS_PER_PEER)
    if (kept.length === 0) return
    this.#db
      .prepare(
        `INSERT INTO peers (peer_id, addrs, last_seen) VALUES (?, ?, ?)
         ON CONFLICT (peer_id) DO UPDATE SET addrs = excluded.addrs, last_seen = excluded.last_seen`,
      )
      .run(peerId, JSON.stringify(kept), now)
    this.#db
      .prepare(
        'DELETE FROM peers WHERE peer_id NOT IN (SELECT peer_id FROM peers ORDER BY last_seen DESC LIMIT ?)',
      )
      .run(this.#limit)
  }

  forget(peerId: string): void {
    this.#db.prepare('DELETE FROM peers WHERE peer_id = ?').run(peerId)
  }

  /** The cached peers, most recently seen first. */
  list(): CachedPeer[] {
    const rows = this.#db
      .prepare('SELECT peer_id, addrs, last_seen FROM peers ORDER BY last_seen DESC LIMIT ?')
      .all(this.#limit) as Array<{ peer_id: string; addrs: string; last_seen: number }>
    return rows.map((r) => ({ peerId: r.peer_id, addrs: parseAddrs(r.addrs), lastSeen: r.last_seen }))
  }
}

function parseAddrs(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : []
  } catch {
    return []
  }
}
