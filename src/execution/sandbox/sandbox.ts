/**
 * The sandbox of the execution plane: runs capability scripts in QuickJS-WASM with no ambient authority.
 * One per node. Each task gets a fresh QuickJS runtime and context on an engine it has to itself (see
 * engine.ts for why engines, not one module), a wall-clock deadline through the interrupt handler, QuickJS's
 * stack limit, size caps on input, output, host calls and logs, and only the host functions granted to it.
 * Nothing a script does makes `run()` throw; it resolves with the output or a named failure.
 *
 * Off the critical path: once a task has its result, its runtime is disposed and, after an `ok`, a fresh
 * context for the same setup is prepared on the same engine (task.ts, `prewarm`), so that the next task
 * of that script starts at `run(input)`. Each prepared context serves one task only.
 */
import type { Logger } from '../../util/logger.ts'
import { DEFAULT_MAX_ENGINES, PREWARM_MAX_MS, SANDBOX_DEFAULTS } from './constants.ts'
import { type Engine, loadEngine } from './engine.ts'
import { SandboxClosedError, SandboxConfigError } from './errors.ts'
import { checkGrantRoots, encodeInput, grantMap, resolveLimits } from './limits.ts'
import { EnginePool } from './pool.ts'
import { sameSetup, Task, type TaskOutcome, type TaskSetup } from './task.ts'
import type {
  EncodedResult,
  SandboxCounters,
  SandboxFailure,
  SandboxJob,
  SandboxLimits,
  SandboxResult,
} from './types.ts'
import { abortedResult, countResult, decodeResult, newCounters } from './types.ts'

/** Setups remembered as not worth preparing ahead. */
const MAX_COLD_SETUPS = 32

export interface SandboxInit {
  /** limits of every task unless its job says otherwise; `memoryBytes` also sizes the engines */
  limits?: Partial<SandboxLimits>
  /** tasks running at once, each with its own engine; default 4 */
  maxEngines?: number
  /** prepare a context for the next task of a script after each `ok` one; default true */
  prewarm?: boolean
  logger?: Logger
}

/**
 * @example
 * const sandbox = new Sandbox()
 * const result = await sandbox.run({
 *   source: 'function run(input) { return { sum: input.a + input.b } }',
 *   input: { a: 2, b: 3 },
 * })
 * // result: { ok: true, output: { sum: 5 }, cpuMs: 0.3 }
 * await sandbox.stop()
 */
export class Sandbox {
  readonly counters: SandboxCounters = newCounters()
  readonly limits: Readonly<SandboxLimits>
  readonly #maxEngines: number
  readonly #prewarm: boolean
  readonly #logger: Logger | undefined
  /** the context prepared on an idle engine for its next task */
  readonly #warm = new Map<Engine, Task>()
  /** engines whose task has ended, and what is left to do before they are idle (see `#afterTask`) */
  readonly #finishing = new Map<Engine, () => void>()
  readonly #cold: TaskSetup[] = []
  #pool: EnginePool
  #stopped = false

  constructor(init: SandboxInit = {}) {
    this.limits = Object.freeze(resolveLimits(SANDBOX_DEFAULTS, init.limits))
    const maxEngines = init.maxEngines ?? DEFAULT_MAX_ENGINES
    if (!Number.isSafeInteger(maxEngines) || maxEngines < 1)
      throw new SandboxConfigError(`maxEngines must be a positive integer, not ${maxEngines}`)
    this.#maxEngines = maxEngines
    this.#prewarm = init.prewarm ?? true
    this.#logger = init.logger
    this.#pool = this.#newPool()
  }

  /** engines loaded now (idle or busy) */
  get engines(): number {
    return this.#pool.size
  }

  /** Loads the first engine now, so that a broken installation fails at boot and not at the first task. */
  async start(): Promise<void> {
    if (this.#stopped) {
      this.#pool = this.#newPool()
      this.#stopped = false
    }
    this.#pool.release(await this.#pool.acquire())
  }

