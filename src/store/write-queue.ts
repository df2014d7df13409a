/**
 * Group commit for the writes to the node's SQLite file: one queue per database, built by the composition
 * root and shared by every plane that writes (the journal, the ledger, reputation records), so that their
 * deferred writes go in one transaction instead of one per plane. Every commit costs a WAL append
 * (50 to 200 µs on this machine class, more when it grows the WAL towards a checkpoint), and a task used to
 * make four per side. Writes whose loss in a crash costs nothing are deferred and committed together, in
 * one transaction, `flushMs` after the first of them: off every task's critical path, and in one commit
 * for all the tasks of that interval. The few writes that must be durable before the caller goes on (a
 * task's row before it runs) are committed on their own at once (`now()`): alone, they touch the fewest
 * pages. A deferred write always concerns a row that is already durable, so the order between the two
 * kinds does not matter.
 */
import type { Database } from './database.ts'
import type { Logger } from '../util/logger.ts'

export interface WriteQueueInit {
  log?: Logger
  /** longest a deferred write waits for a commit (ms); default 50 */
  flushMs?: number
  /** deferred writes beyond which they are committed at the next turn of the event loop; default 512 */
  maxPending?: number
  /** called after each group commit (the WAL checkpointer keeps its thread while commits come) */
  onCommit?: () => void
}

export const WRITE_QUEUE_DEFAULTS = Object.freeze({ flushMs: 50, maxPending: 512 })

/**
 * @example
 * const writes = new WriteQueue(db)
 * insert.run(id) // durable at once, on its own
 * writes.defer(() => finish.run('ok', id)) // committed within flushMs, with the other deferred writes
 */
export class WriteQueue {
  readonly #db: Database
  readonly #log: Logger | undefined
  readonly #flushMs: number
  readonly #maxPending: number
  readonly #onCommit: (() => void) | undefined
  #pending: (() => void)[] = []
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Immediate | undefined

  constructor(db: Database, init: WriteQueueInit = {}) {
    this.#db = db
    this.#log = init.log
    this.#flushMs = init.flushMs ?? WRITE_QUEUE_DEFAULTS.flushMs
    this.#maxPending = init.maxPending ?? WRITE_QUEUE_DEFAULTS.maxPending
    this.#onCommit = init.onCommit
  }

  /** deferred writes not committed yet */
  get pending(): number {
    return this.#pending.length
  }

  /** Queues `write` for the next group commit. */
  defer(write: () => void): void {
    this.#pending.push(write)
    this.#timer ??= setTimeout(() => this.flush(), this.#flushMs).unref()
    if (this.#pending.length >= this.#maxPending) this.#soon ??= setImmediate(() => this.flush())
  }

  /** Commits every deferred write now (before reads that must see them, and at shutdown). */
  flush(): void {
    clearTimeout(this.#timer)
    clearImmediate(this.#soon)
    this.#timer = undefined
    this.#soon = undefined
    const pending = this.#pending
    if (pending.length === 0) return
    this.#pending = []
    if (!this.#db.isOpen) return
    // a transaction already open (a caller's own) simply takes these writes in
    const own = !this.#db.isTransaction
    if (own) this.#db.exec('BEGIN')
    try {
      for (const deferred of pending) {
        try {
          deferred()
        } catch (err) {
          // one statement failing is atomic on its own: the others still go in
          this.#log?.error({ err }, 'a deferred write failed')
        }
      }
    } finally {
      if (own) this.#commit()
      this.#onCommit?.()
    }
  }

  #commit(): void {
    try {
      this.#db.exec('COMMIT')
    } catch (err) {
      // never leave the connection inside a transaction nobody will end
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw err
    }
  }
}
