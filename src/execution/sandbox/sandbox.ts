/**
 * The sandbox of the execution plane: runs capability scripts in QuickJS-WASM with no ambient authority.
 * One per node. Each task gets a fresh QuickJS runtime and context on an engine it has to itself (see
 * engine.ts for why engines, not one module), a wall-clock deadline through the interrupt handler, QuickJS's
 * stack limit, size caps on input, output, host calls and logs, and only the host functions granted to it.
 * Nothing a script does makes `run()` throw; it resolves with the output or a named failure.
 */
import type { Logger } from '../../util/logger.ts'
import { DEFAULT_MAX_ENGINES, SANDBOX_DEFAULTS } from './constants.ts'
import { type Engine, loadEngine } from './engine.ts'
import { SandboxClosedError, SandboxConfigError } from './errors.ts'
import { checkGrantRoots, encodeInput, grantMap, resolveLimits } from './limits.ts'
import { EnginePool } from './pool.ts'
import { runTask } from './task.ts'
import type { SandboxCounters, SandboxFailure, SandboxJob, SandboxLimits, SandboxResult } from './types.ts'
import { abortedResult, countResult, newCounters } from './types.ts'

export interface SandboxInit {
  /** limits of every task unless its job says otherwise; `memoryBytes` also sizes the engines */
  limits?: Partial<SandboxLimits>
  /** tasks running at once, each with its own engine; default 4 */
  maxEngines?: number
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
  readonly #logger: Logger | undefined
  #pool: EnginePool
  #stopped = false

  constructor(init: SandboxInit = {}) {
    this.limits = Object.freeze(resolveLimits(SANDBOX_DEFAULTS, init.limits))
    const maxEngines = init.maxEngines ?? DEFAULT_MAX_ENGINES
    if (!Number.isSafeInteger(maxEngines) || maxEngines < 1)
      throw new SandboxConfigError(`maxEngines must be a positive integer, not ${maxEngines}`)
    this.#maxEngines = maxEngines
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
  }

  /**
   * Runs one task. Throws only for the caller's mistakes (`SandboxConfigError`: limits, grant names), a
   * stopped sandbox (`SandboxClosedError`) or an engine that cannot load (`SandboxLoadError`).
   */
  async run(job: SandboxJob): Promise<SandboxResult> {
    if (this.#stopped) throw new SandboxClosedError()
    const limits = resolveLimits(this.limits, job.limits, this.limits.memoryBytes)
    const grants = grantMap(job.grants)
    this.counters.tasks++
    const input = encodeInput(job.input, limits.maxInputBytes)
    if ('failure' in input) return this.#count({ ok: false, error: input.failure, cpuMs: 0 })
    if (job.signal?.aborted) return this.#count(abortedResult())

    let engine: Engine
    try {
      engine = await this.#pool.acquire(job.signal)
    } catch (err) {
      if (job.signal?.aborted) return this.#count(abortedResult())
      this.counters.tasks--
      throw err
    }
    let healthy = false
    try {
      checkGrantRoots(grants.keys(), engine.globals)
      const outcome = await runTask(engine, {
        source: job.source,
        filename: job.filename ?? 'script.js',
        inputJson: input.json,
        grants,
        deterministic: job.deterministic === true,
        seed: job.seed ?? 0,
        now: job.now ?? 0,
        limits,
        ...(job.signal !== undefined ? { signal: job.signal } : {}),
      })
      healthy = outcome.healthy
      this.counters.hostCalls += outcome.hostCalls
      if (!healthy) this.#discarded(outcome.result)
      return this.#count(outcome.result)
    } catch (err) {
      healthy = err instanceof SandboxConfigError
      if (healthy) this.counters.tasks--
      throw err
    } finally {
      if (healthy) this.#pool.release(engine)
      else this.#pool.discard(engine)
    }
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

  #discarded(result: SandboxResult): void {
    this.counters.engineDiscards++
    const why: SandboxFailure | undefined = result.ok ? undefined : result.error
    this.#logger?.debug({ code: why?.code ?? 'memory_grown' }, 'sandbox engine dropped')
  }

  #count(result: SandboxResult): SandboxResult {
    return countResult(this.counters, result)
  }
}
