import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type HostFunction,
  Sandbox,
  SandboxClosedError,
  SandboxConfigError,
  type SandboxJob,
  type SandboxResult,
} from '../../src/execution/sandbox/index.ts'
import { MAX_JSON_DEPTH } from '../../src/execution/sandbox/constants.ts'

const MIB = 1024 * 1024
/** the deepest nesting the sandbox takes in inputs, outputs and host call values */
const D = MAX_JSON_DEPTH

function failure(result: SandboxResult): { code: string; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.output)}`)
  return result.error
}

function output(result: SandboxResult): unknown {
  if (!result.ok) throw new Error(`expected an output, got ${result.error.code}: ${result.error.message}`)
  return result.output
}

/** Hostile scripts, each with the failure it must end in. */
const HOSTILE: Record<string, { source: string; code: string }> = {
  loop: { source: 'function run() { for (;;) {} }', code: 'timeout' },
  'loop in a promise': {
    source: 'function run() { return Promise.resolve().then(() => { while (true) {} }) }',
    code: 'timeout',
  },
  'promise storm': {
    source:
      'function run() { const spawn = () => { Promise.resolve().then(spawn); Promise.resolve().then(spawn) }; ' +
      'spawn(); return new Promise(() => {}) }',
    code: 'timeout',
  },
  'array bomb': {
    source: 'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
    code: 'memory',
  },
  'string bomb': {
    source: 'var keep = []; function run() { for (let i = 0;; i++) keep.push("x".repeat(1 << 20) + i) }',
    code: 'memory',
  },
  'doubling string': { source: 'function run() { let s = "x"; for (;;) s += s }', code: 'memory' },
  'bomb inside a promise job': {
    source: 'async function run() { await 0; const a = []; for (;;) a.push([a.length]) }',
    code: 'memory',
  },
  recursion: {
    source: 'function f(n) { return f(n + 1) + 1 } function run() { return f(0) }',
    code: 'stack',
  },
  'recursion in a promise job': {
    source: 'function f(n) { return f(n + 1) + 1 } async function run() { await 0; return f(0) }',
    code: 'stack',
  },
}

describe('Sandbox', () => {
  const sandbox = new Sandbox({ limits: { timeoutMs: 2000 } })
  const run = (job: SandboxJob) => sandbox.run(job)
  const healthy = async () => output(await run({ source: 'function run(x) { return x + 1 }', input: 41 }))

  beforeAll(() => sandbox.start())
  afterAll(() => sandbox.stop())

  it('returns the output of run(input), input and output as JSON', async () => {
    const result = await run({
      source: 'function run(input) { return { sum: input.a + input.b, tags: input.tags.concat("x") } }',
      input: { a: 2, b: 3, tags: ['y'] },
    })
    expect(output(result)).toEqual({ sum: 5, tags: ['y', 'x'] })
    expect(result.cpuMs).toBeGreaterThan(0)
  })

  it('waits for the promise of an async run()', async () => {
    const source = 'async function run(n) { let s = 0; for (let i = 0; i < n; i++) s += await i; return s }'
    expect(output(await run({ source, input: 10 }))).toBe(45)
  })

  for (const [name, { source, code }] of Object.entries(HOSTILE)) {
    it(`ends a ${name} with ${code}, and the next task still works`, async () => {
      const started = performance.now()
      const result = await run({ source, limits: { timeoutMs: code === 'timeout' ? 100 : 5000 } })
      expect(failure(result).code).toBe(code)
      // a behaviour bound, not a timing test: the task ends, well before anything would notice
      expect(performance.now() - started).toBeLessThan(5000)
      expect(await healthy()).toBe(42)
    })
  }

  it('drops the engine after a hostile task instead of disposing its runtime', async () => {
    const before = sandbox.counters.engineDiscards
    expect(
      failure(
        await run({ source: HOSTILE['bomb inside a promise job']!.source, limits: { timeoutMs: 5000 } }),
      ).code,
    ).toBe('memory')
    expect(sandbox.counters.engineDiscards).toBe(before + 1)
    expect(await healthy()).toBe(42)
  })

  it('refuses an oversize input and an oversize output', async () => {
    const source = 'function run(n) { return "x".repeat(n) }'
    expect(failure(await run({ source, input: 'y'.repeat(2000), limits: { maxInputBytes: 1000 } }))).toEqual({
      code: 'input_too_large',
      message: 'the input is larger than 1000 bytes',
    })
    expect(failure(await run({ source, input: 5000, limits: { maxOutputBytes: 1000 } })).code).toBe(
      'output_too_large',
    )
    // multi-byte characters count in UTF-8 bytes, not string length
    expect(
      failure(
        await run({ source: 'function run() { return "é".repeat(600) }', limits: { maxOutputBytes: 1000 } }),
      ).code,
    ).toBe('output_too_large')
    expect(output(await run({ source, input: 900, limits: { maxOutputBytes: 1000 } }))).toHaveLength(900)
  })

  it('returns a clean error when the script throws', async () => {
    expect(failure(await run({ source: 'function run() { throw new TypeError("no kettle") }' }))).toEqual({
      code: 'thrown',
      message: 'TypeError: no kettle',
    })
    expect(failure(await run({ source: 'async function run() { throw 7 }' }))).toEqual({
      code: 'thrown',
      message: 'Error: threw 7',
    })
  })

  it('refuses a script that does not compile or defines no run()', async () => {
    expect(failure(await run({ source: 'function run( {' })).code).toBe('bad_script')
    const missing = failure(await run({ source: 'var x = 1' }))
    expect(missing).toEqual({
      code: 'bad_script',
      message: 'the script defines no global function run(input)',
    })
  })

  it('refuses an output that is not JSON, or a promise that can never settle', async () => {
    expect(failure(await run({ source: 'function run() {}' })).message).toMatch(/returned undefined/)
    expect(failure(await run({ source: 'function run() { return 1n }' })).code).toBe('bad_output')
    expect(failure(await run({ source: 'function run() { const a = {}; a.a = a; return a }' })).code).toBe(
      'bad_output',
    )
    expect(failure(await run({ source: 'function run() { return new Promise(() => {}) }' })).code).toBe(
      'bad_output',
    )
  })

  it('refuses an input that is not JSON', async () => {
    expect(failure(await run({ source: 'function run(x) { return x }', input: 1n })).code).toBe('bad_input')
  })

  it(`refuses an input, an output or host call arguments nested deeper than ${D} levels, and takes ${D}`, async () => {
    const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth))
    const echo = 'function run(x) { return x }'
    expect(output(await run({ source: echo, input: nested(D) }))).toEqual(nested(D))
    expect(failure(await run({ source: echo, input: nested(D + 1) }))).toEqual({
      code: 'bad_input',
      message: `the input is nested deeper than ${D} levels`,
    })
    // brackets inside strings are text, not nesting
    expect(output(await run({ source: echo, input: ['['.repeat(1000), '\\"{'] }))).toHaveLength(2)
    const build = (depth: number) =>
      `function run() { let o = []; for (let i = 1; i < ${depth}; i++) o = [o]; return o }`
    expect(failure(await run({ source: build(D + 1) }))).toEqual({
      code: 'bad_output',
      message: `the output is nested deeper than ${D} levels`,
    })
    const received: unknown[] = []
    const grants: Record<string, HostFunction> = {
      'h.echo': (args) => {
        received.push(args[0])
        return args[0]
      },
    }
    // the argument list is one level itself
    const call = (depth: number) =>
      `function run() { let o = []; for (let i = 1; i < ${depth}; i++) o = [o]; ` +
      'try { return h.echo(o) === undefined } catch (e) { return e.name + ": " + e.message } }'
    expect(output(await run({ source: call(D - 1), grants }))).toBe(false)
    expect(received).toEqual([nested(D - 1)])
    expect(output(await run({ source: call(D), grants }))).toBe(
      `HostError: the arguments of h.echo are nested deeper than ${D} levels`,
    )
    const deep: Record<string, HostFunction> = { 'h.deep': () => nested(D + 1) }
    expect(
      output(
        await run({
          source: 'function run() { try { return h.deep() } catch (e) { return e.message } }',
          grants: deep,
        }),
      ),
    ).toBe(`the host function's result is nested deeper than ${D} levels`)
    expect(await healthy()).toBe(42)
  })

  it('drops the engine of a task that ran out of memory, even when the script caught it and ended well', async () => {
    const before = sandbox.counters.engineDiscards
    const source =
      'function run() { try { const a = []; for (;;) a.push({ n: a.length }) } catch (e) { return "caught" } }'
    expect(output(await run({ source, limits: { timeoutMs: 5000 } }))).toBe('caught')
    expect(sandbox.counters.engineDiscards).toBe(before + 1)
    expect(await healthy()).toBe(42)
  })

  it('gives the same output twice in deterministic mode, whatever the host clock and time zone', async () => {
    const source =
      'function run() { return [Date.now(), new Date().toISOString(), Math.random(), Math.random(), ' +
      'new Date(2024, 0, 1, 10).getHours(), new Date(0).toString(), Date.parse("2024-01-01T10:00"), ' +
      'new Date(0).getTimezoneOffset(), typeof WeakRef, typeof FinalizationRegistry] }'
    const job = { source, deterministic: true, seed: 42, now: 1_700_000_000_000 }
    const first = output(await run(job))
    const zone = process.env.TZ
    process.env.TZ = 'America/New_York'
    try {
      expect(output(await run(job))).toEqual(first)
    } finally {
      if (zone === undefined) delete process.env.TZ
      else process.env.TZ = zone
    }
    expect(first).toEqual([
      1_700_000_000_000,
      '2023-11-14T22:13:20.000Z',
      expect.any(Number),
      expect.any(Number),
      10,
      'Thu Jan 01 1970 00:00:00 GMT+0000',
      Date.UTC(2024, 0, 1, 10),
      0,
      'undefined',
      'undefined',
    ])
    const other = output(await run({ ...job, seed: 43 })) as unknown[]
    expect(other[2]).not.toBe((first as unknown[])[2])
  })

  it('has a working clock and random numbers outside deterministic mode', async () => {
    const before = Date.now()
    const [now, a, b] = output(
      await run({ source: 'function run() { return [Date.now(), Math.random(), Math.random()] }' }),
    ) as number[]
    expect(now).toBeGreaterThanOrEqual(before - 1000)
    expect(now).toBeLessThanOrEqual(Date.now() + 1000)
    expect(a).not.toBe(b)
  })

  it('calls granted host functions, sync and async, and nothing else exists', async () => {
    const seen: unknown[] = []
    const grants: Record<string, HostFunction> = {
      'device.read': async ([topic]) => {
        seen.push(topic)
        return { topic, celsius: 21.5 }
      },
      'math.add': ([a, b]) => Number(a) + Number(b),
    }
    const source =
      'async function run(room) { return { reading: await device.read(room + "/temperature"), ' +
      'sum: math.add(2, 3), write: typeof device.write, lights: typeof lights } }'
    const result = await run({ source, input: 'kitchen', grants })
    expect(output(result)).toEqual({
      reading: { topic: 'kitchen/temperature', celsius: 21.5 },
      sum: 5,
      write: 'undefined',
      lights: 'undefined',
    })
    expect(seen).toEqual(['kitchen/temperature'])
    expect(output(await run({ source: 'function run() { return typeof device }' }))).toBe('undefined')
  })

  it('turns a failing host function into a HostError the script can catch', async () => {
    const grants: Record<string, HostFunction> = {
      'device.read': async () => {
        throw new Error('sensor offline')
      },
      'device.big': () => 'x'.repeat(2000),
    }
    const source =
      'async function run() { const out = []; for (const f of [() => device.read("a"), () => device.big(), ' +
      '() => device.read("y".repeat(2000))]) { try { await f() } catch (e) { out.push(e.name + ": " + e.message) } } ' +
      'return out }'
    const messages = output(await run({ source, grants, limits: { maxHostCallBytes: 1000 } })) as string[]
    expect(messages[0]).toBe('HostError: sensor offline')
    expect(messages[1]).toMatch(/^HostError: .*larger than 1000 bytes/)
    expect(messages[2]).toMatch(/^HostError: the arguments of device.read are larger than 1000 bytes/)
  })

  it('ends a task waiting on a host call at its deadline and aborts the call', async () => {
    let signal: AbortSignal | undefined
    const grants: Record<string, HostFunction> = {
      'device.wait': (_args, options) => {
        signal = options.signal
        return new Promise(() => {})
      },
    }
    const result = await run({
      source: 'function run() { return device.wait() }',
      grants,
      limits: { timeoutMs: 50 },
    })
    expect(failure(result).code).toBe('timeout')
    expect(signal?.aborted).toBe(true)
  })

  it('ends with aborted when the job is aborted', async () => {
    const controller = new AbortController()
    const grants: Record<string, HostFunction> = {
      'device.wait': () => {
        setTimeout(() => controller.abort(), 10)
        return new Promise(() => {})
      },
    }
    const result = await run({
      source: 'function run() { return device.wait() }',
      grants,
      signal: controller.signal,
    })
    expect(failure(result).code).toBe('aborted')
    expect(
      failure(await run({ source: 'function run() { return 1 }', signal: controller.signal })).code,
    ).toBe('aborted')
  })

  it('refuses grant names that are not dotted identifiers or would replace a built-in', async () => {
    const noop: HostFunction = () => null
    const source = 'function run() { return 1 }'
    await expect(run({ source, grants: { 'device..read': noop } })).rejects.toThrow(SandboxConfigError)
    await expect(run({ source, grants: { '__proto__.x': noop } })).rejects.toThrow(SandboxConfigError)
    await expect(run({ source, grants: { device: noop, 'device.read': noop } })).rejects.toThrow(
      SandboxConfigError,
    )
    await expect(run({ source, grants: { 'JSON.parse': noop } })).rejects.toThrow(/built-in JSON/)
    expect(output(await run({ source }))).toBe(1)
  })

  it('refuses limits above the ceilings', async () => {
    const source = 'function run() { return 1 }'
    await expect(run({ source, limits: { stackBytes: 4 * MIB } })).rejects.toThrow(SandboxConfigError)
    await expect(run({ source, limits: { memoryBytes: 64 * MIB } })).rejects.toThrow(SandboxConfigError)
    await expect(run({ source, limits: { timeoutMs: -1 } })).rejects.toThrow(SandboxConfigError)
  })

  it('offers no require, process, fetch, timers or host console', async () => {
    const source =
      'function run() { return [typeof require, typeof process, typeof globalThis.fetch, typeof setTimeout, ' +
      'typeof std, typeof os, typeof call, typeof log] }'
    expect(output(await run({ source }))).toEqual(Array(8).fill('undefined'))
  })

  it('keeps console output in the result, capped', async () => {
    const source = 'function run() { console.log("hello", { a: 1 }); for (;;) console.warn("x".repeat(100)) }'
    const result = await run({ source, limits: { maxLogBytes: 1000, timeoutMs: 50 } })
    expect(result.logs?.[0]).toBe('hello {"a":1}')
    expect(result.logs?.join('').length).toBeLessThanOrEqual(1000)
  })

  it('keeps prototype pollution inside the VM', async () => {
    const source =
      'function run() { Object.prototype.polluted = "yes"; Array.prototype.push = null; JSON.stringify = null; ' +
      'return JSON.parse(\'{"__proto__": {"polluted": "yes"}}\') }'
    const result = await run({ source })
    expect(output(result)).toEqual(JSON.parse('{"__proto__": {"polluted": "yes"}}'))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(await healthy()).toBe(42)
  })

  it('runs tasks side by side, a hostile one next to one waiting on the host', async () => {
    const grants: Record<string, HostFunction> = {
      'device.slow': () => new Promise((resolve) => setTimeout(() => resolve(7), 100)),
    }
    // its deadline is wall-clock time and the hostile tasks hold the event loop while they run (up to their
    // own deadlines), so it gets time enough for all of them
    const waiting = run({
      source: 'async function run() { return (await device.slow()) * 6 }',
      grants,
      limits: { timeoutMs: 10_000 },
    })
    const hostile = Object.values(HOSTILE).map(({ source }) => run({ source, limits: { timeoutMs: 100 } }))
    expect(output(await waiting)).toBe(42)
    expect((await Promise.all(hostile)).every((r) => !r.ok)).toBe(true)
    expect(sandbox.engines).toBeLessThanOrEqual(4)
  })

  it('queues tasks beyond its engines, and hands a waiting task a fresh engine after a dropped one', async () => {
    const single = new Sandbox({ maxEngines: 1 })
    try {
      const grants: Record<string, HostFunction> = {
        'device.slow': () => new Promise((resolve) => setTimeout(() => resolve(1), 30)),
      }
      const first = single.run({
        source: 'async function run() { await device.slow(); for (;;) {} }',
        grants,
        limits: { timeoutMs: 100 },
      })
      const controller = new AbortController()
      const abandoned = single.run({ source: 'function run() { return 0 }', signal: controller.signal })
      const second = single.run({ source: 'function run() { return 2 }' })
      controller.abort()
      expect(failure(await abandoned).code).toBe('aborted')
      expect(failure(await first).code).toBe('timeout')
      expect(output(await second)).toBe(2)
      expect(single.engines).toBe(1)
      expect(single.counters.engineDiscards).toBe(1)
      expect(single.counters.engineLoads).toBe(2)
    } finally {
      await single.stop()
    }
  })

  it('returns the process RSS to near its baseline after 200 hostile tasks', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc()
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return process.memoryUsage().rss
    }
    for (let i = 0; i < 20; i++) await healthy()
    const baseline = await settle()
    const sources = Object.values(HOSTILE).map((h) => h.source)
    const codes = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const result = await run({ source: sources[i % sources.length]!, limits: { timeoutMs: 20 } })
      codes.add(failure(result).code)
    }
    expect([...codes].sort()).toEqual(['memory', 'stack', 'timeout'])
    const after = await settle()
    expect(after - baseline).toBeLessThan(64 * MIB)
    expect(await healthy()).toBe(42)
  }, 120_000)

  it('prepares the next context of a script ahead, and still gives every task a fresh one', async () => {
    const source =
      'var calls = 0; const started = Date.now(); function run(x) { calls++; return { calls, x } }'
    const before = sandbox.counters.prewarmed
    for (let i = 0; i < 5; i++) {
      expect(output(await run({ source, input: i }))).toEqual({ calls: 1, x: i })
      // the preparation runs just after a task: give it its turn, as the gap between two requests would
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(sandbox.counters.prewarmed - before).toBeGreaterThanOrEqual(3)
    // another script, another setup: its first task builds its own context
    expect(output(await run({ source: 'function run() { return typeof calls }' }))).toBe('undefined')
  })

  it('prepares ahead in deterministic mode with the same clock and random numbers as a cold task', async () => {
    const source = 'const first = Math.random(); function run() { return [first, Math.random(), Date.now()] }'
    const job = { source, deterministic: true, seed: 7, now: 1_000 }
    const cold = output(await new Sandbox({ prewarm: false }).run(job))
    const results = []
    for (let i = 0; i < 3; i++) {
      results.push(output(await run(job)))
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(results).toEqual([cold, cold, cold])
  })

  it('does not prepare ahead a script that calls the host as it loads, and its tasks still work', async () => {
    let reads = 0
    const grants: Record<string, HostFunction> = { 'device.read': () => ++reads }
    const source = 'const boot = device.read(); function run() { return boot }'
    const before = sandbox.counters.prewarmed
    for (let i = 0; i < 3; i++) {
      expect(output(await run({ source, grants }))).toBe(i + 1)
      await new Promise((resolve) => setImmediate(resolve))
    }
    // one host call per task, none while nothing was running
    expect(reads).toBe(3)
    expect(sandbox.counters.prewarmed).toBe(before)
  })

  it('refuses tasks once stopped', async () => {
    const stopped = new Sandbox()
    await stopped.stop()
    await expect(stopped.run({ source: 'function run() { return 1 }' })).rejects.toThrow(SandboxClosedError)
  })
})
