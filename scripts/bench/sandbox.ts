/**
 * QuickJS-WASM sandbox (execution issue): the cost of loading the engine once, of a bare QuickJS task
 * (runtime + context + eval of a tiny run() + dispose), of a whole `Sandbox.run()` of a tiny task (prelude,
 * JSON input parsed in the VM, output serialised in the VM and size-checked), with one async host call, and
 * how many tiny tasks one core runs per second in process. Also the engine reload that follows every
 * hostile task (an engine is dropped after a timeout, memory or stack failure). Then the same tiny tasks
through a `WorkerSandbox` (one worker thread: the round trip of the job and result messages, and of a host
call, on top of the task) and the start of one worker (what replacing a terminated one costs).
 *
 * KITH_BENCH_SANDBOX_TASKS sets the timed tasks per run for each per-task metric (default 1000).
 */
import { join } from 'node:path'
import { loadEngine } from '../../src/execution/sandbox/engine.ts'
import {
  type HostFunction,
  Sandbox,
  type SandboxJob,
  WorkerSandbox,
} from '../../src/execution/sandbox/index.ts'
import { Child, MIB } from './lib/process.ts'
import { inOrder } from './lib/stats.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'sandbox'
export const description =
  'QuickJS-WASM sandbox in process (quickjs-emscripten-core 0.32 + @jitl/quickjs-singlefile-cjs-release-sync, ' +
  '16 MiB engines): `module-load` imports the packages and instantiates the first engine in a fresh Node ' +
  'process (once per run; `module-import` + `module-instantiate`), `rss-module` is that process’s RSS growth ' +
  'and `rss-engine` the RSS of each further engine (one per concurrent task); `cold-start` is a bare QuickJS runtime + context + eval of a tiny ' +
  'run() + call + dispose; `task` a whole Sandbox.run() of a tiny task (prelude, JSON in and out), back to ' +
  'back, so that each one also waits for the disposal of the one before and the preparation of its own ' +
  'context; `task-prepared` the same with a 2 ms pause before each task, as between two requests, so that ' +
  'the context prepared ahead after each task is ready when the next one starts; ' +
  '`task-host-call` is `task` with one async host function call, `task-deterministic` `task` with the fixed ' +
  'clock and seeded random; `throughput` tiny Sandbox.run() tasks back to back for 1 s on one core; `engine-reload` ' +
  'loading one more engine in a warm process, the price of dropping one after a hostile task; ' +
  '`worker-task`, `worker-task-prepared` and `worker-task-host-call` are `task`, `task-prepared` and ' +
  '`task-host-call` through a WorkerSandbox of one ' +
  'worker thread (job and result as messages, the host call made in the main thread), `worker-start` a new ' +
  'worker thread until its engine is loaded (its module imports included), the price of replacing a worker ' +
  'terminated at a deadline or abort.'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'cold-start': { max: 1 },
  task: { max: 1 },
  throughput: { min: 1000 },
}

const WARMUP = 300
/** The pause before each `*-prepared` task: the sandbox prepares the next context in the meantime. */
const GAP_MS = 2
const THROUGHPUT_MS = 1000
const RELOADS = 10
const TINY: SandboxJob = {
  source: 'function run(input) { return { sum: input.a + input.b, room: input.room } }',
  input: { a: 2, b: 3, room: 'kitchen' },
}
const EXTRA_ENGINES = 4
const LOAD_SCRIPT = (root: string) => `
const rss = () => process.memoryUsage().rss
const before = rss()
const started = performance.now()
await import('quickjs-emscripten-core')
await import('@jitl/quickjs-singlefile-cjs-release-sync')
const { loadEngine } = await import(${JSON.stringify(join(root, 'src/execution/sandbox/engine.ts'))})
const imported = performance.now()
const engines = [await loadEngine(16 * 1024 * 1024)]
const context = engines[0].module.newContext()
context.unwrapResult(context.evalCode('1 + 1')).dispose()
context.dispose()
const loaded = performance.now()
const afterOne = rss()
for (let i = 0; i < ${EXTRA_ENGINES}; i++) engines.push(await loadEngine(16 * 1024 * 1024))
console.log(JSON.stringify({
  import: imported - started,
  instantiate: loaded - imported,
  rss: afterOne - before,
  rssEngine: (rss() - afterOne) / ${EXTRA_ENGINES},
}))
`

interface ModuleLoad {
  import: number
  instantiate: number
  rss: number
  rssEngine: number
}

/** Imports and instantiates the engine in a fresh process: the once-per-process cost. */
async function measureModuleLoad(ctx: BenchContext): Promise<ModuleLoad> {
  const child = new Child(process.execPath, ['--input-type=module', '-e', LOAD_SCRIPT(ctx.root)], {
    cwd: ctx.root,
  })
  try {
    const exit = await child.waitForExit(60_000)
    const line = child.stdout[0]?.text
    if (exit.code !== 0 || line == null) throw new Error(`exit code ${exit.code}`)
    return JSON.parse(line) as ModuleLoad
  } catch (err) {
    child.kill()
    throw new Error(`module load: ${(err as Error).message}\n${child.stderrTail()}`, { cause: err })
  }
}

/** A bare QuickJS task on one engine, as the design notes measured it (0.34 ms p50 there). */
async function measureColdStart(count: number): Promise<number[]> {
  const engine = await loadEngine(16 * MIB)
  const once = () => {
    const runtime = engine.module.newRuntime()
    runtime.setMemoryLimit(16 * MIB)
    runtime.setMaxStackSize(256 * 1024)
    const context = runtime.newContext()
    const result = context.evalCode('function run(input) { return input + 1 }; run(41)')
    context.unwrapResult(result).dispose()
    context.dispose()
    runtime.dispose()
  }
  for (let i = 0; i < WARMUP; i++) once()
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    once()
    times.push(performance.now() - started)
  }
  return times
}

