/**
 * The contract between the runner (`scripts/bench.ts`) and a benchmark module (`scripts/bench/<name>.ts`).
 * A module measures and returns raw samples; the runner owns statistics, the JSON evidence and BENCHMARKS.md,
 * so every benchmark is summarised and reported the same way.
 */

/** The goal for one metric, compared with its median: `max` for lower-is-better, `min` for higher-is-better. */
export type Target = { max: number; min?: never } | { min: number; max?: never }

/** One metric measured by a run: every sample, in `unit`. */
export interface MetricSamples {
  /** kebab-case, unique within the benchmark, e.g. `ready-cli` */
  metric: string
  /** e.g. `ms`, `MiB`, `ops/s` */
  unit: string
  samples: number[]
}

/**
 * Two metrics of the same run set against each other. `ratio` defaults to
 * median(numerator) / median(denominator); set it to report a ratio computed otherwise.
 */
export interface Comparison {
  name: string
  numerator: string
  denominator: string
  ratio?: number
}

export interface RunOutput {
  results: MetricSamples[]
  comparisons?: Comparison[]
}

/** What the runner hands to `run()`. */
export interface BenchContext {
  /** the repository root; run the CLI as `process.execPath <root>/src/cli/main.ts` */
  root: string
  /** a fresh directory under bench/tmp/, removed after the run (kept when KITH_BENCH_KEEP_TMP=1) */
  tmpDir: string
  /** repetitions to do: KITH_BENCH_RUNS when set, else the module's `defaultRuns`, else 5 */
  runs: number
  /** progress on stderr, prefixed with the benchmark's name; stdout stays free */
  log(message: string): void
  /** a positive integer from the environment, or `fallback` */
  envInt(name: string, fallback: number): number
}

/** A benchmark module: `scripts/bench/<name>.ts` exports these. */
export interface Benchmark {
  /** equal to the file name without `.ts`; what `npm run bench -- <name>` selects */
  name: string
  /** one sentence: what is measured and how; printed above the table */
  description: string
  defaultRuns?: number
  /** goals, keyed by metric */
  targets?: Readonly<Record<string, Target>>
  run(ctx: BenchContext): Promise<RunOutput>
}

/** Summary statistics of one metric; `p99` is nearest-rank, so with fewer than 100 samples it is the max. */
export interface MetricSummary {
  metric: string
  unit: string
  n: number
  median: number
  p99: number
  min: number
  max: number
  target?: Target
  samples: number[]
}

export interface MachineFacts {
  cpu: string
  cpus: number
  memoryBytes: number
  os: string
  node: string
  /** os.loadavg() when the run began: a busy machine explains a noisy result */
  loadavg: number[]
}

/** The file `bench/results/<name>.json`, committed as the evidence behind BENCHMARKS.md. */
export interface BenchRecord {
  name: string
  description: string
  date: string
  command: string
  commit: string
  /** the work tree had uncommitted changes, so the numbers may not be those of `commit` alone */
  dirty: boolean
  machine: MachineFacts
  durationMs: number
  metrics: MetricSummary[]
  comparisons: Required<Comparison>[]
}
