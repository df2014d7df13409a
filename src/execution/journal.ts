/**
 * The task journal (issue 4, "Journal"): every task in and out with its status, in the node's SQLite file, so
 * that a restart knows what was in flight. A task that was queued or running at crash time becomes
 * `interrupted` and is handed to the caller to report as failed; its id stays in the journal, so it never
 * runs a second time, which matters for actions that are not idempotent.
 *
 * What must be durable before a task runs is its row (`recordQueued`, or `recordStarted` for an outgoing
 * task): that write is committed, on its own, before the call returns. Later changes of a task in flight
 * (running, finished, refused) may be deferred (`defer*`) to the next group commit of a
 * {@link WriteQueue}: lost in a crash, they leave the row in flight, and the restart reports it
 * interrupted, which is the same guarantee.
 *
 * Bounded: every few hundred writes the oldest finished rows beyond `maxRows` are deleted, except rows whose
 * deadline has not passed yet (a replay of those must still be recognised).
 */
import type { Database } from '../store/database.ts'
import { WriteQueue } from '../store/write-queue.ts'
import type { TaskStatus } from './task-wire.ts'
import { EventBus, type Events } from '../util/event-bus.ts'
import type { ExecutionEvents } from './events.ts'

export type TaskDirection = 'in' | 'out'
/**
 * Where a journalled task stands: waiting, running, ended as a task reply ends ({@link TaskStatus}), or
 * `interrupted`, which only {@link Journal.recover} sets.
 */
export type JournalStatus = 'queued' | 'running' | TaskStatus | 'interrupted'
/**
 * How a task can end before it ran: refused (`busy`, `denied`: its id may be offered again by the same
 * peer), failed its checks (`error`), or missed its deadline while waiting (`timeout`).
 */
export type RefusedStatus = Exclude<TaskStatus, 'ok'>

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
  status: JournalStatus
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
  /** the group commit shared with the plane's other writers; default: one of its own */
  writes?: WriteQueue
  /** where every write is published; default a bus of the journal's own */
  events?: Events<Pick<ExecutionEvents, 'task'>>
}

export const JOURNAL_DEFAULTS = Object.freeze({ maxRows: 10_000, pruneEvery: 256 })

interface Row {
  id: string
  direction: TaskDirection
  peer: string
  cap: string
  status: JournalStatus
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
 * journal.deferRunning(id)
 * journal.deferFinished(id, 'ok', { outputHash })
 */
export class Journal {
  readonly #db: Database
  readonly #writes: WriteQueue
  readonly #maxRows: number
  readonly #pruneEvery: number
  readonly #sql: ReturnType<typeof statements>
  #count = 0
  #version = 0
  readonly #events: Events<Pick<ExecutionEvents, 'task'>>

  constructor(db: Database, init: JournalInit = {}) {
    this.#db = db
    this.#writes = init.writes ?? new WriteQueue(db)
    this.#maxRows = init.maxRows ?? JOURNAL_DEFAULTS.maxRows
    this.#pruneEvery = init.pruneEvery ?? JOURNAL_DEFAULTS.pruneEvery
    this.#sql = statements(db)
    this.#events = init.events ?? new EventBus()
  }

  /**
   * Records a task as queued, committed when this returns. False when the id is already journalled and may
   * have run (a replay): the caller must refuse it. An id that was only refused before (busy, denied) may be
   * offered again by its peer.
   */
  recordQueued(task: NewTask, now = Date.now()): boolean {
    this.#changed()
    const { changes } = this.#insert(task, now, false)
    return this.#wrote(changes, now)
  }

  /**
   * Records a task that starts at once (an outgoing one, sent to its first provider), committed when this
   * returns: `recordQueued` and `recordRunning` in one write. False for a replayed id, as `recordQueued`.
   */
  recordStarted(task: NewTask, now = Date.now()): boolean {
    this.#changed()
    const { changes } = this.#insert(task, now, true)
    return this.#wrote(changes, now)
  }

  /**
   * True when `recordQueued(task)` would accept the task: its id is new, or was only refused before, to the
   * same peer. A read, for a caller that starts the task before committing its row (see serve.ts).
   */
  accepts(task: NewTask): boolean {
    const row = this.#sql.conflict.get(task.id) as Pick<Row, 'status' | 'direction' | 'peer'> | undefined
    return (
      row === undefined ||
      ((row.status === 'busy' || row.status === 'denied') &&
        row.direction === task.direction &&
        row.peer === task.peer)
    )
  }

  /** Records a task refused before it ran; an id already journalled is left as it is. */
  recordRefused(task: NewTask, status: RefusedStatus, reason: string, now = Date.now()): boolean {
    this.#changed()
    this.flush()
    const { changes } = this.#refuse(task, status, reason, now)
    return this.#wrote(changes, now)
  }

  /** Records that a queued task started (or that an outgoing one went to `peer`, its next provider). */
  recordRunning(id: string, now = Date.now(), peer?: string): boolean {
    this.#changed()
    this.flush()
    const { changes } = this.#sql.running.run(now, peer ?? null, id)
    return changes > 0
  }

