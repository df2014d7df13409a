/**
 * The task journal (issue 4, "Journal"): every task in and out with its status, in the node's SQLite file, so
 * that a restart knows what was in flight. A task that was queued or running at crash time becomes
 * `interrupted` and is handed to the caller to report as failed; its id stays in the journal, so it never
 * runs a second time, which matters for actions that are not idempotent.
 *
 * Bounded: every few hundred writes the oldest finished rows beyond `maxRows` are deleted, except rows whose
 * deadline has not passed yet (a replay of those must still be recognised).
 */
import type { Database } from '../store/database.ts'

export type TaskDirection = 'in' | 'out'
export type TaskStatus = 'queued' | 'running' | 'ok' | 'error' | 'busy' | 'denied' | 'timeout' | 'interrupted'
/** How a task can end; `interrupted` is set only by {@link Journal.recover}. */
export type TaskOutcome = 'ok' | 'error' | 'busy' | 'denied' | 'timeout'

export interface NewTask {
  id: string
  direction: TaskDirection
  /** the requester of an incoming task, the provider of an outgoing one */
  peer: string
  cap: string
  /** absolute ms */
  deadline: number
  inputHash?: string
}

export interface TaskRecord extends NewTask {
  status: TaskStatus
  outputHash?: string
  error?: string
  createdAt: number
  startedAt?: number
  endedAt?: number
  /** how many times the task was started (an outgoing task counts each provider tried) */
  attempts: number
}

export interface JournalInit {
  /** finished rows kept; default 10,000 */
  maxRows?: number
  /** writes between automatic prunes; default 256 */
  pruneEvery?: number
}

export const JOURNAL_DEFAULTS = Object.freeze({ maxRows: 10_000, pruneEvery: 256 })

interface Row {
  id: string
  direction: TaskDirection
  peer: string
  cap: string
  status: TaskStatus
  input_hash: string | null
  output_hash: string | null
  error: string | null
  created_at: number
  started_at: number | null
  ended_at: number | null
  deadline: number
  attempts: number
}

const IN_FLIGHT = `('queued', 'running')`
/** refusals: the task never ran, so its id may be offered again by the same peer */
const NEVER_RAN = `('busy', 'denied')`

/**
 * The journal over the `tasks` table of an open database.
 *
 * @example
 * const journal = new Journal(openDatabase(file))
 * for (const task of journal.recover()) reportFailed(task) // after a restart
 * if (!journal.recordQueued({ id, direction: 'in', peer, cap, deadline })) return reply('denied') // replay
 * journal.recordRunning(id)
 * journal.recordFinished(id, 'ok', { outputHash })
 */
export class Journal {
  readonly #db: Database
  readonly #maxRows: number
  readonly #pruneEvery: number
  #writes = 0

  constructor(db: Database, init: JournalInit = {}) {
    this.#db = db
    this.#maxRows = init.maxRows ?? JOURNAL_DEFAULTS.maxRows
    this.#pruneEvery = init.pruneEvery ?? JOURNAL_DEFAULTS.pruneEvery
  }

  /**
   * Records a task as queued. False when the id is already journalled and may have run (a replay): the
   * caller must refuse it. An id that was only refused before (busy, denied) may be offered again by its peer.
   */
  recordQueued(task: NewTask, now = Date.now()): boolean {
    const { changes } = this.#db
      .prepare(
        `INSERT INTO tasks (id, direction, peer, cap, status, input_hash, created_at, deadline)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = 'queued', cap = excluded.cap, input_hash = excluded.input_hash,
           deadline = excluded.deadline, error = NULL, ended_at = NULL
         WHERE tasks.status IN ${NEVER_RAN} AND tasks.direction = excluded.direction AND tasks.peer = excluded.peer`,
      )
      .run(task.id, task.direction, task.peer, task.cap, task.inputHash ?? null, now, task.deadline)
    return this.#wrote(changes, now)
  }

