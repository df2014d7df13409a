/**
 * Local records: per (peer, topic), the outcomes this node observed itself, with time decay, kept in memory
 * and in the node's SQLite file (table `reputation`, one row per peer, topic and outcome kind).
 *
 * - Decay: each outcome weighs 2^(-age / halfLife). A cell holds its weights as of its last update; reading
 *   or adding decays them to now first, so a sum never has to be recomputed from a history.
 * - Per-peer outcomes (an invalid descriptor or opinion) are recorded under {@link PEER_TOPIC} and charged
 *   against every topic: a peer that forges messages is not to be trusted with anything.
 * - Local trust, as in EigenTrust: s_ij(T) = max(0, S − F) where S is the decayed success weight on topic T
 *   and F the decayed failures on T and on `*`, each kind times its weight in {@link OUTCOME_WEIGHTS}.
 * - Bounded: at most `maxPeers` peers; the least recently seen is forgotten first.
 * - Writes are deferred and committed together through a {@link WriteQueue}, latest value per row only.
 */
import type { TaskOutcomeKind } from '../../execution/delegate.ts'
import { WriteQueue } from '../../store/write-queue.ts'
import type { Database } from '../../store/database.ts'
import { OUTCOME_WEIGHTS, REPUTATION_DEFAULTS } from './constants.ts'
import { PEER_TOPIC } from './topic.ts'
import { trimOldest } from '../../util/bounded-map.ts'

/** Every kind of outcome: what delegation and verification report, plus per-peer wire misbehaviour. */
export type OutcomeKind = TaskOutcomeKind | 'invalid_descriptor' | 'invalid_opinion'

export const OUTCOME_KINDS = Object.keys(OUTCOME_WEIGHTS) as OutcomeKind[]
const KIND_INDEX = new Map(OUTCOME_KINDS.map((k, i) => [k, i]))
const SUCCESS = KIND_INDEX.get('success') as number
/** the outcomes that prove a lie, not merely a failure */
const LIE_INDEXES = (['wrong_answer', 'canary_failure', 'invalid_evidence'] as const).map(
  (k) => KIND_INDEX.get(k) as number,
)

export interface LocalRecordsInit {
  maxPeers?: number
  /** ms */
  halfLife?: number
  /** the group commit to use; default one of its own */
  writes?: WriteQueue
}

/** One (peer, topic): weights as of `at`, and raw counts. */
interface Cell {
  weights: Float64Array
  counts: Uint32Array
  at: number
}

interface PeerRecord {
  seen: number
  topics: Map<string, Cell>
}

/** Decayed weight and raw count of one outcome kind. */
export interface OutcomeCount {
  weight: number
  count: number
}

interface Row {
  peer: string
  topic: string
  kind: string
  weight: number
  count: number
  at: number
}

/**
 * @example
 * const records = new LocalRecords(db, { halfLife: 7 * 86_400_000 })
 * records.load()
 * records.add(peer, 'sensor.climate', 'success', Date.now())
 * records.localTrust(peer, 'sensor.climate', Date.now()) // 1
 */
export class LocalRecords {
  readonly #writes: WriteQueue
  readonly #maxPeers: number
  readonly #lambda: number
  /** in least recently seen order */
  readonly #peers = new Map<string, PeerRecord>()
  readonly #dirty = new Set<string>()
  readonly #forgotten = new Set<string>()
  #scheduled = false
  readonly #sql: ReturnType<typeof statements>

  constructor(db: Database, init: LocalRecordsInit = {}) {
    this.#writes = init.writes ?? new WriteQueue(db)
    this.#maxPeers = init.maxPeers ?? REPUTATION_DEFAULTS.maxPeers
    this.#lambda = Math.LN2 / (init.halfLife ?? REPUTATION_DEFAULTS.halfLife)
    this.#sql = statements(db)
  }

  /** Peers with records. */
  get size(): number {
    return this.#peers.size
  }

