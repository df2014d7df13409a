/**
 * Turns what went wrong inside or around the VM into one `SandboxFailure`, and copies strings out of the VM
 * without trusting their size.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core'
import { MAX_ERROR_MESSAGE_CHARS } from './constants.ts'
import type { SandboxFailure } from './types.ts'
import { KithError } from '../../util/errors.ts'

/**
 * Ends a task with a known failure: thrown inside the task runner, caught by it, never seen by callers.
 *
 * @example
 * throw new TaskFailed({ code: 'bad_script', message: 'no run()' })
 */
export class TaskFailed extends KithError {
  static override readonly code = 'sandbox_failed'
  static override readonly codeVaries = true
  readonly failure: SandboxFailure

  constructor(failure: SandboxFailure) {
    super(failure.message, { code: failure.code })
    this.name = 'TaskFailed'
    this.failure = failure
  }
}

/** Why the interrupt handler stopped the VM, if it did. */
export type InterruptReason = 'timeout' | 'aborted'

/** Where a VM error surfaced: evaluating the source, running `run()`, or serialising its output. */
export type Stage = 'setup' | 'script' | 'run' | 'output'

/** What the host could read of a value thrown inside the VM. */
export interface VmError {
  name: string
  message: string
  /** an object with a string `name`; a script may also throw plain values */
  isError: boolean
}

function clip(text: string): string {
  return text.length > MAX_ERROR_MESSAGE_CHARS ? `${text.slice(0, MAX_ERROR_MESSAGE_CHARS)}…` : text
}

/**
 * A string value of the VM, copied only if it has at most `maxUnits` UTF-16 units (a UTF-8 encoding is never
 * shorter, so a byte limit can be checked on the copy); `undefined` for a longer string or a non-string.
 *
 * @example
 * readText(context, handle, 256 * 1024) // 'ok' or undefined
 */
export function readText(
  context: QuickJSContext,
  handle: QuickJSHandle,
  maxUnits: number,
): string | undefined {
  if (context.typeof(handle) !== 'string') return undefined
  const length = context.getProp(handle, 'length')
  const units = context.getNumber(length)
  length.dispose()
  return units > maxUnits ? undefined : context.getString(handle)
}

/**
 * Reads a thrown value. Reading can itself fail (the VM is out of memory, a getter is interrupted); the
 * result then says so instead of throwing.
 *
 * @example
 * readVmError(context, result.error) // { name: 'TypeError', message: 'x is not a function', isError: true }
 */
export function readVmError(context: QuickJSContext, handle: QuickJSHandle): VmError {
  try {
    const value: unknown = context.dump(handle)
    if (typeof value === 'object' && value !== null && 'name' in value && typeof value.name === 'string') {
      const message = 'message' in value ? String(value.message) : ''
      return { name: clip(value.name), message: clip(message), isError: true }
    }
    return { name: 'Error', message: clip(`threw ${JSON.stringify(value) ?? String(value)}`), isError: false }
  } catch {
    return { name: 'Error', message: 'the thrown value could not be read', isError: false }
  }
}

/**
 * The failure of a task the interrupt handler stopped.
 *
 * @example
 * interruption('timeout') // { code: 'timeout', message: 'the task ran past its deadline' }
 */
export function interruption(reason: InterruptReason): SandboxFailure {
  return reason === 'aborted'
    ? { code: 'aborted', message: 'the task was aborted' }
    : { code: 'timeout', message: 'the task ran past its deadline' }
}

/** QuickJS's messages for running out of memory, and for a string longer than it can hold (2^30 - 1). */
const OUT_OF_MEMORY = new Set(['out of memory', 'string too long'])

const ranOutOfMemory = (): SandboxFailure => ({ code: 'memory', message: 'the task ran out of memory' })

/**
 * The failure a VM error stands for. The interrupt handler's own record beats the error's text (a script
 * can throw anything). When QuickJS runs out of memory while building its error, what arrives is `null`
 * or `''`: a non-error thrown while the engine was short of memory (its allocator was refused memory, or
 * its memory grew) counts as running out of memory.
 *
 * @example
 * failureOf({ name: 'InternalError', message: 'stack overflow', isError: true }, 'run') // code 'stack'
 */
export function failureOf(
  error: VmError,
  stage: Stage,
  interrupted?: InterruptReason,
  shortOfMemory = false,
): SandboxFailure {
  if (interrupted !== undefined) return interruption(interrupted)
  const internal = error.isError && error.name === 'InternalError'
  if ((internal && OUT_OF_MEMORY.has(error.message)) || (!error.isError && shortOfMemory))
    return ranOutOfMemory()
  if (internal && error.message === 'stack overflow')
    return { code: 'stack', message: 'the task exceeded its stack limit' }
  const text = error.message === '' ? error.name : `${error.name}: ${error.message}`
  switch (stage) {
    case 'script':
      return error.name === 'SyntaxError'
        ? { code: 'bad_script', message: text }
        : { code: 'thrown', message: text }
    case 'output':
      return { code: 'bad_output', message: text }
    case 'run':
      return { code: 'thrown', message: text }
    case 'setup':
      return { code: 'internal', message: `sandbox setup failed: ${text}` }
  }
}

/**
 * The failure for an exception that escaped QuickJS into the host: Node's own stack overflowing inside the
 * interpreter, a WebAssembly trap, or an Emscripten abort. The engine is not to be trusted afterwards.
 * A trap on an engine whose allocator was refused memory (`outOfMemory`) is the out-of-memory's doing:
 * QuickJS's paths for a failed allocation are not all safe (a partly built object, an error freed while
 * its backtrace is written), and the trap ("memory access out of bounds") comes from one of them.
 *
 * @example
 * hostFailure(new RangeError('Maximum call stack size exceeded')).code // 'stack'
 */
export function hostFailure(err: unknown, outOfMemory = false): SandboxFailure {
  if (err instanceof RangeError && /call stack/i.test(err.message))
    return { code: 'stack', message: 'the task exceeded the host stack' }
  if (outOfMemory && err instanceof Error && err.name === 'RuntimeError') return ranOutOfMemory()
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return { code: 'internal', message: clip(`the engine failed: ${message}`) }
}