  /** Records a task refused before it ran; an id already journalled is left as it is. */
  recordRefused(task: NewTask, status: 'busy' | 'denied', reason: string, now = Date.now()): boolean {
    const { changes } = this.#db
      .prepare(
        `INSERT INTO tasks (id, direction, peer, cap, status, input_hash, error, created_at, ended_at, deadline)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        task.id,
        task.direction,
        task.peer,
        task.cap,
        status,
        task.inputHash ?? null,
        reason,
        now,
        now,
        task.deadline,
      )
    return this.#wrote(changes, now)
  }

  /** Records that a queued task started (or that an outgoing one went to `peer`, its next provider). */
  recordRunning(id: string, now = Date.now(), peer?: string): boolean {
    const { changes } = this.#db
      .prepare(
        `UPDATE tasks SET status = 'running', started_at = coalesce(started_at, ?), attempts = attempts + 1,
           peer = coalesce(?, peer)
         WHERE id = ? AND status IN ${IN_FLIGHT}`,
      )
      .run(now, peer ?? null, id)
    return changes > 0
  }

  /** Records how an in-flight task ended; false when it was not in flight. */
  recordFinished(
    id: string,
    status: TaskOutcome,
    detail: { outputHash?: string; error?: string } = {},
    now = Date.now(),
  ): boolean {
    const { changes } = this.#db
      .prepare(
        `UPDATE tasks SET status = ?, output_hash = ?, error = ?, ended_at = ?
         WHERE id = ? AND status IN ${IN_FLIGHT}`,
      )
      .run(status, detail.outputHash ?? null, detail.error ?? null, now, id)
    return changes > 0
  }

  /**
   * After a restart: marks every task that was queued or running as `interrupted` and returns them, so the
   * caller reports incoming ones as failed to their requesters and gives up on outgoing ones.
   */
  recover(now = Date.now()): TaskRecord[] {
    const rows = this.#db
      .prepare(
        `UPDATE tasks SET status = 'interrupted', ended_at = ?, error = coalesce(error, 'interrupted by a restart')
         WHERE status IN ${IN_FLIGHT} RETURNING *`,
      )
      .all(now) as unknown as Row[]
    return rows.map(toRecord).sort((a, b) => a.createdAt - b.createdAt)
  }

  /** True when a task with this id was accepted before: it must not run again. */
  seen(id: string): boolean {
    return (
      this.#db.prepare(`SELECT 1 FROM tasks WHERE id = ? AND status NOT IN ${NEVER_RAN}`).get(id) !==
      undefined
    )
  }

  get(id: string): TaskRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  /** The newest tasks first. */
  recent(limit = 50): TaskRecord[] {
    const rows = this.#db
      .prepare('SELECT * FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(limit) as unknown as Row[]
    return rows.map(toRecord)
  }

  /** Deletes the oldest finished rows beyond `maxRows` whose deadline has passed; returns how many. */
  prune(maxRows = this.#maxRows, now = Date.now()): number {
    const { changes } = this.#db
      .prepare(
        `DELETE FROM tasks WHERE deadline < ? AND rowid IN (
           SELECT rowid FROM tasks WHERE status NOT IN ${IN_FLIGHT}
           ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      )
      .run(now, maxRows)
    return Number(changes)
  }

  #wrote(changes: number | bigint, now: number): boolean {
    if (changes === 0 || changes === 0n) return false
    if (++this.#writes % this.#pruneEvery === 0) this.prune(this.#maxRows, now)
    return true
  }
}

function toRecord(r: Row): TaskRecord {
  const rec: TaskRecord = {
    id: r.id,
    direction: r.direction,
    peer: r.peer,
    cap: r.cap,
    status: r.status,
    deadline: r.deadline,
    createdAt: r.created_at,
    attempts: r.attempts,
  }
  if (r.input_hash !== null) rec.inputHash = r.input_hash
  if (r.output_hash !== null) rec.outputHash = r.output_hash
  if (r.error !== null) rec.error = r.error
  if (r.started_at !== null) rec.startedAt = r.started_at
  if (r.ended_at !== null) rec.endedAt = r.ended_at
  return rec
}
