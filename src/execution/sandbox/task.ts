/**
 * One task on one engine: a fresh runtime and context, the prelude, the script, `run(input)`, its promise
 * driven to the end, the output serialised inside the VM and size-checked before the host parses it.
 *
 * After a clean ending (an output, or a script error QuickJS handled normally) every handle, the context and
 * the runtime are disposed, and the engine is reused. After anything else (timeout, abort, memory, stack, a
 * host exception) nothing is disposed and the whole engine is dropped, its memory freed by the GC. The
 * reason is upstream: disposing a runtime stopped inside a promise job, by running out of memory or by the
 * interrupt handler, trips QuickJS's `list_empty(&rt->gc_obj_list)` assertion in `JS_FreeRuntime`
 * (quickjs-emscripten issue 257: an Emscripten abort thrown as a RuntimeError, plus an `Aborted(…)` line the
 * module's glue writes to stderr by itself); and after Node's own stack overflowed inside the interpreter
 * the module's shadow stack pointer is left where the overflow was (issue 60). A disposal that throws, or
 * an engine whose memory grew past its initial size, also drops the engine: loading one takes about 10 ms.
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
import { JOB_BATCH } from './constants.ts'
import { DETERMINISM_SOURCE } from './determinism.ts'
import type { Engine } from './engine.ts'
import { HostBridge } from './host-calls.ts'
import { PRELUDE_SOURCE, type PreludeConfig } from './prelude.ts'
import type {
  HostFunction,
  JsonValue,
  SandboxErrorCode,
  SandboxFailure,
  SandboxLimits,
  SandboxResult,
} from './types.ts'

/** Failures that leave QuickJS in a normal state; after any other, the runtime is not disposed. */
const CLEAN_FAILURES: ReadonlySet<SandboxErrorCode> = new Set([
  'thrown',
  'bad_script',
  'bad_output',
  'output_too_large',
])

/** A job after validation: limits resolved, input already JSON text of an accepted size. */
export interface TaskSpec {
  source: string
  filename: string
  inputJson: string
  grants: ReadonlyMap<string, HostFunction>
  deterministic: boolean
  seed: number
  now: number
  limits: SandboxLimits
  signal?: AbortSignal
}

export interface TaskOutcome {
  result: SandboxResult
  /** false: drop the engine */
  healthy: boolean
  hostCalls: number
}

class Task {
  readonly #engine: Engine
  readonly #spec: TaskSpec
  readonly #deadline: number
  readonly #handles: QuickJSHandle[] = []
  #runtime: QuickJSRuntime | undefined
  #context: QuickJSContext | undefined
  #bridge: HostBridge | undefined
  #interrupted: InterruptReason | undefined
  #cpuMs = 0

  constructor(engine: Engine, spec: TaskSpec) {
    this.#engine = engine
    this.#spec = spec
    this.#deadline = performance.now() + spec.limits.timeoutMs
  }

