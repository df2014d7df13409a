/**
 * The reciprocity ledger (issue 4, "Contracts"): per peer, how many tasks it ran for us and how many we ran
 * for it, kept in the node's SQLite file across restarts. Its balance is what lets a loaded node serve the
 * peers that served it first and answer free riders `busy` first.
 *
 * Bounded: new peer ids are free to make, so only the `maxPeers` most recently active peers are kept. A peer
 * pushed out restarts at a balance of 0, which costs a free rider nothing it had, and a helpful peer only its
 * credit from long ago.
 */
import type { Database } from '../store/database.ts'

export interface ReciprocityInit {
  /** peers remembered; default 4096 */
  maxPeers?: number
  /** writes between trims of the table; default 64 */
  trimEvery?: number
}

export interface ReciprocityEntry {
  peer: string
  servedUs: number
  weServed: number
  /** servedUs - weServed: positive for peers that gave more than they took */
  balance: number
  updatedAt: number
}

export const RECIPROCITY_DEFAULTS = Object.freeze({ maxPeers: 4096, trimEvery: 64 })

/**
 * Counts tasks served in each direction per peer.
 *
 * @example
 * const ledger = new Reciprocity(openDatabase(file))
 * ledger.recordServedUs(provider) // a task we delegated came back ok
 * ledger.recordWeServed(requester) // we answered a task
 * ledger.balance(requester) // -1: it has taken one more than it gave
 */
export class Reciprocity {
  readonly #db: Database
  readonly #maxPeers: number
  readonly #trimEvery: number
  #writes = 0

  constructor(db: Database, init: ReciprocityInit = {}) {
    this.#db = db
    this.#maxPeers = init.maxPeers ?? RECIPROCITY_DEFAULTS.maxPeers
    this.#trimEvery = init.trimEvery ?? RECIPROCITY_DEFAULTS.trimEvery
  }

  /** Tasks `peer` ran for us, minus tasks we ran for it; 0 for a peer never seen. */
  balance(peer: string): number {
    return this.get(peer)?.balance ?? 0
  }

  get(peer: string): ReciprocityEntry | undefined {
    const row = this.#db
      .prepare('SELECT peer, served_us, we_served, updated_at FROM reciprocity WHERE peer = ?')
      .get(peer) as Row | undefined
    return row === undefined ? undefined : toEntry(row)
  }

  /** Records that `peer` completed `count` tasks for us. */
  recordServedUs(peer: string, count = 1, now = Date.now()): void {
    this.#add(peer, count, 0, now)
  }

  /** Records that we completed `count` tasks for `peer`. */
  recordWeServed(peer: string, count = 1, now = Date.now()): void {
    this.#add(peer, 0, count, now)
  }

  /** The ledger, most recently active peers first. */
  list(limit = 100): ReciprocityEntry[] {
    const rows = this.#db
      .prepare(
        'SELECT peer, served_us, we_served, updated_at FROM reciprocity ORDER BY updated_at DESC LIMIT ?',
      )
      .all(limit) as unknown as Row[]
    return rows.map(toEntry)
  }

  /** Keeps only the `maxPeers` most recently active peers; returns how many were dropped. */
  trim(): number {
    const { changes } = this.#db
      .prepare(
        `DELETE FROM reciprocity WHERE peer NOT IN
           (SELECT peer FROM reciprocity ORDER BY updated_at DESC, rowid DESC LIMIT ?)`,
      )
      .run(this.#maxPeers)
    return Number(changes)
  }

  #add(peer: string, servedUs: number, weServed: number, now: number): void {
    if (!Number.isInteger(servedUs + weServed) || servedUs < 0 || weServed < 0) {
      throw new RangeError('reciprocity counts must be non-negative integers')
    }
    this.#db
      .prepare(
        `INSERT INTO reciprocity (peer, served_us, we_served, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET served_us = served_us + excluded.served_us,
           we_served = we_served + excluded.we_served, updated_at = excluded.updated_at`,
      )
      .run(peer, servedUs, weServed, now)
    if (++this.#writes % this.#trimEvery === 0) this.trim()
  }
}

interface Row {
  peer: string
  served_us: number
  we_served: number
  updated_at: number
}

function toEntry(r: Row): ReciprocityEntry {
  return {
    peer: r.peer,
    servedUs: r.served_us,
    weServed: r.we_served,
    balance: r.served_us - r.we_served,
    updatedAt: r.updated_at,
  }
}
