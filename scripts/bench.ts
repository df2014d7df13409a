/**
 * `npm run bench [-- NAME…]`: runs every benchmark in scripts/bench/ (or the named ones), writes
 * bench/results/NAME.json with the machine facts, then rebuilds BENCHMARKS.md from all results.
 *
 * A benchmark is a file scripts/bench/NAME.ts that exports `name`, `description`, optional `targets` and
 * `defaultRuns`, and `run(ctx)` returning raw samples (see scripts/bench/lib/types.ts). The runner
 * computes the statistics, so every benchmark reports the same way. Files in subfolders are helpers.
 *
 * Environment: KITH_BENCH_RUNS overrides each benchmark's number of runs; KITH_BENCH_KEEP_TMP=1 keeps
 * the scratch directories under bench/tmp/. Benchmarks may read their own KITH_BENCH_* knobs.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { gitFacts, machineFacts } from './bench/lib/machine.ts'
import { renderReport } from './bench/lib/report.ts'
import { resolveComparisons, summarize } from './bench/lib/stats.ts'
import type { BenchContext, Benchmark, BenchRecord, MetricSummary } from './bench/lib/types.ts'

const ROOT = resolve(import.meta.dirname, '..')
const BENCH_DIR = join(ROOT, 'scripts', 'bench')
const RESULTS_DIR = join(ROOT, 'bench', 'results')
const TMP_DIR = join(ROOT, 'bench', 'tmp')
const REPORT = join(ROOT, 'BENCHMARKS.md')
const DEFAULT_RUNS = 5
const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/

class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** The benchmarks that exist: scripts/bench/*.ts, by file name. */
async function available(): Promise<string[]> {
  const entries = await readdir(BENCH_DIR, { withFileTypes: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && NAME.test(e.name.slice(0, -3)))
    .map((e) => e.name.slice(0, -3))
    .sort()
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw == null || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`${name}=${raw}: expected a positive integer`)
  return value
}

/** The command that reproduces this run, with the KITH_BENCH_* settings it had. */
function reproduceCommand(names: readonly string[]): string {
  const settings = Object.entries(process.env)
    .filter(([key, value]) => key.startsWith('KITH_BENCH_') && value != null && value !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
  const viaNpm = process.env.npm_lifecycle_event === 'bench'
  const base = viaNpm ? 'npm run bench' : 'node scripts/bench.ts'
  const args = names.length === 0 ? '' : viaNpm ? ` -- ${names.join(' ')}` : ` ${names.join(' ')}`
  return [...settings, `${base}${args}`].join(' ')
}

async function load(name: string): Promise<Benchmark> {
  const mod = (await import(join(BENCH_DIR, `${name}.ts`))) as Partial<Benchmark>
  if (mod.name !== name || typeof mod.description !== 'string' || typeof mod.run !== 'function') {
    throw new Error(`scripts/bench/${name}.ts must export name = '${name}', description and run(ctx)`)
  }
  return mod as Benchmark
}

const round = (value: number) => Math.round(value * 1000) / 1000

function rounded(summary: MetricSummary): MetricSummary {
  return {
    ...summary,
    median: round(summary.median),
    p99: round(summary.p99),
    min: round(summary.min),
    max: round(summary.max),
    samples: summary.samples.map(round),
  }
}

async function runOne(bench: Benchmark, command: string): Promise<BenchRecord> {
  const log = (message: string) => process.stderr.write(`[${bench.name}] ${message}\n`)
  await mkdir(TMP_DIR, { recursive: true })
  const tmpDir = await mkdtemp(join(TMP_DIR, `${bench.name}-`))
  const ctx: BenchContext = {
    root: ROOT,
    tmpDir,
    runs: envInt('KITH_BENCH_RUNS', bench.defaultRuns ?? DEFAULT_RUNS),
    log,
    envInt,
  }
  const machine = machineFacts()
  const { commit, dirty } = gitFacts(ROOT)
  const date = new Date().toISOString()
  const started = performance.now()
  log(`${ctx.runs} runs; scratch in ${relative(ROOT, tmpDir)}`)
  try {
    const output = await bench.run(ctx)
    const seen = new Set<string>()
    for (const r of output.results) {
      if (seen.has(r.metric)) throw new Error(`metric ${r.metric} reported twice`)
      seen.add(r.metric)
    }
    for (const metric of Object.keys(bench.targets ?? {})) {
      if (!seen.has(metric)) throw new Error(`target for ${metric}, which was not measured`)
    }
    const metrics = output.results.map((r) => rounded(summarize(r, bench.targets?.[r.metric])))
    const comparisons = resolveComparisons(output.comparisons ?? [], metrics).map((c) => ({
      ...c,
      ratio: round(c.ratio),
    }))
    return {
      name: bench.name,
      description: bench.description,
      date,
      command,
      commit,
      dirty,
      machine,
      durationMs: Math.round(performance.now() - started),
      metrics,
      comparisons,
    }
  } finally {
    if (process.env.KITH_BENCH_KEEP_TMP !== '1') await rm(tmpDir, { recursive: true, force: true })
  }
}

async function readRecords(): Promise<BenchRecord[]> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const files = (await readdir(RESULTS_DIR)).filter((f) => f.endsWith('.json')).sort()
  return Promise.all(
    files.map(async (f) => JSON.parse(await readFile(join(RESULTS_DIR, f), 'utf8')) as BenchRecord),
  )
}

function printSummary(record: BenchRecord): void {
  for (const m of record.metrics) {
    console.log(
      `${record.name}  ${m.metric}: median ${m.median} ${m.unit}, p99 ${m.p99} ${m.unit} (n=${m.n})`,
    )
  }
  for (const c of record.comparisons) {
    console.log(`${record.name}  ${c.name}: ${c.numerator} / ${c.denominator} = ${c.ratio}`)
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const all = await available()
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: npm run bench [-- NAME…]   (NAME: ${all.join(', ')})\n       npm run bench -- --list`)
    return 0
  }
  if (argv.includes('--list')) {
    for (const name of all) console.log(`${name}\t${(await load(name)).description}`)
    return 0
  }
  const option = argv.find((a) => a.startsWith('-'))
  if (option != null) throw new UsageError(`unknown option ${option}`)
  const unknown = argv.filter((a) => !all.includes(a))
  if (unknown.length > 0)
    throw new UsageError(`no benchmark ${unknown.join(', ')}; there are: ${all.join(', ')}`)

  envInt('KITH_BENCH_RUNS', DEFAULT_RUNS)
  const selected = argv.length > 0 ? [...new Set(argv)] : all
  const command = reproduceCommand(argv)
  let failed = 0
  for (const name of selected) {
    try {
      const record = await runOne(await load(name), command)
      await mkdir(RESULTS_DIR, { recursive: true })
      await writeFile(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`)
      printSummary(record)
    } catch (err) {
      failed++
      process.stderr.write(`[${name}] failed: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`)
    }
  }
  await writeFile(REPORT, renderReport(await readRecords()))
  process.stderr.write(
    `wrote ${relative(ROOT, REPORT)}${failed > 0 ? `; ${failed} benchmark(s) failed` : ''}\n`,
  )
  return failed > 0 ? 1 : 0
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`bench: ${err.message}\n`)
  process.exitCode = 2
}
