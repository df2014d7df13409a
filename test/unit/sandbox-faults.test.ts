/**
 * How the sandbox tells an engine's faults from a script's own failures: running out of memory on an engine
 * whose memory cannot grow, a WebAssembly trap after the allocator was refused memory, an engine failure
 * inside a host callback that the script catches, and how deep a JSON text nests.
 */
import type { QuickJSHandle } from 'quickjs-emscripten-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostFailure } from '../../src/execution/sandbox/classify.ts'
import { loadEngine } from '../../src/execution/sandbox/engine.ts'
import { Sandbox, type SandboxResult } from '../../src/execution/sandbox/index.ts'
import { jsonDepth } from '../../src/execution/sandbox/limits.ts'
import { Prelude } from '../../src/execution/sandbox/prelude.ts'

const MIB = 1024 * 1024
const TINY = { source: 'function run(x) { return x + 1 }', input: 41 }

function failure(result: SandboxResult): { code: string; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.output)}`)
  return result.error
}

/** a trap as the WebAssembly module throws it (the project's TypeScript libs do not declare WebAssembly) */
function trap(message: string): Error {
  const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } })
    .WebAssembly
  return new RuntimeError(message)
}

describe('a sandbox whose engines cannot grow (a heap of 10 MiB or less)', () => {
  const sandbox = new Sandbox({ maxEngines: 1, limits: { memoryBytes: 4 * MIB, timeoutMs: 5000 } })

  beforeAll(() => sandbox.start())
  afterAll(() => sandbox.stop())

  it('ends a memory bomb with memory and drops the engine, though QuickJS threw null', async () => {
    for (const source of [
      'function run() { const a = []; for (;;) a.push({ n: a.length }) }',
      // QuickJS throws '' for this one
      'function run() { let s = "x"; const keep = []; for (;;) keep.push(s += s.length) }',
    ]) {
      const discards = sandbox.counters.engineDiscards
      expect(failure(await sandbox.run({ source }))).toEqual({
        code: 'memory',
        message: 'the task ran out of memory',
      })
      expect(sandbox.counters.engineDiscards).toBe(discards + 1)
      expect(await sandbox.run(TINY)).toMatchObject({ ok: true, output: 42 })
    }
  })

  it('ends a script’s own throw null, or throw "", as thrown and keeps the engine', async () => {
    const discards = sandbox.counters.engineDiscards
    expect(failure(await sandbox.run({ source: 'function run() { throw null }' }))).toEqual({
      code: 'thrown',
      message: 'Error: threw null',
    })
    expect(failure(await sandbox.run({ source: 'function run() { throw "" }' })).code).toBe('thrown')
    expect(sandbox.counters.engineDiscards).toBe(discards)
  })
})

describe('hostFailure', () => {
  it('takes a WebAssembly trap for running out of memory only once the allocator was refused memory', () => {
    const oob = trap('memory access out of bounds')
    expect(hostFailure(oob, true)).toEqual({ code: 'memory', message: 'the task ran out of memory' })
    expect(hostFailure(oob)).toEqual({
      code: 'internal',
      message: 'the engine failed: RuntimeError: memory access out of bounds',
    })
    expect(hostFailure(new RangeError('Maximum call stack size exceeded'), true).code).toBe('stack')
    expect(hostFailure(new Error('a host bug'), true).code).toBe('internal')
  })
})

describe('an engine failure inside a host callback', () => {
  it('is reported to the host even when the script catches it', async () => {
    const engine = await loadEngine(16 * MIB)
    const context = engine.module.newContext()
    const handles: QuickJSHandle[] = []
    const faults: unknown[] = []
    const oob = trap('memory access out of bounds')
    new Prelude(
      context,
      {
        call: () => {
          throw oob
        },
        log: () => {},
        fault: (err) => faults.push(err),
      },
      { grants: ['device.read'], maxLine: 1024, maxCallBytes: 1024 },
      (handle) => {
        handles.push(handle)
        return handle
      },
    )
    const result = context.evalCode(
      'try { device.read("x"); "not reached" } catch (e) { "caught " + e.name }',
    )
    expect(context.dump(context.unwrapResult(result))).toBe('caught RuntimeError')
    expect(faults).toEqual([oob])
    for (const handle of handles.reverse()) if (handle.alive) handle.dispose()
    context.dispose()
  })
})

describe('jsonDepth', () => {
  it('counts nested arrays and objects, not brackets inside strings or after escapes', () => {
    expect(jsonDepth('1')).toBe(0)
    expect(jsonDepth('"[[{"')).toBe(0)
    expect(jsonDepth('{"a":[1,"]"]}')).toBe(2)
    expect(jsonDepth('["\\"[[",[{}]]')).toBe(3)
    expect(jsonDepth('[[],[],[[]]]')).toBe(3)
  })

  it('stops counting once past the bound', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(jsonDepth(deep, 256)).toBe(257)
    expect(jsonDepth(deep)).toBe(100_000)
  })
})
