/**
 * What a task's context gets before the script: `console` (lines go to the host, capped), one function per
 * granted host function under its dotted name, and the entry points the host calls (`kind`, `start`,
 * `finish`). All of it is built from the host, out of built-ins captured from the fresh context before the
 * script runs, so a script that replaces `JSON` or `Promise` only changes what it sees itself; the host
 * checks every string it copies out of the VM anyway. Nothing is evaluated as source: QuickJS compiles
 * about 7 characters a microsecond in this build, so the JavaScript version of this prelude (2.4 KB) cost
 * 0.35 ms per task, half of a tiny task. The deterministic patches (determinism.ts) stay source, evaluated
 * only for deterministic jobs.
 *
 * A grant's function serialises its arguments with the captured `JSON.stringify` and hands the text to
 * the host bridge, which answers with JSON text (decoded here with the captured `JSON.parse`) or a promise
 * of the decoded value. The bridge itself is never a global: a script reaches the host only through the
 * functions granted to it.
 */
import type { QuickJSContext, QuickJSHandle, VmCallResult } from 'quickjs-emscripten-core'
import { readText } from './classify.ts'
import { KithError } from '../../util/errors.ts'

/** What the host tells the prelude. */
export interface PreludeConfig {
  grants: readonly string[]
  /** longest console line, in UTF-16 units */
  maxLine: number
  /** the longest JSON text of a host call's arguments */
  maxCallBytes: number
}

/** The host side of grants and console lines (host-calls.ts). */
export interface PreludeHost {
  /** a granted function called with the JSON text of its arguments (undefined: larger than allowed) */
  call(name: string, argsJson: string | undefined): QuickJSHandle | { error: QuickJSHandle }
  log(line: string): void
  /** an exception thrown inside a callback: the engine's failure, not the script's */
  fault(err: unknown): void
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const

/**
 * The VM refused a step of the prelude's installation (out of memory, or the interrupt handler's deadline);
 * the task classifies `error` like any other VM error.
 */
export class PreludeFailed extends KithError {
  static override readonly code = 'prelude_failed'
  readonly error: QuickJSHandle
  constructor(error: QuickJSHandle) {
    super('the prelude could not be installed')
    this.name = 'PreludeFailed'
    this.error = error
  }
}

/**
 * The prelude of one context.
 *
 * @example
 * const prelude = new Prelude(context, bridge, { grants: ['device.read'], maxLine: 4096, maxCallBytes: 65536 }, keep)
 * context.evalCode(source) // the script
 * prelude.kind() // 'function'
 * const returned = prelude.start('{"x":1}')
 */
export class Prelude {
  readonly #context: QuickJSContext
  readonly #host: PreludeHost
  readonly #config: PreludeConfig
  readonly #keep: (handle: QuickJSHandle) => QuickJSHandle
  readonly #json: QuickJSHandle
  readonly #parse: QuickJSHandle
  readonly #stringify: QuickJSHandle
  readonly #get: QuickJSHandle
  readonly #promise: QuickJSHandle
  readonly #resolve: QuickJSHandle
  readonly #string: QuickJSHandle
  readonly #slice: QuickJSHandle
  readonly #defineProperty: QuickJSHandle

  /**
   * Captures the built-ins of `context`, which must be fresh (no script has run in it), and installs
   * `console` and the grants. `keep` takes ownership of handles that live as long as the context. Throws
   * {@link PreludeFailed} when the VM refuses a step.
   */
  constructor(
    context: QuickJSContext,
    host: PreludeHost,
    config: PreludeConfig,
    keep: (handle: QuickJSHandle) => QuickJSHandle,
  ) {
    this.#context = context
    this.#host = host
    this.#config = config
    this.#keep = keep
    // plain data properties of a fresh context: reading them runs no script code
    const own = (target: QuickJSHandle, key: string) => keep(context.getProp(target, key))
    this.#json = own(context.global, 'JSON')
    this.#parse = own(this.#json, 'parse')
    this.#stringify = own(this.#json, 'stringify')
    this.#get = own(own(context.global, 'Reflect'), 'get')
    this.#promise = own(context.global, 'Promise')
    this.#resolve = own(this.#promise, 'resolve')
    this.#string = own(context.global, 'String')
    this.#slice = own(own(this.#string, 'prototype'), 'slice')
    this.#defineProperty = own(own(context.global, 'Object'), 'defineProperty')
    this.#installConsole()
    for (const name of config.grants) this.#installGrant(name)
  }

