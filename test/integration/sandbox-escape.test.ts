/**
 * The sandbox escape battery (issue 10): hostile scripts run through the sandbox the node itself builds, a
 * `WorkerSandbox` made by `sandboxInitFromConfig` from a loaded kith.yaml (worker threads, each with a
 * QuickJS-WASM engine; host functions answered in this thread), then a few of them as script capabilities
 * of a real node. Each script tries to reach the host or to exhaust it, and each case states how its task
 * must end: the failure code, or the output that proves containment. After every case the host must be
 * unharmed: a normal task still succeeds on every worker, no global or built-in prototype of this thread
 * changed, and no worker died unless the case says the pool had to end it.
 *
 * 61 cases: 49 hostile scripts in the table; 6 more on the same sandbox (state left for the next task, a fresh
 * context per task of one script, a concurrent task's state, deterministic mode, a deeply nested output, a
 * host-call storm); 1 on a sandbox with a small heap; 5 as script capabilities of a real node.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import {
  type HostFunction,
  type JsonValue,
  type SandboxErrorCode,
  type SandboxJob,
  type SandboxLimits,
  type SandboxResult,
  WorkerSandbox,
} from '../../src/execution/sandbox/index.ts'
import { MAX_ERROR_MESSAGE_CHARS, SANDBOX_DEFAULTS } from '../../src/execution/sandbox/constants.ts'
import { sandboxInitFromConfig } from '../../src/execution/script-capabilities.ts'
import type { KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

/** the deadline of every case that does not set its own; spinning cases get `SPIN_MS` */
const TIMEOUT_MS = 3000
const SPIN_MS = 300
/** how long after its deadline the pool terminates a worker that does not answer (worker-pool.ts) */
const GRACE_MS = 250
/** slack on a loaded two-core machine: a bound on behaviour, not a timing test */
const SLACK_MS = 3000
const KIB = 1024
const TINY = { source: 'function run(x) { return x + 1 }', input: 41 }
/** the marks of a host stack frame or source path in text the VM produced */
const HOST_TRACE = /node:|file:|\.ts\b|\/work\/|worker_threads|quickjs-emscripten/

/** the output, any output (`also` checks it), or the failure */
type Expected = { output: unknown } | { ok: true } | { code: SandboxErrorCode; message?: string | RegExp }

interface HostileCase {
  source: string
  expect: Expected
  limits?: Partial<SandboxLimits>
  grants?: Record<string, HostFunction>
  /**
   * workers the pool had to terminate and replace; default 0. `'either'`: 0 or 1, where the worker's own
   * deadline check can come later than the grace period on a loaded machine (see the host-call storm)
   */
  restarts?: number | 'either'
  /** more checks of the result */
  also?: (result: SandboxResult) => void
}

/** What the host calls of the table received, to prove that only JSON crossed. */
const received: unknown[][] = []
const GRANTS: Record<string, HostFunction> = {
  'h.echo': (args) => {
    received.push(args)
    return args[0] ?? null
  },
  'h.cyclic': () => {
    const o: Record<string, unknown> = {}
    o.self = o
    return o
  },
  'h.huge': () => 'y'.repeat(100 * KIB),
  'h.fn': () => () => 'a host closure',
  'h.fail': () => {
    throw new Error('refused by the host')
  },
}
const aborted: AbortSignal[] = []

