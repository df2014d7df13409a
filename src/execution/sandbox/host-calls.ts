/**
 * The host side of the two native functions a task's prelude receives: `call(name, argsJson)` for granted
 * host functions and `log(line)` for `console.*`. Only JSON text crosses, in both directions, and every
 * string is size-checked before it is copied. A host function that returns a promise gets a VM promise,
 * settled when the host's settles; `progress()` lets the task's driver wait for that.
 */
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle } from 'quickjs-emscripten-core'
import { readText } from './classify.ts'
import type { HostFunction, JsonValue } from './types.ts'

export interface HostBridgeInit {
  context: QuickJSContext
  grants: ReadonlyMap<string, HostFunction>
  maxCallBytes: number
  maxLogBytes: number
}

type Outcome = { ok: true; text: string } | { ok: false; message: string }

const LOG_TRUNCATED = '[log truncated]'

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
 * One task's crossings. `close()` aborts the signal every host call received and releases the VM promises
 * still pending.
 *
 * @example
 * const bridge = new HostBridge({ context, grants, maxCallBytes: 65536, maxLogBytes: 4096 })
 * context.callFunction(prelude, context.undefined, config, bridge.newCall(), bridge.newLog())
 */
export class HostBridge {
  readonly logs: string[] = []
  calls = 0
  /** the first error met while handing a host result to the VM; the task fails with it */
  failure: unknown = undefined
  readonly #init: HostBridgeInit
  readonly #pending = new Set<QuickJSDeferredPromise>()
  /** created at the first host call: aborting one costs a DOMException with its stack */
  #controller: AbortController | undefined
  #logBytes = 0
  #closed = false
  #wake: (() => void) | undefined

  constructor(init: HostBridgeInit) {
    this.#init = init
  }

  /** host calls whose promise has not settled yet */
  get pending(): number {
    return this.#pending.size
  }

  newCall(): QuickJSHandle {
    return this.#init.context.newFunction('call', (name, args) => this.#call(name, args))
  }

  newLog(): QuickJSHandle {
    return this.#init.context.newFunction('log', (line) => {
      this.#log(line)
    })
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

  /** Ends every crossing; with `release`, also frees the VM promises (skip it when the engine is dropped). */
  close(release: boolean): void {
    this.#closed = true
    this.#controller?.abort()
    if (release) for (const deferred of this.#pending) deferred.dispose()
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
    return { ok: true, text }
  }

  #call(nameHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle | { error: QuickJSHandle } {
    const { context, grants, maxCallBytes } = this.#init
    const fail = (message: string) => ({ error: context.newError({ name: 'HostError', message }) })
    const name = readText(context, nameHandle, 256)
    const grant = name === undefined ? undefined : grants.get(name)
    if (grant === undefined || this.#closed) return fail('no such host function')
    const json = readText(context, argsHandle, maxCallBytes)
    if (json === undefined || Buffer.byteLength(json) > maxCallBytes)
      return fail(`the arguments of ${name} are larger than ${maxCallBytes} bytes`)
    this.calls++
    let result: unknown
    try {
      result = grant(JSON.parse(json) as JsonValue[], {
        signal: (this.#controller ??= new AbortController()).signal,
      })
    } catch (err) {
      return fail(messageOf(err))
    }
    if (!isThenable(result)) {
      const outcome = this.#encode(result)
      return outcome.ok ? context.newString(outcome.text) : fail(outcome.message)
    }
    const deferred = context.newPromise()
    this.#pending.add(deferred)
    Promise.resolve(result).then(
      (value: unknown) => this.#settle(deferred, this.#encode(value)),
      (err: unknown) => this.#settle(deferred, { ok: false, message: messageOf(err) }),
    )
    return deferred.handle
  }

  #settle(deferred: QuickJSDeferredPromise, outcome: Outcome): void {
    if (this.#closed || !this.#pending.delete(deferred)) return
    const { context } = this.#init
    try {
      const value = outcome.ok
        ? context.newString(outcome.text)
        : context.newError({ name: 'HostError', message: outcome.message })
      try {
        if (outcome.ok) deferred.resolve(value)
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

  #log(lineHandle: QuickJSHandle): void {
    const room = this.#init.maxLogBytes - this.#logBytes
    if (room <= 0) return
    let line = readText(this.#init.context, lineHandle, this.#init.maxLogBytes) ?? LOG_TRUNCATED
    let bytes = Buffer.byteLength(line)
    while (bytes > room) {
      line = line.slice(0, Math.floor((line.length * room) / bytes))
      bytes = Buffer.byteLength(line)
    }
    this.#logBytes += Math.max(1, bytes)
    this.logs.push(line)
  }
}
