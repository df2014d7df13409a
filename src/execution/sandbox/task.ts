/**
 * One task on one engine: a fresh runtime and context, the prelude, the script, `run(input)`, its promise
 * driven to the end, the output serialised inside the VM and size- and depth-checked; the result carries it
 * as that JSON text, which the sandbox parses (in a worker's case, the main thread does).
 *
 * The part before the input (runtime, context, prelude, the script's own evaluation) depends only on the
 * task's setup, so it can be done ahead (`prewarm`): a context is prepared off the critical path for the
 * next task of the same setup, used by that one task and disposed after it, so tasks stay isolated. A
 * script whose evaluation calls a host function, fails, or outruns `PREWARM_MAX_MS` is not prepared ahead.
 *
 * After a clean ending (an output, or a script error QuickJS handled normally) every handle, the context and
 * the runtime are disposed (by `dispose()`, which the sandbox calls once the result is on its way), and the
 * engine is reused. After anything else (timeout, abort, memory, stack, a
 * host exception) nothing is disposed and the whole engine is dropped, its memory freed by the GC. The
 * reason is upstream: disposing a runtime stopped inside a promise job, by running out of memory or by the
 * interrupt handler, trips QuickJS's `list_empty(&rt->gc_obj_list)` assertion in `JS_FreeRuntime`
 * (quickjs-emscripten issue 257: an Emscripten abort thrown as a RuntimeError, plus an `Aborted(…)` line the
 * module's glue writes to stderr by itself); and after Node's own stack overflowed inside the interpreter
 * the module's shadow stack pointer is left where the overflow was (issue 60). A disposal that throws, an
 * engine whose memory grew past its initial size, or one whose allocator was refused memory at any point
 * (even if the script caught the error and ended well), also drops the engine: QuickJS's paths for a failed
 * allocation are not all safe (upstream use-after-free bugs in building an error's backtrace, as in
 * quickjs-ng issue 1469), so a heap that went through one is not trusted again. Loading an engine takes about 10 ms.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, VmCallResult } from 'quickjs-emscripten-core'
import {
  failureOf,
  hostFailure,
  interruption,
  type InterruptReason,
  readText,
  readVmError,
  type Stage,
  TaskFailed,
} from './classify.ts'
import { JOB_BATCH, MAX_JSON_DEPTH } from './constants.ts'
import { DETERMINISM_SOURCE } from './determinism.ts'
import type { Engine } from './engine.ts'
import { HostBridge } from './host-calls.ts'
import { jsonDepth } from './limits.ts'
import { Prelude, PreludeFailed } from './prelude.ts'
import type { EncodedResult, HostFunction, SandboxErrorCode, SandboxFailure, SandboxLimits } from './types.ts'

/** Failures that leave QuickJS in a normal state; after any other, the runtime is not disposed. */
const CLEAN_FAILURES: ReadonlySet<SandboxErrorCode> = new Set([
  'thrown',
  'bad_script',
  'bad_output',
  'output_too_large',
])

/** Everything about a task but its input: two tasks of equal setups can use each other's prepared context. */
export interface TaskSetup {
  source: string
  filename: string
  /** names of the granted host functions */
  grantNames: readonly string[]
  deterministic: boolean
  seed: number
  now: number
  limits: SandboxLimits
}

/** What a task gets when it starts: input already JSON text of an accepted size. */
export interface TaskStart {
  inputJson: string
  grants: ReadonlyMap<string, HostFunction>
  signal?: AbortSignal
}

export interface TaskOutcome {
  result: EncodedResult
  /** false: drop the engine */
  healthy: boolean
  hostCalls: number
  /**
   * For a healthy outcome: frees the runtime and everything in it; false if that failed (drop the engine
   * then). Separate so that it can run after the result is on its way.
   */
  dispose?: () => boolean
}

/** How a context prepared ahead ended up. */
export type Prewarmed =
  | { task: Task }
  /** the setup cannot be prepared ahead (host call, failure or slow evaluation); the engine is fine */
  | { cold: true }
  /** as `cold`, and the engine must be dropped */
  | { cold: true; dropEngine: true }

/**
 * True when `a` and `b` would build the same context.
 *
 * @example
 * sameSetup(setup, { ...setup }) // true
 */
export function sameSetup(a: TaskSetup, b: TaskSetup): boolean {
  if (
    a.source !== b.source ||
    a.filename !== b.filename ||
    a.deterministic !== b.deterministic ||
    a.seed !== b.seed ||
    a.now !== b.now ||
    a.grantNames.length !== b.grantNames.length
  )
    return false
  for (let i = 0; i < a.grantNames.length; i++) if (a.grantNames[i] !== b.grantNames[i]) return false
  for (const key in a.limits)
    if (a.limits[key as keyof SandboxLimits] !== b.limits[key as keyof SandboxLimits]) return false
  return true
}