  /** Refuses new tasks and drops idle engines; tasks already running finish. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#pool.close()
    this.#warm.clear()
  }

  /**
   * Runs one task. Throws only for the caller's mistakes (`SandboxConfigError`: limits, grant names), a
   * stopped sandbox (`SandboxClosedError`) or an engine that cannot load (`SandboxLoadError`).
   */
  async run(job: SandboxJob): Promise<SandboxResult> {
    return decodeResult(await this.#run(job))
  }

  /**
   * `run()` for a WorkerSandbox's worker: the input comes already encoded and checked by the main thread
   * (it replaces `job.input`), and the output stays JSON text, for the main thread to parse.
   *
   * @example
   * const result = await sandbox.runEncoded({ source: 'function run(n) { return [n] }' }, '1')
   * // result: { ok: true, outputJson: '[1]', cpuMs: 0.2 }
   */
  runEncoded(job: SandboxJob, inputJson: string): Promise<EncodedResult> {
    return this.#run(job, inputJson)
  }

  async #run(job: SandboxJob, inputJson?: string): Promise<EncodedResult> {
    if (this.#stopped) throw new SandboxClosedError()
    const limits = resolveLimits(this.limits, job.limits, this.limits.memoryBytes)
    const grants = grantMap(job.grants)
    this.counters.tasks++
    const input = inputJson !== undefined ? { json: inputJson } : encodeInput(job.input, limits.maxInputBytes)
    if ('failure' in input) return this.#count({ ok: false, error: input.failure, cpuMs: 0 })
    if (job.signal?.aborted) return this.#count(abortedResult())
    // with no engine idle, an engine whose last task just ended is finished now rather than at the next turn
    if (!this.#pool.hasIdle) this.#finishing.values().next().value?.()

    let engine: Engine
    try {
      engine = await this.#pool.acquire(job.signal)
    } catch (err) {
      if (job.signal?.aborted) return this.#count(abortedResult())
      this.counters.tasks--
      throw err
    }
    const setup: TaskSetup = {
      source: job.source,
      filename: job.filename ?? 'script.js',
      grantNames: [...grants.keys()],
      deterministic: job.deterministic === true,
      seed: job.seed ?? 0,
      now: job.now ?? 0,
      limits,
    }
    const warm = this.#warm.get(engine)
    this.#warm.delete(engine)
    const reuse = warm !== undefined && sameSetup(warm.setup, setup)
    // a prepared context of another setup is freed after this task, off its critical path
    const stale = reuse ? undefined : warm
    let outcome: TaskOutcome
    try {
      checkGrantRoots(grants.keys(), engine.globals)
      const task = reuse ? warm : new Task(engine, setup)
      outcome = await task.run({
        inputJson: input.json,
        grants,
        ...(job.signal !== undefined ? { signal: job.signal } : {}),
      })
    } catch (err) {
      // only the caller's mistakes get here (SandboxConfigError); anything else is the engine's
      if (err instanceof SandboxConfigError) {
        this.counters.tasks--
        this.#afterTask(engine, { setup, ok: false, frees: [warm] })
      } else this.#pool.discard(engine)
      throw err
    }
    if (reuse) this.counters.prewarmed++
    this.counters.hostCalls += outcome.hostCalls
    if (!outcome.healthy) {
      this.#discarded(outcome.result)
      this.#pool.discard(engine)
    } else {
      const after = { setup, ok: outcome.result.ok, frees: [outcome.dispose, stale] }
      this.#pool.finishing(engine)
      const finish = () => {
        if (this.#finishing.get(engine) !== finish) return
        this.#finishing.delete(engine)
        this.#afterTask(engine, after)
      }
      this.#finishing.set(engine, finish)
      setImmediate(finish)
    }
    return this.#count(outcome.result)
  }

  /**
   * After a task on a healthy engine: frees what it held, prepares the next context when the task ended
   * `ok`, and gives the engine back (or drops it if any of that failed).
   */
  #afterTask(
    engine: Engine,
    after: { setup: TaskSetup; ok: boolean; frees: ((() => boolean) | Task | undefined)[] },
  ): void {
    let healthy = true
    for (const free of after.frees)
      if (free !== undefined) healthy = (typeof free === 'function' ? free() : free.discard()) && healthy
    if (healthy && after.ok && this.#prewarm && !this.#stopped && !this.#isCold(after.setup)) {
      const warm = Task.prewarm(engine, after.setup, PREWARM_MAX_MS)
      if ('task' in warm) this.#warm.set(engine, warm.task)
      else {
        this.#cold.push(after.setup)
        if (this.#cold.length > MAX_COLD_SETUPS) this.#cold.shift()
        if ('dropEngine' in warm) healthy = false
      }
    }
    if (healthy) return this.#pool.release(engine)
    this.counters.engineDiscards++
    this.#logger?.debug({ code: 'dispose' }, 'sandbox engine dropped')
    this.#pool.discard(engine)
  }

  #isCold(setup: TaskSetup): boolean {
    return this.#cold.some((cold) => sameSetup(cold, setup))
  }

  #newPool(): EnginePool {
    return new EnginePool({
      maxEngines: this.#maxEngines,
      load: async () => {
        const engine = await loadEngine(this.limits.memoryBytes, (line) =>
          this.#logger?.warn({ line }, 'QuickJS engine output'),
        )
        this.counters.engineLoads++
        return engine
      },
    })
  }

  #discarded(result: EncodedResult): void {
    this.counters.engineDiscards++
    const why: SandboxFailure | undefined = result.ok ? undefined : result.error
    this.#logger?.debug({ code: why?.code ?? 'memory_grown' }, 'sandbox engine dropped')
  }

  #count(result: EncodedResult): EncodedResult {
    return countResult(this.counters, result)
  }
}