  /** Reads the table into memory (at start), keeping the `maxPeers` most recently seen peers. */
  load(): void {
    this.#peers.clear()
    for (const row of this.#sql.all.all() as unknown as Row[]) {
      const kind = KIND_INDEX.get(row.kind as OutcomeKind)
      if (kind === undefined) continue
      const cell = this.#cell(row.peer, row.topic, row.at)
      // rows of one cell may carry different times: bring each to the cell's latest
      if (row.at > cell.at) this.#decayTo(cell, row.at)
      cell.weights[kind] = row.weight * this.#factor(cell.at - row.at)
      cell.counts[kind] = row.count
    }
    this.#evict()
  }

  /**
   * Records one outcome `peer` showed on `topic` at `now` (use {@link PEER_TOPIC} for per-peer ones).
   *
   * @example
   * records.add(peer, PEER_TOPIC, 'invalid_descriptor', Date.now())
   */
  add(peer: string, topic: string, kind: OutcomeKind, now: number): void {
    const index = KIND_INDEX.get(kind)
    if (index === undefined) throw new RangeError(`unknown outcome kind ${kind}`)
    const cell = this.#cell(peer, topic, now)
    this.#decayTo(cell, now)
    cell.weights[index] = (cell.weights[index] as number) + 1
    cell.counts[index] = (cell.counts[index] as number) + 1
    this.#markDirty(`${peer}\n${topic}\n${kind}`)
    this.#evict()
  }

  /** Decayed weights and counts of `peer` on `topic`, by kind; undefined when there is no record. */
  counts(peer: string, topic: string, now: number): Record<OutcomeKind, OutcomeCount> | undefined {
    const cell = this.#peers.get(peer)?.topics.get(topic)
    if (cell === undefined) return undefined
    const f = this.#factor(now - cell.at)
    const out = {} as Record<OutcomeKind, OutcomeCount>
    OUTCOME_KINDS.forEach((kind, i) => {
      out[kind] = { weight: (cell.weights[i] as number) * f, count: cell.counts[i] as number }
    })
    return out
  }