const CASES: Record<string, HostileCase> = {
  // reaching the host's globals
  'finds no require, process, module, Buffer, fetch or host console': {
    source:
      'function run() { return [typeof require, typeof process, typeof module, typeof exports, typeof __dirname, ' +
      'typeof Buffer, typeof global, typeof fetch, typeof XMLHttpRequest, typeof Deno, typeof Bun, typeof std, ' +
      'typeof os, typeof globalThis.gc] }',
    expect: { output: Array(14).fill('undefined') },
  },
  'gets a ReferenceError from this.constructor.constructor("return process")()': {
    source: 'function run() { return this.constructor.constructor("return process")() }',
    expect: { code: 'thrown', message: "ReferenceError: 'process' is not defined" },
  },
  'reaches only the VM through the constructors of granted and console functions': {
    source:
      'function run() { const F = h.echo.constructor.constructor; const G = console.log.constructor; ' +
      'const A = (async () => {}).constructor; return [F("return typeof process")(), G("return typeof require")(), ' +
      'F("return globalThis")() === globalThis, typeof A, Object.getPrototypeOf(h.echo) === Function.prototype] }',
    grants: GRANTS,
    expect: { output: ['undefined', 'undefined', true, 'function', true] },
  },
  'reaches only the VM with eval, indirect eval and Function': {
    source:
      'function run() { return [eval("typeof process"), (0, eval)("this") === globalThis, ' +
      'new Function("return typeof require")(), Function("return this")() === globalThis] }',
    expect: { output: ['undefined', true, 'undefined', true] },
  },
  'cannot load a module with a dynamic import()': {
    source:
      'async function run() { const out = []; for (const m of ["node:fs", "fs", "data:text/javascript,1", ' +
      '"../../src/node/node.ts"]) { try { await import(m); out.push("loaded " + m) } ' +
      'catch (e) { out.push(e.name + ": " + e.message) } } return out }',
    expect: {
      output: [
        "ReferenceError: could not load module 'node:fs'",
        "ReferenceError: could not load module 'fs'",
        "ReferenceError: could not load module 'data:text/javascript,1'",
        "ReferenceError: could not load module '../../src/node/node.ts'",
      ],
    },
  },
  'is refused as bad_script with a static import': {
    source: 'import { readFileSync } from "node:fs"\nfunction run() { return readFileSync("/etc/passwd") }',
    expect: { code: 'bad_script', message: /^SyntaxError/ },
  },
  'gets no host frame through Error.prepareStackTrace or any stack trace': {
    source:
      'async function run() { let called = false; Error.prepareStackTrace = () => { called = true; return "x" }; ' +
      'const stacks = [new Error("own").stack]; try { null.x } catch (e) { stacks.push(e.stack) } ' +
      'try { await h.fail() } catch (e) { stacks.push(e.name + ": " + e.message, String(e.stack)) } ' +
      'try { h.echo({ get x() { throw new Error("in a getter") } }) } catch (e) { stacks.push(String(e.stack)) } ' +
      'return { called, capture: typeof Error.captureStackTrace, stacks } }',
    grants: GRANTS,
    expect: { ok: true },
    also: (result) => {
      const seen = output(result) as { called: boolean; capture: string; stacks: string[] }
      expect(seen).toMatchObject({ called: false, capture: 'undefined' })
      expect(seen.stacks).toHaveLength(5)
      expect(seen.stacks[2]).toBe('HostError: refused by the host')
      for (const stack of seen.stacks) expect(stack).not.toMatch(HOST_TRACE)
    },
  },
  'sees no bridge or host object among the globals': {
    source:
      'function run() { return Object.getOwnPropertyNames(globalThis).filter((n) => !/^[A-Z]/.test(n)).sort() }',
    grants: { 'device.read': () => null },
    expect: {
      output: [
        'console',
        'decodeURI',
        'decodeURIComponent',
        'device',
        'encodeURI',
        'encodeURIComponent',
        'escape',
        'eval',
        'globalThis',
        'isFinite',
        'isNaN',
        'parseFloat',
        'parseInt',
        'run',
        'undefined',
        'unescape',
      ],
    },
  },
  'cannot forge its output by replacing JSON, Promise and Reflect': {
    source:
      'function run() { JSON.stringify = () => \'"forged"\'; JSON.parse = () => "forged"; ' +
      'Promise.resolve = () => "forged"; Reflect.get = () => () => "forged"; return { real: true } }',
    expect: { output: { real: true } },
  },
  'sees its host-granted function as native code, not host source': {
    source: 'function run() { return [h.echo.toString(), console.log.toString(), h.echo.name] }',
    grants: GRANTS,
    expect: {
      output: ['function echo() {\n    [native code]\n}', 'function log() {\n    [native code]\n}', 'echo'],
    },
  },

  // hostile outputs
  'ends thrown when a Proxy output traps the read of its then': {
    source: 'function run() { return new Proxy({}, { get() { throw new Error("trap") } }) }',
    expect: { code: 'thrown', message: 'Error: trap' },
  },
  'ends timeout when a Proxy output loops in its ownKeys trap': {
    source: 'function run() { return new Proxy({}, { ownKeys() { for (;;) {} } }) }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'ends bad_output when toJSON throws': {
    source: 'function run() { return { toJSON() { throw new Error("no JSON for you") } } }',
    expect: { code: 'bad_output', message: 'Error: no JSON for you' },
  },
  'ends timeout when a getter of the output loops': {
    source: 'function run() { return { get x() { for (;;) {} } } }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'ends timeout when the then getter of the output loops': {
    source: 'function run() { return { get then() { for (;;) {} } } }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'takes only the first value a hostile thenable resolves with': {
    source:
      'function run() { return { then(ok, no) { ok({ a: 1 }); ok({ a: 2 }); no(new Error("late")) } } }',
    expect: { output: { a: 1 } },
  },
  'ends bad_output for a cyclic output': {
    source: 'function run() { const o = { list: [] }; o.list.push(o); return o }',
    expect: { code: 'bad_output', message: 'TypeError: circular reference' },
  },
  'ends output_too_large for a 1 MiB string, without copying it out': {
    source: 'function run() { return "x".repeat(1 << 20) }',
    limits: { maxOutputBytes: 64 * KIB },
    expect: {
      code: 'output_too_large',
      message: `the output is larger than ${SANDBOX_DEFAULTS.maxHostCallBytes} bytes`,
    },
  },
  'ends bad_output for a Symbol output': {
    source: 'function run() { return Symbol("s") }',
    expect: { code: 'bad_output', message: 'TypeError: run() returned a symbol, which has no JSON form' },
  },
  'ends bad_output when Symbol.toPrimitive of an output value throws': {
    source:
      'function run() { const n = new Number(1); n[Symbol.toPrimitive] = () => { throw new Error("prim") }; ' +
      'return { n } }',
    expect: { code: 'bad_output', message: 'Error: prim' },
  },
  'ends bad_output for a BigInt output': {
    source: 'function run() { return { n: 2n ** 64n } }',
    expect: { code: 'bad_output', message: 'TypeError: Do not know how to serialize a BigInt' },
  },

  // exhaustion
  'ends memory when an array grows without end': {
    source: 'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
    expect: { code: 'memory' },
  },
  'ends memory when a string doubles without end': {
    source: 'function run() { let s = "x"; for (;;) s += s }',
    expect: { code: 'memory' },
  },
  // Found by this battery: on an engine that ran a task before (engines are reused after clean tasks), this
  // bomb makes QuickJS access memory past its WebAssembly memory: the trap ends the task `internal` ("the
  // engine failed: RuntimeError: memory access out of bounds"); on a fresh engine it ends `memory`
  'ends memory when it keeps every version of a growing string': {
    source: 'function run() { let s = "x"; const keep = []; for (;;) keep.push(s += s.length) }',
    expect: { code: 'memory', message: 'the task ran out of memory' },
  },
  'ends memory when it hoards ArrayBuffers (the WebAssembly memory cap holds)': {
    source: 'function run() { const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20)) }',
    expect: { code: 'memory' },
  },
  'ends stack on unbounded recursion': {
    source: 'function f(n) { return f(n + 1) + 1 } function run() { return f(0) }',
    expect: { code: 'stack' },
  },
  'ends stack on recursion through a host call (a getter of its arguments calls it again)': {
    source: 'function f() { return h.echo({ get x() { return f() } }) } function run() { return f() }',
    grants: GRANTS,
    expect: { code: 'stack' },
  },
  'ends timeout on an infinite loop': {
    source: 'function run() { for (;;) {} }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout', message: 'the task ran past its deadline' },
  },
  'ends timeout on an infinite microtask loop': {
    source: 'async function run() { for (;;) await null }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'ends timeout on a promise storm': {
    source:
      'function run() { const spawn = () => { Promise.resolve().then(spawn); Promise.resolve().then(spawn) }; ' +
      'spawn(); return new Promise(() => {}) }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'ends bad_output at once on a promise that can never settle': {
    source: 'function run() { return new Promise(() => {}) }',
    expect: { code: 'bad_output', message: 'run() returned a promise that can never settle' },
  },
  'ends timeout while waiting on a host call that never answers, and the call is aborted': {
    source: 'function run() { return h.never() }',
    grants: {
      'h.never': (_args, { signal }) => {
        aborted.push(signal)
        return new Promise(() => {})
      },
    },
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
    also: () => expect(aborted.at(-1)?.aborted).toBe(true),
  },
  'ends timeout on catastrophic regex backtracking (ReDoS)': {
    source: 'function run() { return /^(a+)+$/.test("a".repeat(40) + "!") }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
  'ends timeout in a native built-in that never checks the deadline: the pool terminates its worker': {
    source: 'function run() { return new Array(2 ** 32 - 1).join("x").length }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
    restarts: 1,
  },

  // what is not there
  'has no Atomics to block its thread with Atomics.wait': {
    source:
      'function run() { const cell = new Int32Array(new SharedArrayBuffer(4)); return Atomics.wait(cell, 0, 0) }',
    expect: { code: 'thrown', message: "ReferenceError: 'Atomics' is not defined" },
  },
  'has no WebAssembly': {
    source: 'function run() { return [typeof WebAssembly, typeof globalThis.WebAssembly] }',
    expect: { output: ['undefined', 'undefined'] },
  },
  'has no timers, microtask queue hooks or performance clock': {
    source:
      'function run() { return [typeof setTimeout, typeof setInterval, typeof setImmediate, ' +
      'typeof queueMicrotask, typeof requestAnimationFrame, typeof performance, typeof structuredClone, ' +
      'typeof MessageChannel] }',
    expect: { output: Array(8).fill('undefined') },
  },

  // hostile throws
  'ends thrown, unread, when it throws a Proxy whose every trap throws': {
    source:
      'function run() { throw new Proxy({}, { get() { throw new Error("get") }, ownKeys() { throw 1 }, ' +
      'getPrototypeOf() { throw 2 }, getOwnPropertyDescriptor() { throw 3 } }) }',
    expect: { code: 'thrown', message: 'Error: threw ""' },
  },
  'ends thrown when it throws an object whose toString and name throw': {
    source:
      'function run() { throw { toString() { throw new Error("bad") }, get name() { throw 3 }, ' +
      'get message() { throw 4 } } }',
    expect: { code: 'thrown', message: 'Error: threw ""' },
  },
  'ends thrown with its name and message clipped when they are huge': {
    source: 'function run() { throw { name: "N".repeat(100000), message: "m".repeat(100000) } }',
    expect: { code: 'thrown' },
    also: (result) => {
      const { message } = failure(result)
      expect(message).toBe(`${'N'.repeat(MAX_ERROR_MESSAGE_CHARS)}…: ${'m'.repeat(MAX_ERROR_MESSAGE_CHARS)}…`)
    },
  },
  'ends thrown when run is a getter that throws': {
    source: 'Object.defineProperty(globalThis, "run", { get() { throw new Error("no run for you") } })',
    expect: { code: 'thrown', message: 'Error: no run for you' },
  },

  // a host function called with hostile arguments, or answering badly
  'gets a TypeError, not a host call, for cyclic arguments': {
    source: 'function run() { const o = {}; o.o = o; return h.echo(o) }',
    grants: GRANTS,
    expect: { code: 'thrown', message: 'TypeError: circular reference' },
  },
  'gets a HostError for arguments above maxHostCallBytes': {
    source:
      'async function run() { try { await h.echo("x".repeat(200000)); return "sent" } ' +
      'catch (e) { return e.name + ": " + e.message } }',
    grants: GRANTS,
    expect: {
      output: `HostError: the arguments of h.echo are larger than ${SANDBOX_DEFAULTS.maxHostCallBytes} bytes`,
    },
  },
  'ends thrown, before any host call, when a getter of its arguments throws': {
    source: 'function run() { return h.echo({ get x() { throw new Error("getter") } }) }',
    grants: GRANTS,
    expect: { code: 'thrown', message: 'Error: getter' },
  },
  'passes the host only JSON: functions, symbols and undefined are dropped': {
    source:
      'async function run() { return await h.echo({ f() { return 1 }, s: Symbol("q"), u: undefined, ' +
      'n: 1, d: new Date(0), nested: [() => 1, Symbol("r")] }) }',
    grants: GRANTS,
    expect: { output: { n: 1, d: '1970-01-01T00:00:00.000Z', nested: [null, null] } },
    also: () => {
      const args = received.at(-1)
      expect(args).toEqual([{ n: 1, d: '1970-01-01T00:00:00.000Z', nested: [null, null] }])
      expect(Object.getPrototypeOf(args?.[0])).toBe(Object.prototype)
    },
  },
  'gets a HostError when the host answers with a cyclic or oversize value, and nothing for a function': {
    source:
      'async function run() { const out = []; for (const f of [h.cyclic, h.huge]) { try { await f(); out.push("got") } ' +
      'catch (e) { out.push(e.name + ": " + e.message.split("\\n")[0]) } } out.push(typeof (await h.fn())); return out }',
    grants: GRANTS,
    expect: {
      output: [
        "HostError: the host function's result is not JSON: Converting circular structure to JSON",
        `HostError: the host function's result is larger than ${SANDBOX_DEFAULTS.maxHostCallBytes} bytes`,
        'undefined',
      ],
    },
  },

  // console
  'keeps a console flood within maxLogBytes until its deadline': {
    source: 'function run() { for (let i = 0; ; i++) console.log("line", i) }',
    limits: { timeoutMs: SPIN_MS, maxLogBytes: 4 * KIB },
    expect: { code: 'timeout' },
    // each console call crosses to the host, and QuickJS asks the interrupt handler only every few thousand
    // steps: the deadline is seen 20 to 170 ms late on an idle machine, later than the grace period on a busy one
    restarts: 'either',
    also: (result) => expect(Buffer.byteLength(result.logs?.join('') ?? '')).toBeLessThanOrEqual(4 * KIB),
  },
  'cuts one 1 MiB console line to maxLogBytes without copying it out': {
    source: 'function run() { console.log("z".repeat(1 << 20)); console.log("after"); return 1 }',
    limits: { maxLogBytes: 4 * KIB },
    expect: { output: 1 },
    also: (result) => expect(result.logs).toEqual(['z'.repeat(4 * KIB)]),
  },
  'ends timeout when a console argument is a Proxy that loops': {
    source: 'function run() { console.log(new Proxy({}, { get() { for (;;) {} } })); return 1 }',
    limits: { timeoutMs: SPIN_MS },
    expect: { code: 'timeout' },
  },
}