/** A new worker thread, from spawn until its engine is loaded: what replacing a terminated one costs. */
async function workerStarts(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < RELOADS; i++) {
    const pool = new WorkerSandbox({ workers: 1 })
    const started = performance.now()
    await pool.start()
    times.push(performance.now() - started)
    await pool.stop()
  }
  return times
}

/** `count` tasks back to back, or with a pause of `gapMs` before each (the gap between two requests). */
async function timeTasks(
  sandbox: Pick<Sandbox, 'run'>,
  job: SandboxJob,
  count: number,
  gapMs = 0,
): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await sandbox.run(job)
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
    const started = performance.now()
    const result = await sandbox.run(job)
    times.push(performance.now() - started)
    if (!result.ok) throw new Error(`tiny task failed: ${result.error.code}: ${result.error.message}`)
  }
  return times
}

async function throughput(sandbox: Sandbox): Promise<number> {
  let done = 0
  const started = performance.now()
  while (performance.now() - started < THROUGHPUT_MS) {
    await sandbox.run(TINY)
    done++
  }
  return (done * 1000) / (performance.now() - started)
}

async function engineReloads(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < RELOADS; i++) {
    const started = performance.now()
    await loadEngine(16 * MIB)
    times.push(performance.now() - started)
  }
  return times
}

const p = (times: readonly number[], q: number) =>
  [...times].sort((a, b) => a - b)[Math.floor(q * times.length)]!

/**
 * Per run: one fresh process for the module load, then the per-task metrics in this process.
 *
 * @example
 * KITH_BENCH_RUNS=1 npm run bench -- sandbox
 */
export async function run(ctx: BenchContext): Promise<RunOutput> {
  const count = ctx.envInt('KITH_BENCH_SANDBOX_TASKS', 1000)
  const samples = new SampleSet()
  const add = samples.add.bind(samples)
  const grants: Record<string, HostFunction> = {
    'device.read': async ([topic]) => ({ topic, celsius: 21.5 }),
  }
  const hostCall: SandboxJob = {
    source: 'async function run(room) { return (await device.read(room + "/temperature")).celsius }',
    input: 'kitchen',
    grants,
  }

  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    const load = await measureModuleLoad(ctx)
    add('module-load', 'ms', [load.import + load.instantiate])
    add('module-import', 'ms', [load.import])
    add('module-instantiate', 'ms', [load.instantiate])
    add('rss-module', 'MiB', [load.rss / MIB])
    add('rss-engine', 'MiB', [load.rssEngine / MIB])

    const cold = await measureColdStart(count)
    add('cold-start', 'ms', cold)
    const sandbox = new Sandbox()
    await sandbox.start()
    const tasks = await timeTasks(sandbox, TINY, count)
    add('task', 'ms', tasks)
    add('task-prepared', 'ms', await timeTasks(sandbox, TINY, count, GAP_MS))
    add('task-host-call', 'ms', await timeTasks(sandbox, hostCall, count))
    add(
      'task-deterministic',
      'ms',
      await timeTasks(sandbox, { ...TINY, deterministic: true, seed: 1 }, count),
    )
    const perSecond = await throughput(sandbox)
    add('throughput', 'tasks/s', [perSecond])
    add('engine-reload', 'ms', await engineReloads())
    await sandbox.stop()
    const pool = new WorkerSandbox({ workers: 1 })
    await pool.start()
    const workerTasks = await timeTasks(pool, TINY, count)
    add('worker-task', 'ms', workerTasks)
    add('worker-task-prepared', 'ms', await timeTasks(pool, TINY, count, GAP_MS))
    add('worker-task-host-call', 'ms', await timeTasks(pool, hostCall, count))
    await pool.stop()
    add('worker-start', 'ms', await workerStarts())
    ctx.log(
      `run ${runNo}/${ctx.runs}: worker task p50 ${p(workerTasks, 0.5).toFixed(3)} ms p99 ${p(workerTasks, 0.99).toFixed(3)} ms`,
    )
    ctx.log(
      `run ${runNo}/${ctx.runs}: module load ${(load.import + load.instantiate).toFixed(1)} ms, cold start p50 ${p(cold, 0.5).toFixed(3)} ms, ` +
        `task p50 ${p(tasks, 0.5).toFixed(3)} ms p99 ${p(tasks, 0.99).toFixed(3)} ms, ${Math.round(perSecond)} tasks/s`,
    )
  }

  const order = [
    'module-load',
    'module-import',
    'module-instantiate',
    'rss-module',
    'rss-engine',
    'cold-start',
    'task',
    'task-prepared',
    'task-host-call',
    'task-deterministic',
    'throughput',
    'engine-reload',
    'worker-task',
    'worker-task-prepared',
    'worker-task-host-call',
    'worker-start',
  ]
  return {
    results: inOrder(samples, order),
    comparisons: [
      {
        name: 'Sandbox.run() vs bare QuickJS runtime+context+eval',
        numerator: 'task',
        denominator: 'cold-start',
      },
      { name: 'one async host call vs none', numerator: 'task-host-call', denominator: 'task' },
      {
        name: 'tiny task on a context prepared ahead vs back to back',
        numerator: 'task-prepared',
        denominator: 'task',
      },
      {
        name: 'tiny task through a worker thread vs in process',
        numerator: 'worker-task',
        denominator: 'task',
      },
      {
        name: 'one async host call vs none, through a worker thread',
        numerator: 'worker-task-host-call',
        denominator: 'worker-task',
      },
      {
        name: 'engine reload vs tiny task (cost of a hostile task)',
        numerator: 'engine-reload',
        denominator: 'task',
      },
    ],
  }
}