export class Task {
  readonly #engine: Engine
  readonly #setup: TaskSetup
  readonly #handles: QuickJSHandle[] = []
  #deadline: number
  #signal: AbortSignal | undefined
  #runtime: QuickJSRuntime | undefined
  #context: QuickJSContext | undefined
  #bridge: HostBridge | undefined
  #prelude: Prelude | undefined
  #prepared = false
  #used = false
  #interrupted: InterruptReason | undefined
  #cpuMs = 0

  constructor(engine: Engine, setup: TaskSetup, timeoutMs = setup.limits.timeoutMs) {
    this.#engine = engine
    this.#setup = setup
    this.#deadline = performance.now() + timeoutMs
  }

  get setup(): TaskSetup {
    return this.#setup
  }

  /**
   * Prepares a context for the next task of `setup` on `engine`, allowing `maxMs` for it.
   *
   * @example
   * const warm = Task.prewarm(engine, setup, 50)
   * if ('task' in warm) outcome = await warm.task.run({ inputJson, grants })
   */
  static prewarm(engine: Engine, setup: TaskSetup, maxMs: number): Prewarmed {
    const task = new Task(engine, setup, Math.min(maxMs, setup.limits.timeoutMs))
    let clean = true
    try {
      task.#prepare()
      if (!task.#bridge!.touchedUnbound && task.#bridge!.failure === undefined && !task.#starved())
        return { task }
    } catch (err) {
      clean = err instanceof TaskFailed && CLEAN_FAILURES.has(err.failure.code)
    }
    task.#bridge?.close()
    if (clean && task.#bridge?.failure === undefined && !task.#shortOfMemory() && task.#free())
      return { cold: true }
    return { cold: true, dropEngine: true }
  }

  /** Runs the task once: on its prepared context, or preparing one first. */
  async run(start: TaskStart): Promise<TaskOutcome> {
    if (this.#used) throw new Error('a sandbox task runs once')
    this.#used = true
    this.#deadline = performance.now() + this.#setup.limits.timeoutMs
    this.#signal = start.signal
    let healthy = true
    let outcome: { outputJson: string } | { failure: SandboxFailure }
    try {
      if (!this.#prepared) this.#prepare(start.grants)
      else this.#bridge!.bind(start.grants)
      outcome = { outputJson: await this.#execute(start.inputJson) }
    } catch (err) {
      if (err instanceof TaskFailed) outcome = { failure: err.failure }
      else {
        healthy = false
        outcome = { failure: hostFailure(err, this.#starved()) }
      }
    }
    // an engine failure inside a host callback reached the script as an error it may have caught: the
    // task's own ending does not count then
    const fault = this.#bridge?.failure
    if (healthy && fault !== undefined) {
      healthy = false
      outcome = { failure: hostFailure(fault, this.#starved()) }
    }
    this.#bridge?.close()
    if (!healthy || ('failure' in outcome && !CLEAN_FAILURES.has(outcome.failure.code))) healthy = false
    if (this.#shortOfMemory()) healthy = false
    const logs = this.#bridge !== undefined && this.#bridge.logs.length > 0 ? { logs: this.#bridge.logs } : {}
    const cpuMs = this.#cpuMs
    const result: EncodedResult =
      'outputJson' in outcome
        ? { ok: true, outputJson: outcome.outputJson, cpuMs, ...logs }
        : { ok: false, error: outcome.failure, cpuMs, ...logs }
    const hostCalls = this.#bridge?.calls ?? 0
    // after anything unclean nothing is disposed: the whole engine is dropped (see the top of this file)
    return healthy
      ? { result, healthy, hostCalls, dispose: () => this.#free() }
      : { result, healthy, hostCalls }
  }

  /** Frees a prepared task that will not run; false if the engine is not to be reused. */
  discard(): boolean {
    this.#used = true
    this.#bridge?.close()
    return this.#free()
  }

  /**
   * True once the engine's allocator has been refused memory. An engine is dropped after the task in which
   * that first happens, so it happened in this task (or in preparing its context).
   */
  #starved(): boolean {
    return this.#engine.memoryRefusals > 0
  }

  /** Refused memory, or grown past its initial size: either way the engine is not reused. */
  #shortOfMemory(): boolean {
    return this.#starved() || this.#engine.memory.buffer.byteLength > this.#engine.initialBytes
  }

  /** The interrupt handler, also asked by the host between steps. */
  #stop(): InterruptReason | undefined {
    if (this.#interrupted === undefined) {
      if (this.#signal?.aborted) this.#interrupted = 'aborted'
      else if (performance.now() > this.#deadline) this.#interrupted = 'timeout'
    }
    return this.#interrupted
  }

  #keep(handle: QuickJSHandle): QuickJSHandle {
    this.#handles.push(handle)
    return handle
  }

  /** Runs a step inside the VM, timing it, and unwraps its result or fails the task with its error. */
  #vm(stage: Stage, step: () => VmCallResult<QuickJSHandle>): QuickJSHandle {
    const started = performance.now()
    let result: VmCallResult<QuickJSHandle>
    try {
      result = step()
    } finally {
      this.#cpuMs += performance.now() - started
    }
    if ('error' in result && result.error !== undefined) this.#fail(stage, result.error)
    return this.#keep(result.value as QuickJSHandle)
  }

  #fail(stage: Stage, errorHandle: QuickJSHandle): never {
    const error = readVmError(this.#context!, errorHandle)
    errorHandle.dispose()
    throw new TaskFailed(failureOf(error, stage, this.#stop(), this.#shortOfMemory()))
  }

  /** Runtime, context, prelude and the script's evaluation: everything before the input. */
  #prepare(grants?: ReadonlyMap<string, HostFunction>): void {
    const { limits, grantNames } = this.#setup
    const runtime = (this.#runtime = this.#engine.module.newRuntime())
    runtime.setMemoryLimit(limits.memoryBytes)
    runtime.setMaxStackSize(limits.stackBytes)
    runtime.setInterruptHandler(() => this.#stop() !== undefined)
    const context = (this.#context = runtime.newContext())
    this.#bridge = new HostBridge({
      context,
      ...(grants !== undefined ? { grants } : {}),
      maxCallBytes: limits.maxHostCallBytes,
      maxLogBytes: limits.maxLogBytes,
      decode: (text) => this.#prelude!.decode(text),
    })
    const started = performance.now()
    try {
      this.#prelude = new Prelude(
        context,
        this.#bridge,
        { grants: grantNames, maxLine: limits.maxLogBytes, maxCallBytes: limits.maxHostCallBytes },
        (handle) => this.#keep(handle),
      )
    } catch (err) {
      if (err instanceof PreludeFailed) this.#fail('setup', err.error)
      throw err
    } finally {
      this.#cpuMs += performance.now() - started
    }
    if (this.#setup.deterministic) {
      const patch = this.#vm('setup', () => context.evalCode(DETERMINISM_SOURCE, 'kith:determinism'))
      const clock = [context.newNumber(this.#setup.now), context.newNumber(this.#setup.seed)].map((h) =>
        this.#keep(h),
      )
      this.#vm('setup', () => context.callFunction(patch, context.undefined, clock))
    }

    this.#vm('script', () => context.evalCode(this.#setup.source, this.#setup.filename, { type: 'global' }))
    const kind = this.#prelude.kind()
    if ('error' in kind) this.#fail('script', kind.error)
    if (kind.value !== 'function')
      throw new TaskFailed({
        code: 'bad_script',
        message: 'the script defines no global function run(input)',
      })
    this.#prepared = true
  }

  /** `run(input)` to its end; the output's JSON text. */
  async #execute(inputJson: string): Promise<string> {
    const { limits } = this.#setup
    const context = this.#context!
    const prelude = this.#prelude!
    const returned = this.#vm('run', () => prelude.start(inputJson))
    const state = context.getPromiseState(returned)
    const value = state.type === 'fulfilled' && state.notAPromise ? returned : await this.#settle(returned)

    const text = readText(
      context,
      this.#vm('output', () => prelude.finish(value)),
      limits.maxOutputBytes,
    )
    if (text === undefined || Buffer.byteLength(text) > limits.maxOutputBytes)
      throw new TaskFailed({
        code: 'output_too_large',
        message: `the output is larger than ${limits.maxOutputBytes} bytes`,
      })
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      throw new TaskFailed({
        code: 'bad_output',
        message: `the output is nested deeper than ${MAX_JSON_DEPTH} levels`,
      })
    return text
  }

  /** Runs pending jobs in batches, waiting for host calls when only they can move, until `promise` settles. */
  async #settle(promise: QuickJSHandle): Promise<QuickJSHandle> {
    const runtime = this.#runtime!
    const context = this.#context!
    const bridge = this.#bridge!
    for (;;) {
      const reason = this.#stop()
      if (reason !== undefined) throw new TaskFailed(interruption(reason))
      const started = performance.now()
      const jobs = runtime.executePendingJobs(JOB_BATCH)
      this.#cpuMs += performance.now() - started
      if (jobs.error !== undefined) this.#fail('run', jobs.error)
      if (bridge.failure !== undefined) throw bridge.failure
      const state = context.getPromiseState(promise)
      if (state.type === 'fulfilled') return this.#keep(state.value)
      if (state.type === 'rejected') this.#fail('run', state.error)
      if (runtime.hasPendingJob()) continue
      // the interrupt can end a job without an error reaching here, and the job it ended took the
      // promise's next step with it: out of time, that is the deadline's doing, not the script's
      const stopped = this.#stop()
      if (stopped !== undefined) throw new TaskFailed(interruption(stopped))
      if (bridge.pending === 0)
        throw new TaskFailed({
          code: 'bad_output',
          message: 'run() returned a promise that can never settle',
        })
      await bridge.progress(this.#deadline, this.#signal)
    }
  }

  /** Frees everything the task holds; false if that failed and the engine is not to be reused. */
  #free(): boolean {
    try {
      this.#bridge?.releasePending()
      for (const handle of this.#handles.reverse()) if (handle.alive) handle.dispose()
      this.#handles.length = 0
      this.#context?.dispose()
      this.#runtime?.dispose()
      this.#context = undefined
      this.#runtime = undefined
      return true
    } catch {
      return false
    }
  }
}
