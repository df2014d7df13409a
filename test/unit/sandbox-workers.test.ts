import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type HostFunction,
  SandboxClosedError,
  SandboxConfigError,
  type SandboxResult,
  WorkerSandbox,
} from '../../src/execution/sandbox/index.ts'
import { MAX_JSON_DEPTH } from '../../src/execution/sandbox/constants.ts'

const WORKER = new URL('../../src/execution/sandbox/worker.ts', import.meta.url)
const TINY = { source: 'function run(x) { return x + 1 }', input: 41 }
const SPIN = 'function run() { const end = Date.now() + 30000; while (Date.now() < end) {} return "spun" }'

/**
 * The real worker file behind a listener that misbehaves first: it throws (an uncaught exception ends the
 * thread), blocks the thread's own JavaScript forever, which no QuickJS interrupt can reach, or posts a
 * message the main thread cannot decode (a structured clone 8,000 levels deep: V8 writes it, but its
 * reader runs out of stack).
 */
const MISBEHAVING = `
import { parentPort } from 'node:worker_threads'
parentPort.on('message', (m) => {
  if (m.type !== 'job') return
  if (m.source.includes('KITH_TEST_CRASH')) throw new Error('crashed on purpose')
  if (m.source.includes('KITH_TEST_HANG')) for (;;) {}
  if (m.source.includes('KITH_TEST_UNDECODABLE')) {
    let deep = []
    for (let i = 0; i < 8000; i++) deep = [deep]
    parentPort.postMessage({ type: 'result', id: m.id, deep })
  }
})
await import(${JSON.stringify(WORKER.href)})
`

