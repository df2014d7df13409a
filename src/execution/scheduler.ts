/**
 * The provider's scheduler (issue 4, "Scheduler"): a fixed number of task slots and a short priority queue.
 * Beyond them a task is refused with `busy` at once, so a requester falls back to another provider instead
 * of waiting on a node that cannot serve it; nothing is ever queued without bound. While the node is loaded
 * the queue stops growing, and a task of higher priority may take the place of the lowest queued one.
 */
import { availableParallelism } from 'node:os'
import type { Events } from '../util/event-bus.ts'
import type { Logger } from '../util/logger.ts'
import { silentLogger } from '../util/logger.ts'
import { KithError } from '../util/errors.ts'
import type { ExecutionEvents } from './events.ts'

export const SCHEDULER_DEFAULTS = Object.freeze({ maxQueue: 16, loadShedAt: 0.8, graceMs: 1000 })

/** Refused for lack of capacity; the requester should try another provider. */
export class BusyError extends KithError {
  static override readonly code = 'busy'
  static override readonly status = 503
  constructor(message = 'the node is busy') {
    super(message)
    this.name = 'BusyError'
  }
}

/** The task's deadline passed before it finished (or before it started). */
export class TimeoutError extends KithError {
  static override readonly code = 'timeout'
  static override readonly status = 504
  constructor(message = 'the task missed its deadline') {
    super(message)
    this.name = 'TimeoutError'
  }
}

/** The scheduler stopped while the task was running. */
export class SchedulerStoppedError extends KithError {
  static override readonly code = 'scheduler_stopped'
  static override readonly status = 503
  constructor(message = 'the scheduler stopped') {
    super(message)
    this.name = 'SchedulerStoppedError'
  }
}

export interface Job<T> {
  id: string
  peer: string
  /** the work; it must stop soon after `signal` aborts (its reason says why) */
  run: (signal: AbortSignal) => Promise<T>
  /** absolute time (ms, the scheduler's clock) by which the task must be done */
  deadline: number
  /** higher runs first; equal priorities run in arrival order. Default 0 */
  priority?: number
}

export interface SchedulerInit {
  /** tasks running at once; default: the machine's cores */
  maxConcurrent?: number
  /** tasks waiting for a slot; default 16 */
  maxQueue?: number
  /** load per core above which the queue stops growing; default 0.8 */
  loadShedAt?: number
  /** the node's load per core now (e.g. from the state sampler); default: always 0 */
  load?: () => number
  /** how long a slot stays held after its deadline for a task that ignores its abort signal (ms) */
  graceMs?: number
  now?: () => number
  log?: Logger
  /** told the new {@link Scheduler.size} whenever it changes (the state sampler advertises it) */
  events?: Events<Pick<ExecutionEvents, 'queue'>>
}

/** Counters since construction; once no job is running or queued, `submitted === completed + failed + busy`. */
export interface SchedulerStats {
  submitted: number
  /** admitted to a slot or to the queue */
  accepted: number
  completed: number
  /** errors, missed deadlines and tasks cut by `stop()` */
  failed: number
  /** refused for capacity, at submission or when displaced from the queue or dropped by `stop()` */
  busy: number
  /** the part of `failed` that missed its deadline */
  expired: number
}

const NO_STATS = Object.freeze({ submitted: 0, accepted: 0, completed: 0, failed: 0, busy: 0, expired: 0 })

interface Entry {
  job: Job<unknown>
  priority: number
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  timer?: NodeJS.Timeout
  controller?: AbortController
  settled?: Promise<void>
}

/**
 * Runs submitted jobs within the configured bounds, best priority first.
 *
 * @example
 * const scheduler = new Scheduler({ maxConcurrent: 2, maxQueue: 4, load: () => sampler.current().load })
 * scheduler.start()
 * const out = await scheduler.submit({ id, peer, deadline: Date.now() + 10_000, run: (signal) => sandbox.run(signal) })
 * scheduler.size // running + queued, the descriptor's `state.queue`
 */
export class Scheduler {
  readonly maxConcurrent: number
  readonly maxQueue: number
  readonly #loadShedAt: number
  readonly #load: () => number
  readonly #graceMs: number
  readonly #now: () => number
  readonly #log: Logger
  readonly #queue: Entry[] = []
  readonly #running = new Set<Entry>()
  readonly #settling = new Set<Promise<void>>()
  readonly #stats: SchedulerStats = { ...NO_STATS }
  #started = false
  readonly #events: Events<Pick<ExecutionEvents, 'queue'>> | undefined
  /** the size last published */
  #published = 0

  constructor(init: SchedulerInit = {}) {
    this.#events = init.events
    this.maxConcurrent = init.maxConcurrent ?? availableParallelism()
    this.maxQueue = init.maxQueue ?? SCHEDULER_DEFAULTS.maxQueue
    this.#loadShedAt = init.loadShedAt ?? SCHEDULER_DEFAULTS.loadShedAt
    this.#load = init.load ?? (() => 0)
    this.#graceMs = init.graceMs ?? SCHEDULER_DEFAULTS.graceMs
    this.#now = init.now ?? Date.now
    this.#log = init.log ?? silentLogger()
  }

  start(): void {
    this.#started = true
  }

