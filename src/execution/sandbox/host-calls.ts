/**
 * The host side of a task's crossings: calls of granted host functions and `console` lines (the prelude
 * makes the VM side of both). Only JSON text crosses, in both directions, and every string is size- and
 * depth-checked. A host function that returns a promise gets a VM promise, settled with the decoded value
 * when the host's settles; `progress()` lets the task's driver wait for that.
 */
import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  VmCallResult,
} from 'quickjs-emscripten-core'
import { MAX_JSON_DEPTH } from './constants.ts'
import { jsonDepth } from './limits.ts'
import type { HostFunction, JsonValue } from './types.ts'

export interface HostBridgeInit {
  context: QuickJSContext
  /** the task's host functions; absent while a context is prepared ahead of its task (see `bind`) */
  grants?: ReadonlyMap<string, HostFunction>
  maxCallBytes: number
  maxLogBytes: number
  /** the VM value of a host result's JSON text (`''` for undefined), made with the context's own JSON */
  decode(text: string): VmCallResult<QuickJSHandle>
}

type Outcome = { ok: true; text: string } | { ok: false; message: string }

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    'then' in value &&
    typeof value.then === 'function'
  )
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.length > 1024 ? `${text.slice(0, 1024)}…` : text
}

/**
 * One task's crossings. `close()` aborts the signal every host call received; `releasePending()` then frees
 * the VM promises still pending.
 *
 * @example
 * const bridge = new HostBridge({ context, grants, maxCallBytes: 65536, maxLogBytes: 4096, decode })
 * new Prelude(context, bridge, { grants: [...grants.keys()], maxLine: 4096, maxCallBytes: 65536 }, keep)
 */
export class HostBridge {
  readonly logs: string[] = []
  calls = 0
  /** true once the script called a host function before its task's grants were bound */
  touchedUnbound = false
  /**
   * the first engine failure met while handing a host result to the VM, or inside a host callback (see
   * `fault`); the task fails with it and its engine is dropped
   */
  failure: unknown = undefined
  readonly #init: HostBridgeInit
  #grants: ReadonlyMap<string, HostFunction> | undefined
  readonly #pending = new Set<QuickJSDeferredPromise>()
  /** created at the first host call: aborting one costs a DOMException with its stack */
  #controller: AbortController | undefined
  #logBytes = 0
  #closed = false
  #wake: (() => void) | undefined

  constructor(init: HostBridgeInit) {
    this.#init = init
    this.#grants = init.grants
  }

  /** Gives a context prepared ahead of its task the task's host functions. */
  bind(grants: ReadonlyMap<string, HostFunction>): void {
    this.#grants = grants
  }

  /**
   * Records an exception thrown inside a host callback (a console line, a grant's call): not the host
   * function's own error, which `call` turns into a HostError, but the engine's (a WebAssembly trap). The
   * callback's caller hands it to the script as an error it could catch, so it is kept here too.
   */
  fault(err: unknown): void {
    this.failure ??= err
  }

  /** host calls whose promise has not settled yet */
  get pending(): number {
    return this.#pending.size
  }

  /** A console line, already cut to the longest line; lines beyond the log cap are dropped. */
  log(line: string): void {
    const room = this.#init.maxLogBytes - this.#logBytes
    if (room <= 0) return
    let bytes = Buffer.byteLength(line)
    while (bytes > room) {
      line = line.slice(0, Math.floor((line.length * room) / bytes))
      bytes = Buffer.byteLength(line)
    }
    this.#logBytes += Math.max(1, bytes)
    this.logs.push(line)
  }

  /**
   * A call of the granted function `name` with the JSON text of its arguments (undefined when that text is
   * longer than allowed): the decoded result, a VM promise of it, or a `HostError` to throw.
   */
  call(name: string, argsJson: string | undefined): QuickJSHandle | { error: QuickJSHandle } {
    const { context, maxCallBytes } = this.#init
    const fail = (message: string) => ({ error: context.newError({ name: 'HostError', message }) })
    if (this.#grants === undefined) {
      // a script calling the host while its context is prepared ahead: the context is thrown away
      this.touchedUnbound = true
      return fail('host functions cannot be called before the task starts')
    }
    const grant = this.#grants.get(name)
    if (grant === undefined || this.#closed) return fail('no such host function')
    if (argsJson === undefined || Buffer.byteLength(argsJson) > maxCallBytes)
      return fail(`the arguments of ${name} are larger than ${maxCallBytes} bytes`)
    if (jsonDepth(argsJson, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      return fail(`the arguments of ${name} are nested deeper than ${MAX_JSON_DEPTH} levels`)
    this.calls++
    let result: unknown
    try {
      result = grant(JSON.parse(argsJson) as JsonValue[], {
        signal: (this.#controller ??= new AbortController()).signal,
      })
    } catch (err) {
      return fail(messageOf(err))
    }
    if (!isThenable(result)) {
      const outcome = this.#encode(result)
      if (!outcome.ok) return fail(outcome.message)
      const value = this.#init.decode(outcome.text)
      return 'error' in value && value.error !== undefined ? { error: value.error } : value.value!
    }
    const deferred = context.newPromise()
    this.#pending.add(deferred)
    Promise.resolve(result).then(
      (value: unknown) => this.#settle(deferred, this.#encode(value)),
      (err: unknown) => this.#settle(deferred, { ok: false, message: messageOf(err) }),
    )
    return deferred.handle
  }

  /**
   * Waits until a pending host call settles into the VM (its jobs can run), `deadline` (a
   * `performance.now()` time) passes, or `signal` aborts.
   */
  async progress(deadline: number, signal?: AbortSignal): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>()
    const wake = () => resolve()
    const timer = setTimeout(wake, Math.max(0, deadline - performance.now()) + 1)
    signal?.addEventListener('abort', wake, { once: true })
    this.#wake = wake
    try {
      await promise
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', wake)
      this.#wake = undefined
    }
  }

  /** Ends every crossing: host calls still running are aborted and their results dropped. */
  close(): void {
    this.#closed = true
    this.#controller?.abort()
  }

  /** Frees the VM promises of host calls that never settled; skip it when the engine is dropped. */
  releasePending(): void {
    for (const deferred of this.#pending) deferred.dispose()
    this.#pending.clear()
  }

  #encode(value: unknown): Outcome {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (err) {
      return { ok: false, message: `the host function's result is not JSON: ${messageOf(err)}` }
    }
    if (text === undefined) return { ok: true, text: '' }
    if (Buffer.byteLength(text) > this.#init.maxCallBytes)
      return {
        ok: false,
        message: `the host function's result is larger than ${this.#init.maxCallBytes} bytes`,
      }
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      return {
        ok: false,
        message: `the host function's result is nested deeper than ${MAX_JSON_DEPTH} levels`,
      }
    return { ok: true, text }
  }

  #settle(deferred: QuickJSDeferredPromise, outcome: Outcome): void {
    if (this.#closed || !this.#pending.delete(deferred)) return
    const { context } = this.#init
    try {
      const decoded = outcome.ok
        ? this.#init.decode(outcome.text)
        : { error: context.newError({ name: 'HostError', message: outcome.message }) }
      const fulfilled = !('error' in decoded && decoded.error !== undefined)
      const value = (fulfilled ? decoded.value : decoded.error)!
      try {
        if (fulfilled) deferred.resolve(value)
        else deferred.reject(value)
      } finally {
        value.dispose()
      }
      deferred.dispose()
    } catch (err) {
      this.failure ??= err
    }
    this.#wake?.()
  }
}
