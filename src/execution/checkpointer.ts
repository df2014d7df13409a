/**
 * Moves SQLite's WAL checkpoints off the event loop. In WAL mode with `synchronous = NORMAL` a commit is a
 * write to the WAL, but every thousand pages the connection that commits copies the WAL back into the
 * database and syncs both files, inside that commit: a task's journal row took 4 ms at p99 and up to 30 ms
 * for it on this machine class. Here the node's connection stops checkpointing on its own, and a worker
 * thread with its own connection runs a PASSIVE checkpoint (which never blocks a writer) every
 * `intervalMs`; the row's p99 falls to about 0.3 ms. If the thread cannot run, the connection checkpoints by
 * itself again. It serves the whole database file; the execution plane, its busiest writer, runs it.
 */
import { Worker } from 'node:worker_threads'
import type { Database } from '../store/database.ts'
import type { Logger } from '../util/logger.ts'

export interface CheckpointerInit {
  /** ms between checkpoints; default 250 */
  intervalMs?: number
  /**
   * The thread ends after this long without {@link Checkpointer.touch} (a commit), giving back its isolate's
   * memory (about 8 MiB), and starts again at the next touch; default 60000
   */
  idleMs?: number
  log?: Logger
}

export const CHECKPOINTER_DEFAULTS = Object.freeze({ intervalMs: 250, idleMs: 60_000 })

/** SQLite's own default: checkpoint in the committing connection once the WAL holds this many pages. */
const AUTOCHECKPOINT_PAGES = 1000

/**
 * The thread, as CommonJS source: it runs unbundled and from the single-file bundle alike, with no file
 * of its own to find.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(workerData.file)
db.exec('PRAGMA busy_timeout = 1000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
const timer = setInterval(() => {
  try { checkpoint.get() } catch (err) { parentPort.postMessage({ error: String(err && err.message) }) }
}, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  try { checkpoint.get() } catch {}
  db.close()
  parentPort.close()
})
parentPort.postMessage({ ready: true })
`

/**
 * @example
 * const checkpointer = new Checkpointer(db, config.paths.database)
 * await checkpointer.start()
 * … // commits no longer checkpoint
 * await checkpointer.stop()
 */
export class Checkpointer {
  readonly #db: Database
  readonly #file: string
  readonly #intervalMs: number
  readonly #idleMs: number
  #enabled = false
  #idle: NodeJS.Timeout | undefined
  #starting: Promise<void> | undefined
  readonly #log: Logger | undefined
  #worker: Worker | undefined

  constructor(db: Database, file: string, init: CheckpointerInit = {}) {
    this.#db = db
    this.#file = file
    this.#intervalMs = init.intervalMs ?? CHECKPOINTER_DEFAULTS.intervalMs
    this.#idleMs = init.idleMs ?? CHECKPOINTER_DEFAULTS.idleMs
    this.#log = init.log
  }

  /**
   * Says the database was written: restarts the thread if it ended for being idle, and keeps it from ending for
   * another `idleMs`. Cheap enough for every commit.
   */
  touch(): void {
    if (!this.#enabled) return
    if (this.#worker !== undefined) this.#armIdle()
    else if (this.#starting === undefined)
      this.#starting = this.#spawn().finally(() => {
        this.#starting = undefined
      })
  }

  /** true while the thread checkpoints for the node's connection */
  get running(): boolean {
    return this.#worker !== undefined
  }

  /** Starts the thread; an in-memory database (nothing to checkpoint) or a thread that fails is left alone. */
  async start(): Promise<void> {
    if (this.#enabled || this.#file === ':memory:') return
    this.#enabled = true
    await this.#spawn()
  }

  #armIdle(): void {
    clearTimeout(this.#idle)
    const end = () =>
      void this.#end().catch((err: unknown) => {
        this.#log?.warn({ err }, 'the idle WAL checkpoint thread did not end cleanly')
      })
    this.#idle = setTimeout(end, this.#idleMs).unref()
  }

  async #spawn(): Promise<void> {
    if (this.#worker !== undefined) return
    const worker = new Worker(THREAD, {
      eval: true,
      workerData: { file: this.#file, intervalMs: this.#intervalMs },
    })
    worker.unref()
    const ready = new Promise<boolean>((resolve) => {
      worker.once('message', (m: { ready?: boolean }) => resolve(m.ready === true))
      worker.once('error', () => resolve(false))
      worker.once('exit', () => resolve(false))
    })
    if (!(await ready)) {
      // not tried again at every commit: the connection checkpoints by itself from now on
      this.#enabled = false
      this.#log?.warn('the WAL checkpoint thread did not start; commits checkpoint by themselves')
      return
    }
    worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) this.#log?.warn({ err: m.error }, 'WAL checkpoint failed')
    })
    worker.once('exit', () => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      this.#autocheckpoint(AUTOCHECKPOINT_PAGES)
      this.#log?.warn('the WAL checkpoint thread ended; commits checkpoint by themselves again')
    })
    this.#worker = worker
    this.#autocheckpoint(0)
    // from the moment it runs: an idle end that came while it was starting found nothing to end
    if (this.#enabled) this.#armIdle()
  }

  /** Ends the thread after a last checkpoint and hands checkpoints back to the node's connection. */
  async stop(): Promise<void> {
    this.#enabled = false
    clearTimeout(this.#idle)
    await this.#starting
    await this.#end()
  }

  /** Ends the thread (idle, or stopping) after a last checkpoint; commits checkpoint by themselves meanwhile. */
  async #end(): Promise<void> {
    const worker = this.#worker
    if (worker === undefined) return
    this.#worker = undefined
    this.#autocheckpoint(AUTOCHECKPOINT_PAGES)
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    // the thread does not keep the process alive, except for its last checkpoint
    worker.ref()
    worker.postMessage('stop')
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())])
    await worker.terminate()
  }

  #autocheckpoint(pages: number): void {
    if (this.#db.isOpen) this.#db.exec(`PRAGMA wal_autocheckpoint = ${pages}`)
  }
}
