/**
 * The VM-side source evaluated in every fresh context before the script: it installs `console` (lines go to
 * the host, capped) and one function per granted host function under its dotted name, and returns the entry
 * points the host calls. The built-ins it relies on are captured before the script runs, so a script that
 * replaces `JSON` or `Promise` only changes its own result; the host checks every string it copies out of
 * the VM anyway. The deterministic patches (determinism.ts) are a separate source, evaluated only for
 * deterministic jobs.
 *
 * A grant's VM function serialises its arguments to JSON and calls the single native `call(name, json)`,
 * which answers with JSON text (`''` for undefined) or a promise of it. `call` and `log` are arguments of
 * the prelude, never globals, so a script can reach the host only through the functions granted to it.
 */

/** What the host tells the prelude; crosses into the VM as JSON. */
export interface PreludeConfig {
  grants: string[]
  /** longest console line, in UTF-16 units */
  maxLine: number
}

/**
 * Evaluates to `(config, call, log) => ({ kind, start, finish })`:
 * - `kind()` is `typeof run`;
 * - `start(inputJson)` parses the input and calls the script's `run()`; a thenable result comes back as a
 *   native promise, anything else as it is;
 * - `finish(output)` returns the output's JSON text, or throws when it has none.
 *
 * @example
 * const setup = context.unwrapResult(context.evalCode(PRELUDE_SOURCE, 'kith:prelude'))
 * const entry = context.unwrapResult(context.callFunction(setup, context.undefined, [config, call, log]))
 */
export const PRELUDE_SOURCE = String.raw`(function (configJson, call, log) {
  'use strict'
  const g = globalThis
  const apply = Reflect.apply
  const parse = JSON.parse
  const stringify = JSON.stringify
  const slice = String.prototype.slice
  const split = String.prototype.split
  const then = Promise.prototype.then
  const hasOwn = Object.prototype.hasOwnProperty
  const NativePromise = Promise
  const toText = String
  const define = (target, name, value, enumerable) =>
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable })
  const config = parse(configJson)

  const show = (value) => {
    if (typeof value === 'string') return value
    try {
      const text = stringify(value)
      if (text !== undefined) return text
    } catch {}
    return toText(value)
  }
  const write = function (...args) {
    let line = ''
    for (let i = 0; i < args.length && line.length <= config.maxLine; i++) line += (i ? ' ' : '') + show(args[i])
    log(line.length > config.maxLine ? apply(slice, line, [0, config.maxLine]) : line)
  }
  define(g, 'console', { log: write, info: write, warn: write, error: write, debug: write }, false)

  const decode = (text) => (text === '' ? undefined : parse(text))
  for (const name of config.grants) {
    const path = apply(split, name, ['.'])
    let target = g
    for (let i = 0; i < path.length - 1; i++) {
      if (!apply(hasOwn, target, [path[i]])) define(target, path[i], {}, true)
      target = target[path[i]]
    }
    const leaf = path[path.length - 1]
    const fn = {
      [leaf](...args) {
        const result = call(name, stringify(args))
        return typeof result === 'string' ? decode(result) : apply(then, result, [decode])
      },
    }[leaf]
    define(target, leaf, fn, true)
  }

  return {
    kind() {
      return typeof g.run
    },
    start(inputJson) {
      const output = g.run(parse(inputJson))
      const thenable =
        output !== null &&
        (typeof output === 'object' || typeof output === 'function') &&
        typeof output.then === 'function'
      return thenable ? new NativePromise((resolve) => resolve(output)) : output
    },
    finish(output) {
      const text = stringify(output)
      if (typeof text !== 'string')
        throw new TypeError('run() returned ' + (output === undefined ? 'undefined' : 'a ' + typeof output) +
          ', which has no JSON form')
      return text
    },
  }
})`