  /** `typeof run` of the script's global `run`. */
  kind(): { value: string } | { error: QuickJSHandle } {
    const run = this.#call(this.#get, this.#context.undefined, [this.#context.global, this.#str('run')])
    if (run.error !== undefined) return { error: run.error }
    const kind = this.#context.typeof(run.value)
    run.value.dispose()
    return { value: kind }
  }

  /**
   * `run(JSON.parse(inputJson))`; a thenable result comes back as a native promise (`Promise.resolve`
   * adopts it), anything else as it is.
   */
  start(inputJson: string): VmCallResult<QuickJSHandle> {
    const context = this.#context
    const input = this.#call(this.#parse, this.#json, [this.#str(inputJson)])
    if (input.error !== undefined) return input
    const run = this.#call(this.#get, context.undefined, [context.global, this.#str('run')])
    if (run.error !== undefined) {
      input.value.dispose()
      return run
    }
    const output = this.#call(run.value, context.undefined, [input.value])
    run.value.dispose()
    input.value.dispose()
    if (output.error !== undefined) return output
    const kind = context.typeof(output.value)
    if (kind !== 'function' && (kind !== 'object' || context.sameValue(output.value, context.null)))
      return output
    // reading `then` may run a getter of the script's: through Reflect.get, so its errors are the task's
    const then = this.#call(this.#get, context.undefined, [output.value, this.#str('then')])
    if (then.error !== undefined) {
      output.value.dispose()
      return then
    }
    const thenable = context.typeof(then.value) === 'function'
    then.value.dispose()
    if (!thenable) return output
    const promise = this.#call(this.#resolve, this.#promise, [output.value])
    output.value.dispose()
    return promise
  }

  /** The output's JSON text (a string handle), or a TypeError when it has none. */
  finish(output: QuickJSHandle): VmCallResult<QuickJSHandle> {
    const context = this.#context
    const text = this.#call(this.#stringify, this.#json, [output])
    if (text.error !== undefined || context.typeof(text.value) === 'string') return text
    text.value.dispose()
    const kind = context.typeof(output)
    const what = kind === 'undefined' ? 'undefined' : `a ${kind}`
    return {
      error: context.newError({
        name: 'TypeError',
        message: `run() returned ${what}, which has no JSON form`,
      }),
    }
  }

  /** The VM value of JSON text from the host (`''` stands for undefined). */
  decode(text: string): VmCallResult<QuickJSHandle> {
    if (text === '') return { value: this.#context.undefined }
    return this.#call(this.#parse, this.#json, [this.#str(text)])
  }

  /**
   * `callFunction`, disposing afterwards the arguments made for it by `#str`/`#num`. Calls nest (the VM
   * may call back into the console or a grant), so each call frees only its own.
   */
  #call(fn: QuickJSHandle, self: QuickJSHandle, args: QuickJSHandle[]): VmCallResult<QuickJSHandle> {
    const own = args.filter((arg) => this.#temporary.delete(arg))
    try {
      return this.#context.callFunction(fn, self, args)
    } finally {
      for (const arg of own) arg.dispose()
    }
  }

  /** Handles made only to be passed to the next `#call`. */
  readonly #temporary = new Set<QuickJSHandle>()

  #str(text: string): QuickJSHandle {
    const handle = this.#context.newString(text)
    this.#temporary.add(handle)
    return handle
  }

  #num(value: number): QuickJSHandle {
    const handle = this.#context.newNumber(value)
    this.#temporary.add(handle)
    return handle
  }

