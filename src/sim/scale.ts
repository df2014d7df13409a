/**
 * Scenario 3 over its grid (network size × mode × seed): discovery latency p50 and p99 (with a 95 % t interval
 * of the per-seed values) and steady control bytes per node per second; a table and two figures.
 */
import type { Figure, Table } from './figures.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import { runScale, type ScaleRun } from './scale-run.ts'
import type { ScaleMode, ScaleScenario } from './scale-scenario.ts'
import { meanInterval } from './stats.ts'

export interface ScaleCell {
  size: number
  mode: ScaleMode
  p50: { mean: number; low: number; high: number }
  p99: { mean: number; low: number; high: number }
  bytesPerNodePerSec: number
  missed: number
  /** wall time of the cell's runs (ms): informative, machine-dependent */
  wallMs: number
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/**
 * @example
 * const report = await runScaleScenario(parseScenario({ kind: 'scale', sizes: [20, 50] }) as ScaleScenario, {})
 * report.data.cells[0].p50.mean // ms
 */
export async function runScaleScenario(
  s: ScaleScenario,
  options: RunOptions,
): Promise<SimReport<{ cells: ScaleCell[]; runs: Array<Omit<ScaleRun, 'latencies'>> }>> {
  const seeds = seedsOf(s, options)
  const keys = new KeyRing()
  const cells: ScaleCell[] = []
  const runs: Array<Omit<ScaleRun, 'latencies'>> = []
  for (const size of s.sizes) {
    for (const mode of s.modes) {
      const started = performance.now()
      const mine = seeds.map((seed) => runScale(s, size, mode, seed, keys))
      const wallMs = performance.now() - started
      for (const { latencies, ...rest } of mine)
        runs.push({ ...rest, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) } as Omit<
          ScaleRun,
          'latencies'
        >)
      cells.push({
        size,
        mode,
        p50: meanInterval(mine.map((r) => quantile(r.latencies, 0.5))),
        p99: meanInterval(mine.map((r) => quantile(r.latencies, 0.99))),
        bytesPerNodePerSec: mine.reduce((n, r) => n + r.bytesPerNodePerSec, 0) / mine.length,
        missed: mine.reduce((n, r) => n + r.missed, 0),
        wallMs,
      })
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return {
    scenario: s.name,
    kind: s.kind,
    nodes: s.nodes ?? Math.max(...s.sizes),
    seeds,
    tables: [table(s, seeds, cells)],
    figures: figures(s, cells),
    data: { cells, runs },
  }
}

function table(s: ScaleScenario, seeds: number[], cells: ScaleCell[]): Table {
  const ratio = (mode: ScaleMode) => {
    const small = cells.find((c) => c.mode === mode && c.size === Math.min(...s.sizes))
    const big = cells.find((c) => c.mode === mode && c.size === Math.max(...s.sizes))
    return small && big ? (big.p50.mean / small.p50.mean).toFixed(2) : '–'
  }
  return {
    title:
      `Discovery latency of a changed descriptor (ms, mean of per-seed p50 / p99 over seeds ${seeds.join(', ')}) and ` +
      `steady control bytes per node per second (heartbeat every ${s.ttlMs / 3000} s, ${s.changesPerMinute} ` +
      `changes per node per minute), ${s.name}; p50 at the largest over the smallest size: ` +
      s.modes.map((m) => `${m} ${ratio(m)}×`).join(', '),
    header: ['nodes', ...s.modes.flatMap((m) => [`${m} p50`, `${m} p99`, `${m} B/node/s`]), 'wall s'],
    rows: s.sizes.map((size) => [
      String(size),
      ...s.modes.flatMap((m) => {
        const c = cells.find((x) => x.size === size && x.mode === m)
        if (c === undefined) return ['', '', '']
        return [c.p50.mean.toFixed(0), c.p99.mean.toFixed(0), c.bytesPerNodePerSec.toFixed(0)]
      }),
      (cells.filter((c) => c.size === size).reduce((n, c) => n + c.wallMs, 0) / 1000).toFixed(1),
    ]),
  }
}

function figures(s: ScaleScenario, cells: ScaleCell[]): Figure[] {
  const of = (mode: ScaleMode) => cells.filter((c) => c.mode === mode)
  return [
    {
      id: `${s.name}-latency`,
      title: 'Discovery latency of a changed descriptor against the network size (p50 and p99)',
      x: { label: 'nodes', log: true },
      y: { label: 'ms' },
      series: s.modes.flatMap((mode) => [
        {
          name: `${mode} p50`,
          points: of(mode).map((c) => ({ x: c.size, y: c.p50.mean, low: c.p50.low, high: c.p50.high })),
        },
        { name: `${mode} p99`, points: of(mode).map((c) => ({ x: c.size, y: c.p99.mean })) },
      ]),
    },
    {
      id: `${s.name}-bytes`,
      title: 'Steady control bytes per node per second against the network size',
      x: { label: 'nodes', log: true },
      y: { label: 'bytes per node per second', log: true },
      series: s.modes.map((mode) => ({
        name: mode,
        points: of(mode).map((c) => ({ x: c.size, y: Math.max(1, c.bytesPerNodePerSec) })),
      })),
    },
  ]
}
