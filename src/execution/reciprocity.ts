/**
 * The reciprocity ledger (issue 4, "Contracts"): per peer, how many tasks it ran for us and how many we ran
 * for it, kept in the node's SQLite file across restarts. Its balance is what lets a loaded node serve the
 * peers that served it first and answer free riders `busy` first.
 *
 * Bounded: new peer ids are free to make, so only the `maxPeers` most recently active peers are kept. A peer
 * pushed out restarts at a balance of 0, which costs a free rider nothing it had, and a helpful peer only its
 * credit from long ago.
 *
 * The contract policy asks for a balance on every request, so the balances of recently active peers are
 * kept in memory too; counts are added there at once and written with the next group commit of the
 * {@link WriteQueue} (a count lost in a crash shifts a balance by one task, nothing more).
 */
import type { Database } from '../store/database.ts'
import { WriteQueue } from '../store/write-queue.ts'
import { BoundedMap } from '../util/bounded-map.ts'

export interface ReciprocityInit {
  /** peers remembered; default 4096 */
  maxPeers?: number
  /** writes between trims of the table; default 64 */
  trimEvery?: number
  /** the group commit shared with the plane's other writers; default: one of its own */
  writes?: WriteQueue
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
  readonly #writes: WriteQueue
  readonly #maxPeers: number
  readonly #trimEvery: number
  /** peers read or written lately, as the table holds them plus the counts not committed yet */
  readonly #cache: BoundedMap<string, Omit<ReciprocityEntry, 'balance'>>
  readonly #sql: ReturnType<typeof statements>
  #count = 0

  constructor(db: Database, init: ReciprocityInit = {}) {
    this.#writes = init.writes ?? new WriteQueue(db)
    this.#maxPeers = init.maxPeers ?? RECIPROCITY_DEFAULTS.maxPeers
    this.#trimEvery = init.trimEvery ?? RECIPROCITY_DEFAULTS.trimEvery
    this.#cache = new BoundedMap({ max: this.#maxPeers, refresh: 'set' })
    this.#sql = statements(db)
  }

  /** Tasks `peer` ran for us, minus tasks we ran for it; 0 for a peer never seen. */
  balance(peer: string): number {
    return this.get(peer)?.balance ?? 0
  }

  get(peer: string): ReciprocityEntry | undefined {
    const cached = this.#cache.get(peer) ?? this.#load(peer)
    return cached === undefined ? undefined : { ...cached, balance: cached.servedUs - cached.weServed }
  }

  /** Records that `peer` completed `count` tasks for us. */
  recordServedUs(peer: string, count = 1, now = Date.now()): void {
    this.#add(peer, count, 0, now)
  }

  /** Records that we completed `count` tasks for `peer`. */
  recordWeServed(peer: string, count = 1, now = Date.now()): void {
    this.#add(peer, 0, count, now)
  }

  /** Commits the counts not written yet (the node does at stop). */
  flush(): void {
    this.#writes.flush()
  }

  /** The ledger, most recently active peers first. */
  list(limit = 100): ReciprocityEntry[] {
    this.#writes.flush()
    return (this.#sql.list.all(limit) as unknown as Row[]).map(toEntry)
  }

  /** Keeps only the `maxPeers` most recently active peers; returns how many were dropped. */
  trim(): number {
    this.#writes.flush()
    const dropped = Number(this.#sql.trim.run(this.#maxPeers).changes)
    // the peers dropped restart at 0; which ones they were is the table's to say
    if (dropped > 0) this.#cache.clear()
    return dropped
  }

  /** A peer's row, read into the cache; undefined for a peer never seen. */
  #load(peer: string): Omit<ReciprocityEntry, 'balance'> | undefined {
    this.#writes.flush()
    const row = this.#sql.get.get(peer) as Row | undefined
    if (row === undefined) return undefined
    const { balance: _, ...entry } = toEntry(row)
    this.#remember(entry)
    return entry
  }

  #remember(entry: Omit<ReciprocityEntry, 'balance'>): void {
    this.#cache.set(entry.peer, entry)
  }

  #add(peer: string, servedUs: number, weServed: number, now: number): void {
    if (!Number.isInteger(servedUs + weServed) || servedUs < 0 || weServed < 0) {
      throw new RangeError('reciprocity counts must be non-negative integers')
    }
    const known = this.#cache.get(peer) ?? this.#load(peer)
    this.#remember({
      peer,
      servedUs: (known?.servedUs ?? 0) + servedUs,
      weServed: (known?.weServed ?? 0) + weServed,
      updatedAt: now,
    })
    this.#writes.defer(() => this.#sql.add.run(peer, servedUs, weServed, now))
    if (++this.#count % this.#trimEvery === 0) this.#writes.defer(() => this.trim())
  }
}

/** The ledger's statements, prepared once. */
function statements(db: Database) {
  return {
    get: db.prepare('SELECT peer, served_us, we_served, updated_at FROM reciprocity WHERE peer = ?'),
    list: db.prepare(
      'SELECT peer, served_us, we_served, updated_at FROM reciprocity ORDER BY updated_at DESC LIMIT ?',
    ),
    trim: db.prepare(
      `DELETE FROM reciprocity WHERE peer NOT IN
         (SELECT peer FROM reciprocity ORDER BY updated_at DESC, rowid DESC LIMIT ?)`,
    ),
    add: db.prepare(
      `INSERT INTO reciprocity (peer, served_us, we_served, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (peer) DO UPDATE SET served_us = served_us + excluded.served_us,
         we_served = we_served + excluded.we_served, updated_at = excluded.updated_at`,
    ),
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