  /** A writable, configurable data property, through the captured `Object.defineProperty`. */
  #define(target: QuickJSHandle, name: string, value: QuickJSHandle, enumerable: boolean): void {
    const context = this.#context
    const descriptor = context.newObject()
    try {
      context.setProp(descriptor, 'value', value)
      context.setProp(descriptor, 'writable', context.true)
      context.setProp(descriptor, 'configurable', context.true)
      context.setProp(descriptor, 'enumerable', enumerable ? context.true : context.false)
      const done = this.#call(this.#defineProperty, context.undefined, [target, this.#str(name), descriptor])
      if (done.error !== undefined) throw new PreludeFailed(done.error)
      done.value.dispose()
    } finally {
      descriptor.dispose()
    }
  }

  #installConsole(): void {
    const context = this.#context
    const write = this.#keep(context.newFunction('log', (...args) => this.#guard(() => this.#write(args))))
    const console = this.#keep(context.newObject())
    for (const method of CONSOLE_METHODS) this.#define(console, method, write, true)
    this.#define(context.global, 'console', console, false)
  }

  /** One console line: strings as they are, other values as JSON, or as `String(value)` without one. */
  #write(args: QuickJSHandle[]): QuickJSHandle | { error: QuickJSHandle } | undefined {
    const max = this.#config.maxLine
    let line = ''
    for (let i = 0; i < args.length && line.length <= max; i++) {
      const shown = this.#show(args[i]!, max - line.length + 1)
      if (typeof shown !== 'string') return shown
      line += (i > 0 ? ' ' : '') + shown
    }
    this.#host.log(line.length > max ? line.slice(0, max) : line)
    return undefined
  }

  /** At most `room` units of how `value` is shown, or the error `String(value)` threw. */
  #show(value: QuickJSHandle, room: number): string | { error: QuickJSHandle } {
    const context = this.#context
    if (context.typeof(value) === 'string') return this.#prefix(value, room)
    const json = this.#call(this.#stringify, this.#json, [value])
    if (json.error !== undefined) json.error.dispose()
    else if (context.typeof(json.value) === 'string') return this.#take(json.value, room)
    else json.value.dispose()
    const text = this.#call(this.#string, context.undefined, [value])
    if (text.error !== undefined) return text
    return this.#take(text.value, room)
  }

  /** `#prefix` of a handle this owns, then disposed. */
  #take(handle: QuickJSHandle, room: number): string {
    try {
      return this.#prefix(handle, room)
    } finally {
      handle.dispose()
    }
  }

  /** The string's first `room` units, copied without copying the rest. */
  #prefix(handle: QuickJSHandle, room: number): string {
    const whole = readText(this.#context, handle, room)
    if (whole !== undefined) return whole
    const cut = this.#call(this.#slice, handle, [this.#num(0), this.#num(room)])
    if (cut.error !== undefined) {
      cut.error.dispose()
      return ''
    }
    return this.#take(cut.value, room)
  }

  /** `a.b.c` becomes a function `c` on an object `b` on an object `a` on the global, made as needed. */
  #installGrant(name: string): void {
    const context = this.#context
    const path = name.split('.')
    let target = context.global
    for (let i = 0; i < path.length - 1; i++) {
      const prefix = path.slice(0, i + 1).join('.')
      let next = this.#namespaces.get(prefix)
      if (next === undefined) {
        next = this.#keep(context.newObject())
        this.#define(target, path[i]!, next, true)
        this.#namespaces.set(prefix, next)
      }
      target = next
    }
    const leaf = path[path.length - 1]!
    const fn = this.#keep(
      context.newFunction(leaf, (...args) => this.#guard(() => this.#grantCall(name, args))),
    )
    this.#define(target, leaf, fn, true)
  }

  /**
   * Runs a callback of the VM's. quickjs-emscripten turns what a callback throws into an error inside the
   * VM, which the script could catch and carry on past; nothing here throws but the engine (a WebAssembly
   * trap), so the host is told first and the task ends with the engine's failure whatever the script does.
   */
  #guard<T>(callback: () => T): T {
    try {
      return callback()
    } catch (err) {
      this.#host.fault(err)
      throw err
    }
  }

  /** The objects made for the dotted prefixes of grant names (`device` of `device.read`). */
  readonly #namespaces = new Map<string, QuickJSHandle>()

  #grantCall(name: string, args: QuickJSHandle[]): QuickJSHandle | { error: QuickJSHandle } {
    const context = this.#context
    const list = context.newArray()
    try {
      args.forEach((arg, i) => context.setProp(list, i, arg))
      const json = this.#call(this.#stringify, this.#json, [list])
      if (json.error !== undefined) return json
      const text = readText(context, json.value, this.#config.maxCallBytes)
      json.value.dispose()
      return this.#host.call(name, text)
    } finally {
      list.dispose()
    }
  }
}