function failure(result: SandboxResult): { code: string; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.output)}`)
  return result.error
}

function output(result: SandboxResult): unknown {
  if (!result.ok) throw new Error(`expected an output, got ${result.error.code}: ${result.error.message}`)
  return result.output
}

/** What a script could change in this thread if it escaped: globals, built-in prototypes, built-ins. */
function hostFingerprint() {
  const keys = (o: object) => Reflect.ownKeys(o).map(String).sort()
  return {
    keys: {
      globals: keys(globalThis),
      object: keys(Object.prototype),
      array: keys(Array.prototype),
      function: keys(Function.prototype),
      string: keys(String.prototype),
      promise: keys(Promise.prototype),
    },
    builtins: [
      JSON.stringify,
      JSON.parse,
      Math.random,
      Date.now,
      Promise.resolve,
      Promise.prototype.then,
      Reflect.get,
      Object.defineProperty,
      Function.prototype.toString,
      Array.prototype.push,
    ],
  }
}

describe('sandbox escape battery (the node’s WorkerSandbox)', () => {
  let sandbox: WorkerSandbox
  let cleanup: () => Promise<void>

  const run = (job: SandboxJob) => sandbox.run(job)
  /** a normal task on every worker the pool may hand the next job to */
  const healthy = async () =>
    expect((await Promise.all([run(TINY), run(TINY)])).map(output)).toEqual([42, 42])

  beforeAll(async () => {
    let dir: string
    ;({ dir, cleanup } = await tempDir('kith-sandbox-escape-'))
    const script = await writeText(dir, 'echo.js', 'function run(x) { return x }\n')
    const file = await writeText(
      dir,
      'kith.yaml',
      [
        'execution:',
        `  sandbox: { workers: 2, timeoutMs: ${TIMEOUT_MS} }`,
        'capabilities:',
        `  - { id: echo, kind: script, title: Echo, script: ${script} }`,
      ].join('\n'),
    )
    const init = sandboxInitFromConfig(await loadConfig(file, { env: {} }))
    expect(init).toMatchObject({ workers: 2, warmWorkers: 1, limits: { timeoutMs: TIMEOUT_MS } })
    sandbox = new WorkerSandbox(init)
    await sandbox.start()
    await healthy()
  })

  afterAll(async () => {
    await sandbox?.stop()
    await cleanup?.()
  })

  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const before = hostFingerprint()
      const restarts = sandbox.counters.workerRestarts
      const started = performance.now()
      const result = await run({
        source: c.source,
        ...(c.grants !== undefined ? { grants: c.grants } : {}),
        ...(c.limits !== undefined ? { limits: c.limits } : {}),
      })
      const elapsed = performance.now() - started
      if ('output' in c.expect) expect(output(result)).toEqual(c.expect.output)
      else if ('ok' in c.expect) output(result)
      else {
        const { code, message } = failure(result)
        expect(code).toBe(c.expect.code)
        if (typeof c.expect.message === 'string') expect(message).toBe(c.expect.message)
        else if (c.expect.message !== undefined) expect(message).toMatch(c.expect.message)
      }
      c.also?.(result)
      expect(elapsed).toBeLessThan((c.limits?.timeoutMs ?? TIMEOUT_MS) + GRACE_MS + SLACK_MS)
      await healthy()
      const restarted = sandbox.counters.workerRestarts - restarts
      if (c.restarts === 'either') expect(restarted).toBeLessThanOrEqual(1)
      else expect(restarted).toBe(c.restarts ?? 0)
      const after = hostFingerprint()
      expect(after.keys).toEqual(before.keys)
      expect(after.builtins.every((fn, i) => fn === before.builtins[i])).toBe(true)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  }

  it('leaves nothing for the next task: polluted prototypes, replaced built-ins and globals are gone', async () => {
    const polluter =
      'function run() { Object.prototype.polluted = "yes"; Array.prototype.map = null; ' +
      'Array.prototype.push = function () { return "hijacked" }; JSON.parse = () => "forged"; ' +
      'Function.prototype.call = null; globalThis.secret = "from the last task"; Object.freeze(Object.prototype); ' +
      'return "polluted" }'
    const reader =
      'function run() { return [({}).polluted === undefined, typeof [].map, [].push(1), JSON.parse("1"), ' +
      'typeof secret, typeof Function.prototype.call, Object.isFrozen(Object.prototype)] }'
    expect(output(await run({ source: polluter }))).toBe('polluted')
    // the pool hands the next job to the worker released last: the polluter's, then the other one too
    const next = await Promise.all([run({ source: reader }), run({ source: reader })])
    expect(next.map(output)).toEqual([
      [true, 'function', 1, 1, 'undefined', 'function', false],
      [true, 'function', 1, 1, 'undefined', 'function', false],
    ])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('gives every task of one script a fresh context, also the ones prepared ahead', async () => {
    const source =
      'var loads = (globalThis.loads || 0) + 1; ' +
      'function run() { globalThis.calls = (globalThis.calls || 0) + 1; return [loads, calls] }'
    const prewarmed = sandbox.counters.prewarmed
    for (let i = 0; i < 5; i++) expect(output(await run({ source }))).toEqual([1, 1])
    expect(sandbox.counters.prewarmed).toBeGreaterThan(prewarmed)
  })

  it('cannot see the input or globals of a task running at the same time', async () => {
    const { promise: held, resolve: release } = Promise.withResolvers<string>()
    const { promise: holding, resolve: holds } = Promise.withResolvers<void>()
    const first = run({
      source:
        'async function run(secret) { globalThis.secret = secret; const back = await h.hold(); ' +
        'return [secret, back] }',
      input: 'the first task’s secret',
      grants: {
        'h.hold': () => {
          holds()
          return held
        },
      },
    })
    await holding
    const second = await run({
      source:
        'function run() { return [typeof secret, Object.getOwnPropertyNames(globalThis).includes("secret")] }',
    })
    expect(output(second)).toEqual(['undefined', false])
    release('released')
    expect(output(await first)).toEqual(['the first task’s secret', 'released'])
  })

  it('gives a deterministic task a fixed clock and seeded random numbers that it cannot get around', async () => {
    const source =
      'function run() { return { now: Date.now(), date: new Date().getTime(), ' +
      'proto: Object.getPrototypeOf(new Date()).constructor.now(), construct: Reflect.construct(Date, []).getTime(), ' +
      'text: Date(), zone: new Date().getTimezoneOffset(), random: [Math.random(), Math.random()], ' +
      'weak: [typeof WeakRef, typeof FinalizationRegistry, typeof performance] } }'
    const job = { source, deterministic: true, now: 1_700_000_000_000, seed: 7 }
    const first = output(await run(job)) as Record<string, unknown>
    // the real clock moves on between the two runs: only the fixed one keeps the outputs equal
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(output(await run(job))).toEqual(first)
    expect(first).toMatchObject({
      now: job.now,
      date: job.now,
      proto: job.now,
      construct: job.now,
      text: 'Tue Nov 14 2023 22:13:20 GMT+0000',
      zone: 0,
      weak: ['undefined', 'undefined', 'undefined'],
    })
    const reseeded = output(await run({ ...job, seed: 8 })) as { random: number[] }
    expect(reseeded.random).not.toEqual(first.random)
    // the same script outside deterministic mode sees the real clock: the patch is what holds it
    const free = output(await run({ source })) as { now: number }
    expect(Math.abs(free.now - Date.now())).toBeLessThan(60_000)
  })

  // Found by this battery: V8's structured clone cannot carry a value nested a few thousand levels deep from the
  // worker to this thread ('messageerror', unheard), so the worker's result is lost, the pool terminates the
  // worker at timeoutMs + grace and reports `timeout`, holding the worker for the whole deadline.
  it('returns or refuses a 5,000-deep nested output before its deadline, without losing its worker', async () => {
    const restarts = sandbox.counters.workerRestarts
    const started = performance.now()
    const result = await run({
      source: 'function run() { let o = []; for (let i = 0; i < 5000; i++) o = [o]; return o }',
    })
    const elapsed = performance.now() - started
    let depth = 0
    for (let o = result.ok ? result.output : null; Array.isArray(o); o = o[0] as JsonValue) depth++
    expect(result.ok ? `ok, ${depth} deep` : result.error.code).toMatch(/^(ok, 5001 deep|bad_output)$/)
    expect(elapsed).toBeLessThan(TIMEOUT_MS)
    expect(sandbox.counters.workerRestarts).toBe(restarts)
    await healthy()
  })

  // Every host call of a script is a message to this thread, answered here. A script making them in a loop
  // queues them faster than they are answered (15,000 to 25,000 a second measured here), and on a loaded
  // machine its own timeout can wait behind them past the grace period: the pool then terminates the worker.
  // Either way the task ends `timeout` within its deadline plus the grace period.
  it('ends a host-call storm with timeout, and the host keeps answering', async () => {
    let calls = 0
    const restarts = sandbox.counters.workerRestarts
    const started = performance.now()
    const result = await run({
      source: 'function run() { for (;;) device.read("hall.temperature") }',
      grants: {
        'device.read': () => {
          calls++
          return null
        },
      },
      limits: { timeoutMs: 1000 },
    })
    expect(failure(result).code).toBe('timeout')
    expect(performance.now() - started).toBeLessThan(1000 + GRACE_MS + SLACK_MS)
    expect(calls).toBeGreaterThan(0)
    expect(sandbox.counters.workerRestarts - restarts).toBeLessThanOrEqual(1)
    await healthy()
  })
})

// Found by this battery: an engine whose memory cannot grow (a heap of at most 10 MiB, with the 6 MiB base
// inside the 16 MiB minimum) runs out without its memory having grown, and QuickJS, out of memory while
// building the error, throws null: the task ends `thrown` ("threw null"), counted clean, and the engine is kept.
describe('a sandbox configured with a small heap', () => {
  it('ends a memory bomb with memory and drops the engine', async () => {
    const { dir, cleanup } = await tempDir('kith-sandbox-small-')
    const file = await writeText(
      dir,
      'kith.yaml',
      'execution:\n  sandbox: { workers: 1, memoryBytes: 4194304 }\n',
    )
    const sandbox = new WorkerSandbox(sandboxInitFromConfig(await loadConfig(file, { env: {} })))
    await sandbox.start()
    try {
      const discards = sandbox.counters.engineDiscards
      const result = await sandbox.run({
        source: 'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
      })
      expect(failure(result)).toEqual({ code: 'memory', message: 'the task ran out of memory' })
      expect(sandbox.counters.engineDiscards).toBe(discards + 1)
      expect(output(await sandbox.run(TINY))).toBe(42)
    } finally {
      await sandbox.stop()
      await cleanup()
    }
  })
})

describe('hostile script capabilities on a real node', () => {
  const SCRIPTS = {
    spin: 'function run() { for (;;) {} }',
    bomb: 'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
    pollute:
      'function run() { Object.prototype.polluted = true; Array.prototype.push = null; globalThis.secret = "s"; ' +
      'return "done" }',
    inspect:
      'function run(x) { return { x, polluted: ({}).polluted === undefined, push: typeof [].push, ' +
      'secret: typeof secret, process: typeof process } }',
    probe:
      'async function run() { const out = []; const o = {}; o.o = o; ' +
      'for (const arg of [42, { id: "hall.temperature" }, "hall.humidity", "x".repeat(70000), ["hall.temperature"], o]) ' +
      '{ try { out.push(await device.read(arg)) } catch (e) { out.push(e.name + ": " + e.message) } } ' +
      'out.push(await device.read("hall.temperature")); return out }',
  }
  let node: KithNode
  let cleanup: () => Promise<void>
  const call = (capability: keyof typeof SCRIPTS, input: unknown = null) =>
    node.execution.delegate({ target: { capability }, input, timeoutMs: 10_000 })

  beforeAll(async () => {
    let dir: string
    ;({ dir, cleanup } = await tempDir('kith-sandbox-node-'))
    const caps: string[] = []
    for (const [id, source] of Object.entries(SCRIPTS)) {
      const script = await writeText(dir, `${id}.js`, `${source}\n`)
      const sensors = id === 'probe' ? ', sensors: [hall.temperature]' : ''
      caps.push(`  - { id: ${id}, kind: script, title: ${id}, script: ${script}${sensors} }`)
    }
    node = await startTestNode(join(dir, 'node'), {
      // a 2 MiB heap: the bomb reaches it in far less CPU time than the spin's 500 ms deadline, even on a
      // loaded machine (with the default 16 MiB it once hit the deadline first)
      yaml: [
        'execution:',
        `  sandbox: { workers: 2, timeoutMs: 500, memoryBytes: ${2 * 1024 * KIB} }`,
        'capabilities:',
        ...caps,
      ],
    })
  })

  afterAll(async () => {
    await node?.stop()
    await cleanup?.()
  })

  it('ends a spinning capability with timeout while the node’s API keeps answering', async () => {
    let ended = 0
    const spinning = call('spin').then((result) => {
      ended = performance.now()
      return result
    })
    await waitFor('the spin to start', () => node.execution.scheduler.running > 0)
    const health = await fetch(`${node.apiUrl}/healthz`)
    const answered = performance.now()
    expect(health.status).toBe(200)
    expect(await spinning).toMatchObject({
      ok: false,
      status: 'error',
      error: { code: 'timeout' },
      attempts: [{ local: true }],
    })
    expect(answered).toBeLessThan(ended)
    expect(await call('inspect', 1)).toMatchObject({ ok: true, output: { x: 1 } })
  })

  it('ends a memory bomb capability with memory, and runs the next task', async () => {
    expect(await call('bomb')).toMatchObject({ ok: false, error: { code: 'memory' } })
    expect(await call('inspect', 2)).toMatchObject({ ok: true, output: { x: 2 } })
  })

  it('keeps one capability’s pollution from the next', async () => {
    expect(await call('pollute')).toMatchObject({ ok: true, output: 'done' })
    expect(await call('inspect', 3)).toMatchObject({
      ok: true,
      output: { x: 3, polluted: true, push: 'function', secret: 'undefined', process: 'undefined' },
    })
  })

  it('lets device.read answer only its granted sensor, whatever the arguments', async () => {
    expect(await call('probe')).toMatchObject({
      ok: true,
      output: [
        'HostError: not granted: device.read(42)',
        'HostError: not granted: device.read({"id":"hall.temperature"})',
        'HostError: not granted: device.read("hall.humidity")',
        `HostError: the arguments of device.read are larger than ${SANDBOX_DEFAULTS.maxHostCallBytes} bytes`,
        'HostError: not granted: device.read(["hall.temperature"])',
        'TypeError: circular reference',
        null,
      ],
    })
  })

  it('stays healthy after the hostile capabilities', async () => {
    const health = (await (await fetch(`${node.apiUrl}/healthz`)).json()) as { status: string }
    expect(health.status).toBe('ok')
    expect(await call('inspect', 4)).toMatchObject({ ok: true, output: { x: 4 } })
  })
})
