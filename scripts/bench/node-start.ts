/**
 * Node start-to-ready time and idle memory (foundation issue): `kith start` as a child process, timed from
 * spawn to its ready line on stdout, its RSS read from /proc after an idle wait, then SIGTERM and exit 0.
 * Each run also starts the same node in-process from its modules, to split the CLI time into Node's boot,
 * module import, and createNode + start(); and measures a bare Node process as the floor for RSS.
 *
 * KITH_BENCH_IDLE_MS shortens the 30 s idle wait for quick checks (the idle RSS then means less).
 */

import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Child, MIB, readMemoryStatus, runCli } from './lib/process.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'

export const name = 'node-start'
export const description =
  '`kith start` on loopback (TCP port 0, API port 0, fresh `kith init` per run, sequential runs): spawn to ' +
  'the `{"event":"ready"}` line, RSS (VmRSS) at ready and after an idle wait, peak RSS, SIGTERM to exit 0; ' +
  'then the same node started in-process from src (phases timed inside one fresh process), and a bare ' +
  '`node -e` process for the RSS floor.'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'ready-cli': { max: 1000 },
  'rss-idle': { max: 64 },
}

/** Table order: times from outside, their parts from inside, then memory. */
const ORDER = [
  'ready-cli',
  'boot-node',
  'import-src',
  'create-node',
  'start',
  'ready-in-process',
  'ready-in-process-warm',
  'stop',
  'rss-ready',
  'rss-idle',
  'rss-peak',
  'rss-after-import',
  'rss-bare-node',
]

const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const IN_PROCESS_TIMEOUT_MS = 60_000

interface InProcessTimings {
  boot: number
  import: number
  loadConfig: number
  createNode: number
  start: number
  ready: number
  readyWarm: number
  rssBefore: number
  rssImported: number
  rssReady: number
}

/** One `kith start` from spawn to exit: times in ms, memory in bytes. */
async function measureCli(ctx: BenchContext, config: string, idleMs: number) {
  const started = performance.now()
  const child = new Child(
    process.execPath,
    [join(ctx.root, 'src/cli/main.ts'), 'start', '--config', config],
    {
      cwd: ctx.root,
    },
  )
  try {
    const readyAt = await child.waitForStdout((line) => line.startsWith('{"event":"ready"'), READY_TIMEOUT_MS)
    const atReady = await readMemoryStatus(child.pid)
    await sleep(idleMs)
    const idle = await readMemoryStatus(child.pid)
    const stopAt = performance.now()
    child.process.kill('SIGTERM')
    const exit = await child.waitForExit(STOP_TIMEOUT_MS)
    if (exit.code !== 0) throw new Error(`exit code ${exit.code}, signal ${exit.signal}`)
    // the pid whose memory was read must be the node that logged, not a wrapper around it
    const pids = new Set(child.stderr.flatMap((l) => /"pid":(\d+)/.exec(l.text)?.[1] ?? []))
    if (pids.size !== 1 || !pids.has(String(child.pid))) {
      throw new Error(`measured pid ${child.pid} but the node logged as ${[...pids].join(', ') || 'nobody'}`)
    }
    return {
      ready: readyAt - started,
      rssReady: atReady.rss,
      rssIdle: idle.rss,
      rssPeak: idle.peakRss,
      stop: exit.at - stopAt,
    }
  } catch (err) {
    child.kill()
    throw new Error(`kith start: ${(err as Error).message}\n${child.stderrTail()}`, { cause: err })
  }
}

async function measureInProcess(ctx: BenchContext, config: string): Promise<InProcessTimings> {
  const script = join(ctx.root, 'scripts/bench/lib/node-in-process.ts')
  const child = new Child(process.execPath, [script, config], { cwd: ctx.root })
  try {
    const exit = await child.waitForExit(IN_PROCESS_TIMEOUT_MS)
    const line = child.stdout[0]?.text
    if (exit.code !== 0 || line == null) throw new Error(`exit code ${exit.code}`)
    return JSON.parse(line) as InProcessTimings
  } catch (err) {
    child.kill()
    throw new Error(`in-process start: ${(err as Error).message}\n${child.stderrTail()}`, { cause: err })
  }
}

/** RSS of a Node process that loads nothing, read once it has settled. */
async function measureBareNode(ctx: BenchContext): Promise<number> {
  const child = new Child(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], {
    cwd: ctx.root,
  })
  try {
    await child.waitForStdout((line) => line === 'up', READY_TIMEOUT_MS)
    await sleep(500)
    return (await readMemoryStatus(child.pid)).rss
  } finally {
    child.kill()
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const idleMs = ctx.envInt('KITH_BENCH_IDLE_MS', 30_000)
  const samples = new Map<string, { unit: string; values: number[] }>()
  const add = (metric: string, unit: string, value: number) => {
    const entry = samples.get(metric) ?? { unit, values: [] }
    entry.values.push(value)
    samples.set(metric, entry)
  }

  for (let i = 1; i <= ctx.runs; i++) {
    const dir = join(ctx.tmpDir, `run-${i}`)
    await runCli(ctx.root, ['init', '--dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    const config = join(dir, 'kith.yaml')

    const cli = await measureCli(ctx, config, idleMs)
    add('ready-cli', 'ms', cli.ready)
    add('rss-ready', 'MiB', cli.rssReady / MIB)
    add('rss-idle', 'MiB', cli.rssIdle / MIB)
    add('rss-peak', 'MiB', cli.rssPeak / MIB)
    add('stop', 'ms', cli.stop)

    const inner = await measureInProcess(ctx, config)
    add('boot-node', 'ms', inner.boot)
    add('import-src', 'ms', inner.import)
    add('create-node', 'ms', inner.createNode)
    add('start', 'ms', inner.start)
    add('ready-in-process', 'ms', inner.ready)
    add('ready-in-process-warm', 'ms', inner.readyWarm)
    add('rss-bare-node', 'MiB', (await measureBareNode(ctx)) / MIB)
    add('rss-after-import', 'MiB', inner.rssImported / MIB)

    ctx.log(
      `run ${i}/${ctx.runs}: ready ${cli.ready.toFixed(0)} ms (in-process: import ${inner.import.toFixed(0)} ms, ` +
        `createNode+start ${inner.ready.toFixed(0)} ms), RSS idle ${(cli.rssIdle / MIB).toFixed(1)} MiB`,
    )
  }

  const results: MetricSamples[] = ORDER.map((metric) => {
    const entry = samples.get(metric)
    if (entry == null) throw new Error(`no samples for ${metric}`)
    return { metric, unit: entry.unit, samples: entry.values }
  })
  return {
    results,
    comparisons: [
      { name: 'CLI ready vs createNode + start()', numerator: 'ready-cli', denominator: 'ready-in-process' },
      {
        name: 'import of src vs createNode + start()',
        numerator: 'import-src',
        denominator: 'ready-in-process',
      },
      {
        name: 'cold vs warm createNode + start()',
        numerator: 'ready-in-process',
        denominator: 'ready-in-process-warm',
      },
      { name: 'idle RSS vs bare Node', numerator: 'rss-idle', denominator: 'rss-bare-node' },
    ],
  }
}
