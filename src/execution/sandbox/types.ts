/**
 * The sandbox's public shapes: a job (a script, its JSON input, the host functions it is granted, its
 * limits) and the result (the JSON output, or one named failure). Scripts follow the capability contract:
 * the source defines a global `function run(input)` whose return value, or resolved promise, is the output.
 */

/** A value that survives `JSON.stringify` then `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** What a task may use; any field a job leaves out comes from the sandbox, then from `SANDBOX_DEFAULTS`. */
export interface SandboxLimits {
  /**
   * The task's heap. What holds is the cap of the engine's WebAssembly memory, sized from the sandbox's
   * value (engine.ts); a job may ask for less, which QuickJS's own limit enforces only roughly (in this
   * build it counts allocations, not their bytes), or not for more.
   */
  memoryBytes: number
  /** QuickJS's stack limit; at most `MAX_STACK_BYTES` */
  stackBytes: number
  /** wall-clock deadline of the whole task, host calls included */
  timeoutMs: number
  /** the input as JSON text, UTF-8 */
  maxInputBytes: number
  /** the output as JSON text, UTF-8 */
  maxOutputBytes: number
  /** one host call's arguments, and its result, as JSON text */
  maxHostCallBytes: number
  /** everything the script writes with `console.*`, kept for the result */
  maxLogBytes: number
}

/** Options a host function receives with each call. */
export interface HostCallOptions {
  /** aborted when the task ends, whatever the reason: stop any work started for it */
  signal: AbortSignal
}

/**
 * A capability granted to a script, e.g. `device.read`. It receives the call's arguments as JSON values and
 * returns a JSON value (or `undefined`), or a promise of one; the script sees the same: a value, or a
 * promise it can `await`. A throw or rejection reaches the script as an `Error` named `HostError`.
 *
 * @example
 * const read: HostFunction = async ([topic], { signal }) => sensors.read(String(topic), { signal })
 */
export type HostFunction = (args: JsonValue[], options: HostCallOptions) => unknown

export interface SandboxJob {
  /** defines a global `function run(input)` */
  source: string
  /** any JSON value; `undefined` is passed as `null` */
  input?: unknown
  /** host functions by dotted name (`device.read`); only these exist inside the VM */
  grants?: Readonly<Record<string, HostFunction>>
  /** a fixed clock (`now`), a seeded `Math.random` (`seed`), dates in UTC, no WeakRef/FinalizationRegistry */
  deterministic?: boolean
  /** seed of `Math.random` in deterministic mode; default 0 */
  seed?: number
  /** what `Date.now()` and `new Date()` give in deterministic mode (ms since the epoch); default 0 */
  now?: number
  limits?: Partial<SandboxLimits>
  /** ends the task early with `aborted`, also while it waits for an engine */
  signal?: AbortSignal
  /** shown in the script's stack traces; default `script.js` */
  filename?: string
}

export type SandboxErrorCode =
  | 'timeout'
  | 'memory'
  | 'stack'
  | 'thrown'
  | 'output_too_large'
  | 'input_too_large'
  | 'bad_input'
  | 'bad_script'
  | 'bad_output'
  | 'aborted'
  | 'internal'

export interface SandboxFailure {
  code: SandboxErrorCode
  message: string
}

/** How one task ended. `cpuMs` is the time spent executing inside the VM, not waiting for host calls. */
export type SandboxResult =
  | { ok: true; output: JsonValue; cpuMs: number; logs?: string[] }
  | { ok: false; error: SandboxFailure; cpuMs: number; logs?: string[] }

/**
 * A result whose output is still the JSON text the VM made (size- and depth-checked): what a task produces,
 * and what a sandbox worker posts to the main thread, which parses it there (see {@link decodeResult}).
 */
export type EncodedResult =
  | { ok: true; outputJson: string; cpuMs: number; logs?: string[] }
  | { ok: false; error: SandboxFailure; cpuMs: number; logs?: string[] }

/**
 * The result with its output parsed. `JSON.parse` in V8 is iterative, so no nesting makes it overflow.
 *
 * @example
 * decodeResult({ ok: true, outputJson: '{"sum":5}', cpuMs: 0.3 }) // { ok: true, output: { sum: 5 }, cpuMs: 0.3 }
 */
export function decodeResult(encoded: EncodedResult): SandboxResult {
  if (!encoded.ok) return encoded
  const { outputJson, ...rest } = encoded
  try {
    return { ...rest, output: JSON.parse(outputJson) as JsonValue }
  } catch (err) {
    const { cpuMs, logs } = rest
    const message = `the output is not JSON: ${(err as Error).message}`
    return {
      ok: false,
      error: { code: 'bad_output', message },
      cpuMs,
      ...(logs !== undefined ? { logs } : {}),
    }
  }
}

export interface SandboxCounters {
  tasks: number
  ok: number
  failed: Record<SandboxErrorCode, number>
  /** host function calls made by scripts */
  hostCalls: number
  /** engines (WebAssembly module instances) loaded, the first one included */
  engineLoads: number
  /**
   * engines dropped after a memory, stack or internal failure, a failed disposal, grown memory, or an
   * allocation refused at the memory's cap (even in a task that caught the error and ended well)
   */
  engineDiscards: number
  /** tasks that ran on a context prepared ahead for them */
  prewarmed: number
}

/** Zeroed counters, one per failure code. */
export function newCounters(): SandboxCounters {
  const codes: SandboxErrorCode[] = [
    'timeout',
    'memory',
    'stack',
    'thrown',
    'output_too_large',
    'input_too_large',
    'bad_input',
    'bad_script',
    'bad_output',
    'aborted',
    'internal',
  ]
  return {
    tasks: 0,
    ok: 0,
    failed: Object.fromEntries(codes.map((c) => [c, 0])) as SandboxCounters['failed'],
    hostCalls: 0,
    engineLoads: 0,
    engineDiscards: 0,
    prewarmed: 0,
  }
}

/** Adds `result` to `counters` and returns it, so a sandbox can `return count(counters, result)`. */
export function countResult<R extends SandboxResult | EncodedResult>(
  counters: SandboxCounters,
  result: R,
): R {
  if (result.ok) counters.ok++
  else counters.failed[result.error.code]++
  return result
}

/** The result of a task ended by its caller's signal. */
export function abortedResult(): SandboxResult & EncodedResult {
  return { ok: false, error: { code: 'aborted', message: 'the task was aborted' }, cpuMs: 0 }
}