function failure(result: SandboxResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.output)}`)
  return result.error.code
}

function output(result: SandboxResult): unknown {
  if (!result.ok) throw new Error(`expected an output, got ${result.error.code}: ${result.error.message}`)
  return result.output
}

describe('WorkerSandbox', () => {
  let dir: string
  let sandbox: WorkerSandbox

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kith-sandbox-workers-'))
    const url = pathToFileURL(join(dir, 'misbehaving-worker.mjs'))
    await writeFile(url, MISBEHAVING)
    sandbox = new WorkerSandbox({ workers: 2, limits: { timeoutMs: 300 }, workerUrl: url })
    await sandbox.start()
  })

  afterAll(async () => {
    await sandbox.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs a task on a worker and returns its output', async () => {
    const result = await sandbox.run({
      source: 'function run(input) { return { sum: input.a + input.b } }',
      input: { a: 2, b: 3 },
    })
    expect(output(result)).toEqual({ sum: 5 })
    expect(result.cpuMs).toBeGreaterThan(0)
    expect(sandbox.counters.engineLoads).toBeGreaterThanOrEqual(2)
  })

  it('makes host calls in the main thread, sync or async, errors included', async () => {
    const seen: AbortSignal[] = []
    const grants: Record<string, HostFunction> = {
      'device.read': async ([topic], { signal }) => {
        seen.push(signal)
        return { topic, celsius: 21.5 }
      },
      'device.name': () => 'kitchen',
      'device.fail': () => {
        throw new Error('no such device')
      },
    }
    const result = await sandbox.run({
      source:
        'async function run(room) { const r = await device.read(room + "/t"); let e = ""; ' +
        'try { await device.fail() } catch (err) { e = err.name + ": " + err.message } ' +
        'return { r, name: await device.name(), e } }',
      input: 'kitchen',
      grants,
    })
    expect(output(result)).toEqual({
      r: { topic: 'kitchen/t', celsius: 21.5 },
      name: 'kitchen',
      e: 'HostError: no such device',
    })
    expect(seen[0]?.aborted).toBe(true)
    expect(sandbox.counters.hostCalls).toBeGreaterThanOrEqual(3)
  })

  it('refuses a host result larger than maxHostCallBytes', async () => {
    const result = await sandbox.run({
      source: 'async function run() { try { await big.get() } catch (err) { return err.message } }',
      grants: { 'big.get': () => 'x'.repeat(2048) },
      limits: { maxHostCallBytes: 1024 },
    })
    expect(output(result)).toMatch(/larger than 1024 bytes/)
  })

  it('keeps the main event loop turning while a script spins, and times the script out', async () => {
    let ticks = 0
    const interval = setInterval(() => ticks++, 10)
    try {
      expect(failure(await sandbox.run({ source: SPIN }))).toBe('timeout')
    } finally {
      clearInterval(interval)
    }
    expect(ticks).toBeGreaterThanOrEqual(3)
    expect(output(await sandbox.run(TINY))).toBe(42)
  })

  it('terminates a worker whose thread does not answer by the deadline, and replaces it', async () => {
    const restarts = sandbox.counters.workerRestarts
    const result = await sandbox.run({ source: `// KITH_TEST_HANG\n${TINY.source}` })
    expect(failure(result)).toBe('timeout')
    expect(sandbox.counters.workerRestarts).toBe(restarts + 1)
    expect(output(await sandbox.run(TINY))).toBe(42)
  })

  it('ends an aborted task at once by terminating its worker', async () => {
    const restarts = sandbox.counters.workerRestarts
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const started = performance.now()
    const result = await sandbox.run({
      source: SPIN,
      limits: { timeoutMs: 30_000 },
      signal: controller.signal,
    })
    expect(failure(result)).toBe('aborted')
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(sandbox.counters.workerRestarts).toBe(restarts + 1)
    expect(output(await sandbox.run(TINY))).toBe(42)
  })

  it('fails the task of a worker that crashes with internal, and replaces the worker', async () => {
    const restarts = sandbox.counters.workerRestarts
    const result = await sandbox.run({ source: `// KITH_TEST_CRASH\n${TINY.source}` })
    expect(failure(result)).toBe('internal')
    expect(sandbox.counters.workerRestarts).toBe(restarts + 1)
    expect(output(await sandbox.run(TINY))).toBe(42)
  })

  it('fails the task at once with internal when its worker sends what cannot be decoded, and replaces the worker', async () => {
    const restarts = sandbox.counters.workerRestarts
    const started = performance.now()
    const result = await sandbox.run({
      source: `// KITH_TEST_UNDECODABLE\n${TINY.source}`,
      limits: { timeoutMs: 5000 },
    })
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: 'internal',
        message: 'a message from the sandbox worker could not be decoded: Maximum call stack size exceeded',
      },
    })
    // well before the deadline the job would otherwise have waited for
    expect(performance.now() - started).toBeLessThan(4000)
    expect(sandbox.counters.workerRestarts).toBe(restarts + 1)
    expect(output(await sandbox.run(TINY))).toBe(42)
  })

  it(`carries outputs and host call arguments as JSON text, refusing more than ${MAX_JSON_DEPTH} levels of nesting`, async () => {
    const restarts = sandbox.counters.workerRestarts
    const nest = (depth: number) => `let o = []; for (let i = 1; i < ${depth}; i++) o = [o]`
    // the deadline is wall-clock time: on a loaded machine the suite's 300 ms can pass before the check
    const limits = { timeoutMs: 10_000 }
    const deep = await sandbox.run({ source: `function run() { ${nest(5000)}; return o }`, limits })
    expect(deep).toMatchObject({
      ok: false,
      error: { code: 'bad_output', message: `the output is nested deeper than ${MAX_JSON_DEPTH} levels` },
    })
    let depth = 0
    const result = await sandbox.run({
      limits,
      source: `function run() { ${nest(MAX_JSON_DEPTH - 1)}; return h.depth(o) }`,
      grants: {
        'h.depth': ([value]) => {
          for (let o = value; Array.isArray(o); o = o[0]) depth++
          return [value]
        },
      },
    })
    expect(depth).toBe(MAX_JSON_DEPTH - 1)
    expect(JSON.stringify(output(result))).toBe('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))
    expect(sandbox.counters.workerRestarts).toBe(restarts)
  })

  it('throws for the caller mistakes Sandbox throws for, from either thread', async () => {
    await expect(sandbox.run({ ...TINY, grants: { 'bad name': () => 1 } })).rejects.toThrow(
      SandboxConfigError,
    )
    await expect(sandbox.run({ ...TINY, grants: { 'JSON.evil': () => 1 } })).rejects.toThrow(
      SandboxConfigError,
    )
    await expect(sandbox.run({ ...TINY, limits: { stackBytes: 4 << 20 } })).rejects.toThrow(
      SandboxConfigError,
    )
    expect(output(await sandbox.run(TINY))).toBe(42)
  })
})