  /** Refuses new jobs, answers every queued one `busy`, aborts the running ones and waits (up to the grace) for them. */
  async stop(): Promise<void> {
    this.#started = false
    for (const entry of this.#queue.splice(0)) this.#refuse(entry, new BusyError('the node is stopping'))
    this.#sized()
    for (const entry of [...this.#running]) this.#fail(entry, new SchedulerStoppedError())
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#graceMs)))
    await Promise.race([Promise.allSettled([...this.#settling]), grace])
    clearTimeout(timer)
  }

  /** Tasks running plus tasks waiting: what the descriptor advertises as `state.queue`. */
  get size(): number {
    return this.#running.size + this.#queue.length
  }

  get running(): number {
    return this.#running.size
  }

  get queued(): number {
    return this.#queue.length
  }

  stats(): SchedulerStats {
    return { ...this.#stats }
  }

  /**
   * Runs `job` now, queues it, or rejects at once with {@link BusyError}. Rejects with {@link TimeoutError}
   * when the deadline passes first; the job's signal is aborted then.
   */
  submit<T>(job: Job<T>): Promise<T> {
    this.#stats.submitted++
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    const entry: Entry = { job, priority: job.priority ?? 0, resolve: resolve as Entry['resolve'], reject }
    if (!this.#started) {
      this.#refuse(entry, new BusyError('the scheduler is not running'))
      return promise
    }
    if (job.deadline <= this.#now()) {
      this.#fail(entry, new TimeoutError('the deadline passed before the task arrived'))
      return promise
    }
    if (this.#running.size < this.maxConcurrent) {
      this.#stats.accepted++
      this.#run(entry)
      return promise
    }
    const room = this.#loaded() ? Math.min(1, this.maxQueue) : this.maxQueue
    if (this.#queue.length >= room) {
      const last = this.#queue.at(-1)
      if (last === undefined || last.priority >= entry.priority) {
        this.#refuse(entry, new BusyError())
        return promise
      }
      this.#queue.pop()
      this.#sized()
      this.#refuse(last, new BusyError('displaced by a task of higher priority'))
    }
    this.#stats.accepted++
    this.#enqueue(entry)
    return promise
  }

  #loaded(): boolean {
    return this.#load() > this.#loadShedAt
  }

  #enqueue(entry: Entry): void {
    const at = this.#queue.findIndex((e) => e.priority < entry.priority)
    this.#queue.splice(at === -1 ? this.#queue.length : at, 0, entry)
    this.#sized()
    entry.timer = this.#timer(entry, () => {
      const i = this.#queue.indexOf(entry)
      if (i !== -1) this.#queue.splice(i, 1)
      this.#sized()
      this.#fail(entry, new TimeoutError('the deadline passed while the task was queued'))
    })
  }

  #run(entry: Entry): void {
    const controller = new AbortController()
    entry.controller = controller
    this.#running.add(entry)
    this.#sized()
    entry.timer = this.#timer(entry, () => this.#fail(entry, new TimeoutError()))
    entry.settled = Promise.resolve()
      .then(() => entry.job.run(controller.signal))
      .then(
        (value) => this.#finish(entry, value),
        (err: unknown) => this.#fail(entry, err instanceof Error ? err : new Error(String(err)), true),
      )
      .finally(() => this.#release(entry))
    this.#settling.add(entry.settled)
  }

  /** A timer for the entry's deadline; a deadline already passed fires on the next turn. */
  #timer(entry: Entry, onDeadline: () => void): NodeJS.Timeout {
    return setTimeout(onDeadline, Math.max(0, entry.job.deadline - this.#now())).unref()
  }

  #finish(entry: Entry, value: unknown): void {
    if (entry.controller?.signal.aborted === true) return
    clearTimeout(entry.timer)
    this.#stats.completed++
    entry.resolve(value)
  }

  /**
   * Rejects the caller's promise with `err`, once. A job still running is aborted and keeps its slot until it
   * returns (so the bound holds), or until the grace period ends.
   */
  #fail(entry: Entry, err: Error, returned = false): void {
    const controller = entry.controller
    if (controller?.signal.aborted === true) return
    clearTimeout(entry.timer)
    this.#stats.failed++
    if (err instanceof TimeoutError) this.#stats.expired++
    entry.reject(err)
    if (controller === undefined) return
    controller.abort(err)
    if (returned) return
    // a job that ignores its signal must not hold its slot forever
    setTimeout(() => {
      if (!this.#running.has(entry)) return
      this.#log.warn({ task: entry.job.id, peer: entry.job.peer }, 'task ignored its abort; slot released')
      this.#release(entry)
    }, this.#graceMs).unref()
  }

  #refuse(entry: Entry, err: BusyError): void {
    clearTimeout(entry.timer)
    this.#stats.busy++
    entry.reject(err)
  }

  #release(entry: Entry): void {
    if (entry.settled !== undefined) this.#settling.delete(entry.settled)
    if (!this.#running.delete(entry)) return
    while (this.#started && this.#running.size < this.maxConcurrent) {
      const next = this.#queue.shift()
      if (next === undefined) break
      clearTimeout(next.timer)
      this.#run(next)
    }
    this.#sized()
  }

  /** Publishes the size when it changed since it was last published. */
  #sized(): void {
    const size = this.size
    if (size === this.#published) return
    this.#published = size
    this.#events?.emit('queue', { size })
  }
}