  async run(): Promise<TaskOutcome> {
    let healthy = true
    let outcome: { output: JsonValue } | { failure: SandboxFailure }
    try {
      outcome = { output: await this.#execute() }
    } catch (err) {
      if (err instanceof TaskFailed) outcome = { failure: err.failure }
      else {
        healthy = false
        outcome = { failure: hostFailure(err) }
      }
    }
    const dispose = healthy && ('output' in outcome || CLEAN_FAILURES.has(outcome.failure.code))
    healthy = this.#release(dispose) && dispose
    if (this.#engine.memory.buffer.byteLength > this.#engine.initialBytes) healthy = false
    const logs = this.#bridge !== undefined && this.#bridge.logs.length > 0 ? { logs: this.#bridge.logs } : {}
    const cpuMs = this.#cpuMs
    const result: SandboxResult =
      'output' in outcome
        ? { ok: true, output: outcome.output, cpuMs, ...logs }
        : { ok: false, error: outcome.failure, cpuMs, ...logs }
    return { result, healthy, hostCalls: this.#bridge?.calls ?? 0 }
  }

  /** The interrupt handler, also asked by the host between steps. */
  #stop(): InterruptReason | undefined {
    if (this.#interrupted === undefined) {
      if (this.#spec.signal?.aborted) this.#interrupted = 'aborted'
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
    const grown = this.#engine.memory.buffer.byteLength > this.#engine.initialBytes
    throw new TaskFailed(failureOf(error, stage, this.#stop(), grown))
  }

  async #execute(): Promise<JsonValue> {
    const { limits, grants } = this.#spec
    const runtime = (this.#runtime = this.#engine.module.newRuntime())
    runtime.setMemoryLimit(limits.memoryBytes)
    runtime.setMaxStackSize(limits.stackBytes)
    runtime.setInterruptHandler(() => this.#stop() !== undefined)
    const context = (this.#context = runtime.newContext())
    const bridge = (this.#bridge = new HostBridge({
      context,
      grants,
      maxCallBytes: limits.maxHostCallBytes,
      maxLogBytes: limits.maxLogBytes,
    }))

    const config: PreludeConfig = { grants: [...grants.keys()], maxLine: limits.maxLogBytes }
    const setup = this.#vm('setup', () => context.evalCode(PRELUDE_SOURCE, 'kith:prelude'))
    const args = [context.newString(JSON.stringify(config)), bridge.newCall(), bridge.newLog()].map((h) =>
      this.#keep(h),
    )
    const entry = this.#vm('setup', () => context.callFunction(setup, context.undefined, args))
    const check = this.#keep(context.getProp(entry, 'kind'))
    const start = this.#keep(context.getProp(entry, 'start'))
    const finish = this.#keep(context.getProp(entry, 'finish'))
    if (this.#spec.deterministic) {
      const patch = this.#vm('setup', () => context.evalCode(DETERMINISM_SOURCE, 'kith:determinism'))
      const clock = [context.newNumber(this.#spec.now), context.newNumber(this.#spec.seed)].map((h) =>
        this.#keep(h),
      )
      this.#vm('setup', () => context.callFunction(patch, context.undefined, clock))
    }

    this.#vm('script', () => context.evalCode(this.#spec.source, this.#spec.filename, { type: 'global' }))
    const kind = this.#vm('script', () => context.callFunction(check, context.undefined))
    if (context.getString(kind) !== 'function')
      throw new TaskFailed({
        code: 'bad_script',
        message: 'the script defines no global function run(input)',
      })

    const input = this.#keep(context.newString(this.#spec.inputJson))
    const returned = this.#vm('run', () => context.callFunction(start, context.undefined, input))
    const state = context.getPromiseState(returned)
    const value = state.type === 'fulfilled' && state.notAPromise ? returned : await this.#settle(returned)

    const text = readText(
      context,
      this.#vm('output', () => context.callFunction(finish, context.undefined, value)),
      limits.maxOutputBytes,
    )
    if (text === undefined || Buffer.byteLength(text) > limits.maxOutputBytes)
      throw new TaskFailed({
        code: 'output_too_large',
        message: `the output is larger than ${limits.maxOutputBytes} bytes`,
      })
    return JSON.parse(text) as JsonValue
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
      if (bridge.pending === 0)
        throw new TaskFailed({
          code: 'bad_output',
          message: 'run() returned a promise that can never settle',
        })
      await bridge.progress(this.#deadline, this.#spec.signal)
    }
  }

  /** Frees everything the task holds, when `dispose`; false if the engine is not to be reused. */
  #release(dispose: boolean): boolean {
    this.#bridge?.close(dispose)
    if (!dispose) return false
    try {
      for (const handle of this.#handles.reverse()) if (handle.alive) handle.dispose()
      this.#context?.dispose()
      this.#runtime?.dispose()
      return true
    } catch {
      return false
    }
  }
}

/**
 * Runs one task on `engine`; never throws for anything the script does.
 *
 * @example
 * const { result, healthy } = await runTask(engine, spec)
 * if (!healthy) pool.discard(engine)
 */
export function runTask(engine: Engine, spec: TaskSpec): Promise<TaskOutcome> {
  return new Task(engine, spec).run()
}
