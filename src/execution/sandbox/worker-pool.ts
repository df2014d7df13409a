/**
 * The sandbox with each task on a worker thread, so that a CPU-bound script cannot stall the node's event
 * loop (gossip, the API, other tasks). Same surface as `Sandbox`, which each worker runs inside with one
 * engine. Host functions stay in the main thread (see worker-slot.ts). On top of the worker's own deadline,
 * the main thread ends a job `timeoutMs + graceMs` after posting it by terminating its worker, which stops
 * even a native built-in that never checks the interrupt handler; an aborted job ends the same way. A
 * terminated or crashed worker is replaced at once.
 */
import { availableParallelism } from 'node:os'
import { getAsset, isSea } from 'node:sea'
import type { Logger } from '../../util/logger.ts'
import {
  DEFAULT_WORKER_HEAP_MB,
  SANDBOX_DEFAULTS,
  SEA_WORKER_ASSET,
  WORKER_YOUNG_GENERATION_MB,
} from './constants.ts'
import { SandboxClosedError, SandboxConfigError, SandboxLoadError } from './errors.ts'
import { encodeInput, grantMap, resolveLimits } from './limits.ts'
import type { SandboxCounters, SandboxJob, SandboxLimits, SandboxResult } from './types.ts'
import { abortedResult, countResult, newCounters } from './types.ts'
import { type SlotOutcome, WorkerSlot } from './worker-slot.ts'

/** Jobs waiting for a worker beyond which `run()` answers at once with a failure. */
export const DEFAULT_MAX_QUEUE = 1024

/** How long after its own deadline a worker gets to report a timeout before it is terminated. */
export const DEFAULT_GRACE_MS = 250

/** How long a worker that dropped an engine may sit idle before it is replaced by a fresh one. */
export const DEFAULT_RECYCLE_IDLE_MS = 2000
/** How long a worker beyond the warm ones may sit idle before it ends. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000

export interface WorkerSandboxInit {
  /** limits of every task unless its job says otherwise; `memoryBytes` also sizes the engines */
  limits?: Partial<SandboxLimits>
  /** worker threads, i.e. tasks running at once; default `os.availableParallelism()` */
  workers?: number
  /** jobs waiting for a free worker; default 1024 */
  maxQueue?: number
  /** default 250 ms */
  graceMs?: number
  /**
   * A worker that dropped an engine (after a memory, stack or timeout failure) holds the dead engine's
   * memory until its next garbage collection, which an idle worker never has; once idle this long it is
   * replaced by a fresh worker, and all that memory goes back to the system. Default 2000 ms.
   */
  recycleIdleMs?: number
  /**
   * Workers kept once idle for `idleTimeoutMs`; the others end and give their memory back (about 15 MiB each),
   * and start again on demand. Default: `workers` (none end).
   */
  warmWorkers?: number
  /** how long a worker beyond `warmWorkers` may sit idle before it ends (ms); default 60000 */
  idleTimeoutMs?: number
  /**
   * cap of each worker's V8 old generation (MiB; default 256); the young generation is kept at 16 MiB
   * (constants.ts explains why)
   */
  workerHeapMb?: number
  /** the worker file; default worker.ts beside this file, or the bundle itself when bundled */
  workerUrl?: URL | string
  logger?: Logger
}

export interface WorkerSandboxCounters extends SandboxCounters {
  /** idle workers beyond `warmWorkers` that ended to give their memory back */
  workerRetires: number
  /** workers started to replace one that was terminated (timeout, abort) or died */
  workerRestarts: number
  /** idle workers replaced to give back the memory of the engines they dropped */
  workerRecycles: number
}

interface Waiter {
  give(slot: WorkerSlot): void
  fail(err: unknown): void
}

/**
 * The worker file: worker.ts beside this module; in a CommonJS bundle (where esbuild leaves `import.meta`
 * empty), the bundle, whose entry calls `runSandboxWorkerIfRequested()`; in the single binary, which has no
 * file to start a thread from, the worker bundle embedded as the SEA asset {@link SEA_WORKER_ASSET}.
 */
function defaultWorkerUrl(): URL | string | { code: string } {
  const here: unknown = import.meta.url
  if (typeof here === 'string') return new URL('./worker.ts', here)
  if (isSea()) return { code: getAsset(SEA_WORKER_ASSET, 'utf8') }
  if (typeof __filename === 'string') return __filename
  throw new SandboxLoadError('cannot locate the sandbox worker file')
}

/**
 * @example
 * const sandbox = new WorkerSandbox({ workers: 2, limits: { timeoutMs: 500 } })
 * await sandbox.start()
 * const result = await sandbox.run({ source: 'function run(n) { return n * 2 }', input: 21 })
 * // result: { ok: true, output: 42, cpuMs: 0.2 }
 * await sandbox.stop()
 */