  /** Records how an in-flight task ended; false when it was not in flight. */
  recordFinished(
    id: string,
    status: TaskStatus,
    detail: { outputHash?: string; error?: string } = {},
    now = Date.now(),
  ): boolean {
    this.#changed()
    this.flush()
    const { changes } = this.#finish(id, status, detail, now)
    return changes > 0
  }

  /** `recordRefused`, committed with the next group commit. */
  deferRefused(task: NewTask, status: RefusedStatus, reason: string, now = Date.now()): void {
    this.#changed()
    this.#writes.defer(() => this.#wrote(this.#refuse(task, status, reason, now).changes, now))
  }

  /** `recordRunning`, committed with the next group commit. */
  deferRunning(id: string, now = Date.now(), peer?: string): void {
    this.#changed()
    this.#writes.defer(() => this.#sql.running.run(now, peer ?? null, id))
  }

  /** `recordFinished`, committed with the next group commit. */
  deferFinished(
    id: string,
    status: TaskStatus,
    detail: { outputHash?: string; error?: string } = {},
    now = Date.now(),
  ): void {
    this.#changed()
    this.#writes.defer(() => this.#finish(id, status, detail, now))
  }

  /** Changes whenever a row is written or a write is deferred. */
  get version(): number {
    return this.#version
  }

  /** Calls `listener` whenever a row is written or a write is deferred (`GET /v1/events`); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    return this.#events.on('task', listener)
  }

  #changed(): void {
    this.#version++
    this.#events.emit('task', {})
  }

  /** Commits every deferred write now. */
  flush(): void {
    this.#writes.flush()
  }

  /**
   * After a restart: marks every task that was queued or running as `interrupted` and returns them, so the
   * caller reports incoming ones as failed to their requesters and gives up on outgoing ones.
   */
  recover(now = Date.now()): TaskRecord[] {
    this.flush()
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
    this.flush()
    return this.#sql.seen.get(id) !== undefined
  }

  get(id: string): TaskRecord | undefined {
    this.flush()
    const row = this.#sql.get.get(id) as Row | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  /** The newest tasks first. */
  recent(limit = 50): TaskRecord[] {
    this.flush()
    const rows = this.#db
      .prepare('SELECT * FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(limit) as unknown as Row[]
    return rows.map(toRecord)
  }

  /** Deletes the oldest finished rows beyond `maxRows` whose deadline has passed; returns how many. */
  prune(maxRows = this.#maxRows, now = Date.now()): number {
    this.flush()
    return Number(this.#sql.prune.run(now, maxRows).changes)
  }

  #insert(task: NewTask, now: number, running: boolean) {
    return this.#sql.insert.run(
      task.id,
      task.direction,
      task.peer,
      task.cap,
      running ? 'running' : 'queued',
      task.inputHash ?? null,
      now,
      running ? now : null,
      running ? 1 : 0,
      task.deadline,
    )
  }

  #refuse(task: NewTask, status: RefusedStatus, reason: string, now: number) {
    return this.#sql.refuse.run(
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
  }

  #finish(id: string, status: TaskStatus, detail: { outputHash?: string; error?: string }, now: number) {
    return this.#sql.finish.run(status, detail.outputHash ?? null, detail.error ?? null, now, id)
  }

  #wrote(changes: number | bigint, now: number): boolean {
    if (changes === 0 || changes === 0n) return false
    // pruning sorts the table: it waits for the next group commit, after the replies of this turn
    if (++this.#count % this.#pruneEvery === 0)
      this.#writes.defer(() => this.#sql.prune.run(now, this.#maxRows))
    return true
  }
}

/** The journal's statements, prepared once: preparing costs about as much as a small write. */
function statements(db: Database) {
  return {
    insert: db.prepare(
      `INSERT INTO tasks (id, direction, peer, cap, status, input_hash, created_at, started_at, attempts, deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, cap = excluded.cap,
         input_hash = excluded.input_hash, deadline = excluded.deadline, error = NULL, ended_at = NULL,
         started_at = excluded.started_at, attempts = tasks.attempts + excluded.attempts
       WHERE tasks.status IN ${NEVER_RAN} AND tasks.direction = excluded.direction AND tasks.peer = excluded.peer`,
    ),
    refuse: db.prepare(
      `INSERT INTO tasks (id, direction, peer, cap, status, input_hash, error, created_at, ended_at, deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    running: db.prepare(
      `UPDATE tasks SET status = 'running', started_at = coalesce(started_at, ?), attempts = attempts + 1,
         peer = coalesce(?, peer)
       WHERE id = ? AND status IN ${IN_FLIGHT}`,
    ),
    finish: db.prepare(
      `UPDATE tasks SET status = ?, output_hash = ?, error = ?, ended_at = ?
       WHERE id = ? AND status IN ${IN_FLIGHT}`,
    ),
    seen: db.prepare(`SELECT 1 FROM tasks WHERE id = ? AND status NOT IN ${NEVER_RAN}`),
    conflict: db.prepare('SELECT status, direction, peer FROM tasks WHERE id = ?'),
    get: db.prepare('SELECT * FROM tasks WHERE id = ?'),
    prune: db.prepare(
      `DELETE FROM tasks WHERE deadline < ? AND rowid IN (
         SELECT rowid FROM tasks WHERE status NOT IN ${IN_FLIGHT}
         ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
    ),
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