describe('WorkerSandbox queue and stop', () => {
  it('queues tasks beyond its workers, and answers at once beyond its queue', async () => {
    // only the spinning task has a short deadline: on a loaded machine the queued one may follow it onto a
    // fresh worker, whose first task is slow
    const sandbox = new WorkerSandbox({ workers: 1, maxQueue: 1, limits: { timeoutMs: 10_000 } })
    await sandbox.start()
    try {
      const results = await Promise.all([
        sandbox.run({ source: SPIN, limits: { timeoutMs: 300 } }),
        sandbox.run(TINY),
        sandbox.run(TINY),
      ])
      expect(results.map((r) => (r.ok ? r.output : r.error.code))).toEqual(['timeout', 42, 'internal'])
      expect(results[2]).toMatchObject({ error: { message: expect.stringMatching(/queue is full/) } })
    } finally {
      await sandbox.stop()
    }
  })

  it('stop() terminates every worker: running tasks end aborted, new ones are refused', async () => {
    const sandbox = new WorkerSandbox({ workers: 2, limits: { timeoutMs: 30_000 } })
    await sandbox.start()
    // each task tells the host it runs, then spins: stop() then meets two workers busy in JavaScript
    let spinning = 0
    const grants: Record<string, HostFunction> = {
      'device.started': () => {
        spinning++
        return null
      },
    }
    const source = `async function run() { await device.started(); ${SPIN.slice('function run() {'.length)}`
    const running = [sandbox.run({ source, grants }), sandbox.run({ source, grants })]
    await vi.waitFor(() => expect(spinning).toBe(2), { timeout: 10_000 })
    const started = performance.now()
    await sandbox.stop()
    expect((await Promise.all(running)).map(failure)).toEqual(['aborted', 'aborted'])
    expect(performance.now() - started).toBeLessThan(5_000)
    await expect(sandbox.run(TINY)).rejects.toThrow(SandboxClosedError)
  })
})

describe('WorkerSandbox memory', () => {
  const MIB = 1024 * 1024
  const BOMBS = [
    'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
    'function run() { let s = "x"; for (;;) s += s }',
  ]

  it('replaces an idle worker that dropped engines, and the process RSS comes back near its baseline', async () => {
    const sandbox = new WorkerSandbox({ workers: 2, limits: { timeoutMs: 5_000 }, recycleIdleMs: 100 })
    await sandbox.start()
    try {
      for (let i = 0; i < 20; i++) await sandbox.run(TINY)
      const baseline = process.memoryUsage().rss
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => sandbox.run({ source: BOMBS[i % 2]! })),
        )
        expect(new Set(results.map(failure))).toEqual(new Set(['memory']))
        // a worker that dropped engines is replaced once it has sat idle for recycleIdleMs
        const recycled = sandbox.counters.workerRecycles
        await vi.waitFor(() => expect(sandbox.counters.workerRecycles).toBeGreaterThan(recycled), {
          timeout: 10_000,
        })
      }
      // every worker dropped engines and then sat idle: each was replaced at least once
      expect(sandbox.counters.workerRecycles).toBeGreaterThanOrEqual(2)
      expect(process.memoryUsage().rss - baseline).toBeLessThan(64 * MIB)
      expect(output(await sandbox.run(TINY))).toBe(42)
    } finally {
      await sandbox.stop()
    }
  }, 60_000)

  it('keeps a worker busy with tasks instead of replacing it', async () => {
    const sandbox = new WorkerSandbox({ workers: 1, limits: { timeoutMs: 5_000 }, recycleIdleMs: 200 })
    await sandbox.start()
    try {
      expect(failure(await sandbox.run({ source: BOMBS[0]! }))).toBe('memory')
      for (let i = 0; i < 20; i++) {
        expect(output(await sandbox.run(TINY))).toBe(42)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      expect(sandbox.counters.workerRecycles).toBe(0)
    } finally {
      await sandbox.stop()
    }
  })
})

describe('WorkerSandbox idle workers', () => {
  it('ends idle workers beyond warmWorkers and starts them again on demand', async () => {
    const sandbox = new WorkerSandbox({ workers: 2, warmWorkers: 0, idleTimeoutMs: 100 })
    await sandbox.start()
    try {
      // start() checks the installation with one worker, which then ends once idle
      await vi.waitFor(() => expect(sandbox.counters.workerRetires).toBe(1), { timeout: 10_000 })
      const results = await Promise.all([sandbox.run(TINY), sandbox.run(TINY)])
      expect(results.map(output)).toEqual([42, 42])
      await vi.waitFor(() => expect(sandbox.counters.workerRetires).toBe(3), { timeout: 10_000 })
      expect(output(await sandbox.run(TINY))).toBe(42)
    } finally {
      await sandbox.stop()
    }
  })

  it('keeps warmWorkers running however long they are idle', async () => {
    // fake timeouts: the idle timers are the pool's own, so advancing them shows every one of them fired
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const sandbox = new WorkerSandbox({ workers: 2, warmWorkers: 1, idleTimeoutMs: 50 })
    try {
      await sandbox.start()
      await Promise.all([sandbox.run(TINY), sandbox.run(TINY)])
      await vi.advanceTimersByTimeAsync(50)
      expect(sandbox.counters.workerRetires).toBe(1)
      // six more idle timeouts pass: the warm worker stays
      await vi.advanceTimersByTimeAsync(300)
      expect(vi.getTimerCount()).toBe(0)
      expect(sandbox.counters.workerRetires).toBe(1)
      expect(sandbox.counters.workerRestarts).toBe(0)
    } finally {
      vi.useRealTimers()
      await sandbox.stop()
    }
  })
})