  /**
   * The weighted successes and failures of `peer` on `topic` at `now`, failures on `*` included.
   *
   * @example
   * const { good, bad } = records.balance(peer, 'device.access.high', Date.now())
   */
  balance(peer: string, topic: string, now: number): { good: number; bad: number } {
    const record = this.#peers.get(peer)
    if (record === undefined) return { good: 0, bad: 0 }
    const own = record.topics.get(topic)
    const wide = record.topics.get(PEER_TOPIC)
    const good = own === undefined ? 0 : (own.weights[SUCCESS] as number) * this.#factor(now - own.at)
    return { good, bad: this.#failures(own, now) + this.#failures(wide, now) }
  }

  /**
   * True when this node caught `peer` lying on `topic` (a wrong answer, a failed canary, invalid evidence)
   * and its failures there still outweigh its successes.
   */
  lied(peer: string, topic: string, now: number): boolean {
    const cell = this.#peers.get(peer)?.topics.get(topic)
    if (cell === undefined || !LIE_INDEXES.some((i) => (cell.counts[i] as number) > 0)) return false
    const { good, bad } = this.balance(peer, topic, now)
    return bad > good
  }

  /**
   * The peers this node caught lying on `topic` ({@link lied}), most recently seen first, at most `limit`.
   *
   * @example
   * records.liars('script.compute', Date.now(), 64) // ['12D3KooW…']
   */
  liars(topic: string, now: number, limit: number): string[] {
    const out: string[] = []
    for (const peer of [...this.#peers.keys()].reverse()) {
      if (out.length >= limit) break
      if (this.lied(peer, topic, now)) out.push(peer)
    }
    return out
  }

  /** s_ij: max(0, weighted successes − weighted failures) of `peer` on `topic`. */
  localTrust(peer: string, topic: string, now: number): number {
    const { good, bad } = this.balance(peer, topic, now)
    return Math.max(0, good - bad)
  }

  /**
   * Every peer with positive local trust on `topic`, and that trust (not normalised).
   *
   * @example
   * for (const [peer, s] of records.row('sensor.climate', Date.now())) total += s
   */
  row(topic: string, now: number): Map<string, number> {
    const out = new Map<string, number>()
    for (const [peer, record] of this.#peers) {
      if (!record.topics.has(topic)) continue
      const s = this.localTrust(peer, topic, now)
      if (s > 0) out.set(peer, s)
    }
    return out
  }

  /** Topics with records, `*` excluded. */
  topics(): Set<string> {
    const out = new Set<string>()
    for (const record of this.#peers.values()) for (const topic of record.topics.keys()) out.add(topic)
    out.delete(PEER_TOPIC)
    return out
  }

  /** The peers with records, most recently seen last. */
  peers(): string[] {
    return [...this.#peers.keys()]
  }

  /** Topics `peer` has records on, `*` included. */
  topicsOf(peer: string): string[] {
    return [...(this.#peers.get(peer)?.topics.keys() ?? [])]
  }

  /** Commits the records not written yet (the node does at stop). */
  flush(): void {
    this.#writes.flush()
  }

  #failures(cell: Cell | undefined, now: number): number {
    if (cell === undefined) return 0
    let bad = 0
    OUTCOME_KINDS.forEach((kind, i) => {
      if (i !== SUCCESS) bad += (cell.weights[i] as number) * OUTCOME_WEIGHTS[kind]
    })
    return bad * this.#factor(now - cell.at)
  }

  #factor(age: number): number {
    return age <= 0 ? 1 : Math.exp(-this.#lambda * age)
  }

  #decayTo(cell: Cell, now: number): void {
    if (now <= cell.at) return
    const f = this.#factor(now - cell.at)
    for (let i = 0; i < cell.weights.length; i++) cell.weights[i] = (cell.weights[i] as number) * f
    cell.at = now
  }

  /** The cell of (peer, topic), created when missing; the peer becomes the most recently seen. */
  #cell(peer: string, topic: string, at: number): Cell {
    let record = this.#peers.get(peer)
    if (record === undefined) record = { seen: at, topics: new Map() }
    else this.#peers.delete(peer)
    record.seen = Math.max(record.seen, at)
    this.#peers.set(peer, record)
    let cell = record.topics.get(topic)
    if (cell === undefined) {
      cell = {
        weights: new Float64Array(OUTCOME_KINDS.length),
        counts: new Uint32Array(OUTCOME_KINDS.length),
        at,
      }
      record.topics.set(topic, cell)
    }
    return cell
  }

  /** Forgets the least recently seen peers beyond `maxPeers`; their rows leave the table at the next commit. */
  #evict(): void {
    trimOldest(this.#peers, this.#maxPeers, (oldest) => {
      this.#forgotten.add(oldest)
      this.#markDirty(undefined)
    })
  }

  #markDirty(key: string | undefined): void {
    if (key !== undefined) this.#dirty.add(key)
    if (this.#scheduled) return
    this.#scheduled = true
    this.#writes.defer(() => this.#commit())
  }

  /** Runs inside the group commit: forgotten peers' rows out, then the latest value of every changed row. */
  #commit(): void {
    this.#scheduled = false
    for (const peer of this.#forgotten) this.#sql.forget.run(peer)
    this.#forgotten.clear()
    for (const key of this.#dirty) {
      const [peer, topic, kind] = key.split('\n') as [string, string, OutcomeKind]
      const cell = this.#peers.get(peer)?.topics.get(topic)
      const i = KIND_INDEX.get(kind) as number
      if (cell !== undefined) this.#sql.put.run(peer, topic, kind, cell.weights[i]!, cell.counts[i]!, cell.at)
    }
    this.#dirty.clear()
  }
}

/** The table's statements, prepared once. */
function statements(db: Database) {
  return {
    all: db.prepare('SELECT peer, topic, kind, weight, count, at FROM reputation ORDER BY at, peer'),
    forget: db.prepare('DELETE FROM reputation WHERE peer = ?'),
    put: db.prepare(
      `INSERT INTO reputation (peer, topic, kind, weight, count, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (peer, topic, kind) DO UPDATE SET weight = excluded.weight, count = excluded.count,
         at = excluded.at`,
    ),
  }
}