export class WorkerSandbox {
  readonly counters: WorkerSandboxCounters = {
    ...newCounters(),
    workerRestarts: 0,
    workerRecycles: 0,
    workerRetires: 0,
  }
  readonly limits: Readonly<SandboxLimits>
  readonly workers: number
  readonly #maxQueue: number
  readonly #graceMs: number
  readonly #recycleIdleMs: number
  readonly #warm: number
  readonly #idleTimeoutMs: number
  readonly #heapMb: number
  readonly #url: URL | string | { code: string }
  readonly #logger: Logger | undefined
  readonly #slots = new Set<WorkerSlot>()
  readonly #idle: WorkerSlot[] = []
  readonly #waiters: Waiter[] = []
  /** the recycling timer of each idle worker that dropped an engine */
  readonly #recycling = new Map<WorkerSlot, NodeJS.Timeout>()
  /** the retirement timer of each idle worker beyond `warmWorkers` */
  readonly #retiring = new Map<WorkerSlot, NodeJS.Timeout>()
  #stopped = false

  constructor(init: WorkerSandboxInit = {}) {
    this.limits = Object.freeze(resolveLimits(SANDBOX_DEFAULTS, init.limits))
    this.workers = Math.max(1, init.workers ?? availableParallelism())
    this.#maxQueue = init.maxQueue ?? DEFAULT_MAX_QUEUE
    this.#graceMs = init.graceMs ?? DEFAULT_GRACE_MS
    this.#recycleIdleMs = init.recycleIdleMs ?? DEFAULT_RECYCLE_IDLE_MS
    this.#heapMb = init.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB
    this.#warm = Math.min(this.workers, init.warmWorkers ?? this.workers)
    this.#idleTimeoutMs = init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    for (const [key, value] of Object.entries({
      workers: this.workers,
      maxQueue: this.#maxQueue,
      workerHeapMb: this.#heapMb,
    }))
      if (!Number.isSafeInteger(value) || value < 0)
        throw new SandboxConfigError(`${key} must be a non-negative integer, not ${value}`)
    this.#url = init.workerUrl ?? defaultWorkerUrl()
    this.#logger = init.logger
  }

  /**
   * Starts the warm workers (at least one) and waits until each has loaded its engine: a broken installation
   * fails here. The others start on demand.
   */
  async start(): Promise<void> {
    this.#stopped = false
    const starting: Promise<unknown>[] = []
    while (this.#slots.size < Math.max(1, this.#warm)) starting.push(this.#spawn().ready)
    await Promise.all(starting)
  }

  /** Refuses new tasks and terminates every worker; tasks still running end `aborted`. */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const waiter of this.#waiters.splice(0)) waiter.fail(new SandboxClosedError())
    const slots = [...this.#slots]
    this.#slots.clear()
    this.#idle.length = 0
    for (const timer of [...this.#recycling.values(), ...this.#retiring.values()]) clearTimeout(timer)
    this.#recycling.clear()
    this.#retiring.clear()
    await Promise.all(slots.map((slot) => slot.terminate()))
  }

  /**
   * Runs one task on a worker. Throws only where `Sandbox.run()` does: `SandboxConfigError`,
   * `SandboxClosedError`, `SandboxLoadError`.
   */
  async run(job: SandboxJob): Promise<SandboxResult> {
    if (this.#stopped) throw new SandboxClosedError()
    const limits = resolveLimits(this.limits, job.limits, this.limits.memoryBytes)
    const grants = grantMap(job.grants)
    this.counters.tasks++
    const input = encodeInput(job.input, limits.maxInputBytes)
    if ('failure' in input) return this.#count({ ok: false, error: input.failure, cpuMs: 0 })
    if (job.signal?.aborted) return this.#count(abortedResult())
    if (this.#idle.length === 0 && this.#waiters.length >= this.#maxQueue)
      return this.#count({
        ok: false,
        error: { code: 'internal', message: `the sandbox queue is full (${this.#maxQueue} tasks waiting)` },
        cpuMs: 0,
      })

    // with a worker idle, the job is posted before run() first yields: a caller can do its own work (the
    // node commits the task's journal row) while the worker runs the task
    let slot = this.#idle.pop()
    if (slot === undefined) {
      try {
        slot = await this.#acquire(job.signal)
      } catch (err) {
        if (job.signal?.aborted) return this.#count(abortedResult())
        this.counters.tasks--
        throw err
      }
    }
    const outcome = await slot.run({
      message: {
        source: job.source,
        inputJson: input.json,
        deterministic: job.deterministic === true,
        seed: job.seed ?? 0,
        now: job.now ?? 0,
        limits,
        filename: job.filename ?? 'script.js',
        grants: [...grants.keys()],
      },
      grants,
      ...(job.signal !== undefined ? { signal: job.signal } : {}),
      hardTimeoutMs: limits.timeoutMs + this.#graceMs,
    })
    if (outcome.engineDiscards > 0) slot.droppedEngines += outcome.engineDiscards
    this.#release(slot)
    return this.#settle(outcome)
  }

  #settle(outcome: SlotOutcome): SandboxResult {
    this.counters.engineLoads += outcome.engineLoads
    this.counters.engineDiscards += outcome.engineDiscards
    this.counters.prewarmed += outcome.prewarmed
    this.counters.hostCalls += outcome.hostCalls
    if ('result' in outcome) return this.#count(outcome.result)
    this.counters.tasks--
    // rebuilt by code: the class does not cross the thread boundary, its code does
    const { code, message } = outcome.thrown
    if (code === SandboxConfigError.code) throw new SandboxConfigError(message)
    if (code === SandboxClosedError.code) throw new SandboxClosedError(message)
    throw new SandboxLoadError(message)
  }

  /** A ready worker: an idle one, else the next one released or started. */
  #acquire(signal?: AbortSignal): Promise<WorkerSlot> {
    const idle = this.#idle.pop()
    if (idle !== undefined) return Promise.resolve(idle)
    if (this.#slots.size < this.workers) this.#spawn()
    return new Promise<WorkerSlot>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        give: (slot) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(slot)
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /** Takes a worker back after a job: to the next waiter or the idle list, or replaces it if it is dead. */
  #release(slot: WorkerSlot): void {
    if (!this.#slots.has(slot)) return
    if (!slot.alive) return this.#replace(slot)
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) return waiter.give(slot)
    this.#idle.push(slot)
    if (slot.droppedEngines > 0) this.#recycleWhenIdle(slot)
    if (this.#slots.size > this.#warm) this.#retireWhenIdle(slot)
  }

  /**
   * Ends `slot` if it is still idle `idleTimeoutMs` after its last job while more than `warmWorkers` run.
   * Each release re-arms the timer, so it measures the time since the worker's last job.
   */
  #retireWhenIdle(slot: WorkerSlot): void {
    clearTimeout(this.#retiring.get(slot))
    const timer = setTimeout(() => {
      this.#retiring.delete(slot)
      const at = this.#idle.indexOf(slot)
      if (this.#stopped || at === -1 || this.#slots.size <= this.#warm || !this.#slots.delete(slot)) return
      this.#idle.splice(at, 1)
      clearTimeout(this.#recycling.get(slot))
      this.#recycling.delete(slot)
      this.counters.workerRetires++
      this.#end(slot)
    }, this.#idleTimeoutMs).unref()
    this.#retiring.set(slot, timer)
  }

  /** Replaces `slot` by a fresh worker if it is still idle after `recycleIdleMs` (see WorkerSandboxInit). */
  #recycleWhenIdle(slot: WorkerSlot): void {
    clearTimeout(this.#recycling.get(slot))
    const timer = setTimeout(() => {
      this.#recycling.delete(slot)
      const at = this.#idle.indexOf(slot)
      if (this.#stopped || at === -1 || !this.#slots.delete(slot)) return
      this.#idle.splice(at, 1)
      this.counters.workerRecycles++
      this.#spawn()
      this.#end(slot)
    }, this.#recycleIdleMs).unref()
    this.#recycling.set(slot, timer)
  }

  /** Ends an idle worker that has left the pool; nobody waits for it, so a failure is only logged. */
  #end(slot: WorkerSlot): void {
    slot.terminate().catch((err: unknown) => {
      this.#logger?.debug({ err }, 'an idle sandbox worker did not end cleanly')
    })
  }

  /** Drops a dead worker (once, whoever notices first) and starts another. */
  #replace(slot: WorkerSlot): void {
    if (!this.#slots.delete(slot)) return
    const idle = this.#idle.indexOf(slot)
    if (idle >= 0) this.#idle.splice(idle, 1)
    this.counters.workerRestarts++
    this.#logger?.debug({ restarts: this.counters.workerRestarts }, 'sandbox worker replaced')
    if (!this.#stopped) this.#spawn()
  }

  #spawn(): WorkerSlot {
    const slot = new WorkerSlot({
      url: this.#url,
      data: { kithSandboxWorker: true, limits: { ...this.limits } },
      heap: { oldMb: this.#heapMb, youngMb: WORKER_YOUNG_GENERATION_MB },
      onDeath: (dead) => this.#replace(dead),
    })
    this.#slots.add(slot)
    slot.ready.then(
      (engineLoads) => {
        this.counters.engineLoads += engineLoads
        this.#release(slot)
      },
      (err: unknown) => {
        this.#slots.delete(slot)
        this.#logger?.error({ err }, 'sandbox worker did not start')
        // with no worker left to wait for, the waiting tasks fail as Sandbox.run() does on a load failure
        if (this.#slots.size === 0) for (const waiter of this.#waiters.splice(0)) waiter.fail(err)
      },
    )
    return slot
  }

  #count(result: SandboxResult): SandboxResult {
    return countResult(this.counters, result)
  }
}
