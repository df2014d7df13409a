/**
 * Scenario 2 over its grid (TTL × advertising mode × seed): the stale-selection rate with a 95 % Wilson
 * interval against control bytes per node per second, the knee of each mode's trade-off curve, a table and
 * three figures (stale rate and bytes against TTL; stale rate against bytes).
 */
import { type DriftRun, runDrift } from './drift-run.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import type { Figure, Table } from './figures.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import { meanInterval, wilson } from './stats.ts'

export interface DriftCell {
  ttlMs: number
  mode: Advertising
  selections: number
  stale: number
  rate: number
  low: number
  high: number
  seedMean: { mean: number; low: number; high: number }
  bytesPerNodePerSec: number
  misses: number
}

/**
 * The knee of a trade-off curve by Kneedle (Satopää et al. 2011): both axes normalised to [0, 1], the point
 * farthest from the chord between the curve's ends. Points in TTL order; returns the index, or -1 for fewer
 * than three points.
 *
 * @example
 * kneeIndex([{ x: 0, y: 1 }, { x: 0.1, y: 0.2 }, { x: 1, y: 0 }]) // 1
 */
export function kneeIndex(points: ReadonlyArray<{ x: number; y: number }>): number {
  if (points.length < 3) return -1
  const xs = points.map((p) => p.x)
  const ys = points.map((p) => p.y)
  const norm = (v: number, a: number[]) => {
    const lo = Math.min(...a)
    const hi = Math.max(...a)
    return hi === lo ? 0 : (v - lo) / (hi - lo)
  }
  const n = points.map((p) => ({ x: norm(p.x, xs), y: norm(p.y, ys) }))
  const a = n[0]!
  const b = n.at(-1)!
  const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
  let best = -1
  let far = -1
  n.forEach((p, i) => {
    const d = Math.abs((b.x - a.x) * (a.y - p.y) - (a.x - p.x) * (b.y - a.y)) / len
    if (i > 0 && i < n.length - 1 && d > far) {
      far = d
      best = i
    }
  })
  return best
}

/**
 * @example
 * const report = await runDriftScenario(parseScenario({ kind: 'drift', seeds: 1 }) as DriftScenario, {})
 * report.data.knees // { kith: 15000, flood: 10000 }
 */
export async function runDriftScenario(
  s: DriftScenario,
  options: RunOptions,
): Promise<SimReport<{ cells: DriftCell[]; knees: Partial<Record<Advertising, number>>; runs: DriftRun[] }>> {
  const seeds = seedsOf(s, options)
  const keys = new KeyRing()
  const cells: DriftCell[] = []
  const runs: DriftRun[] = []
  for (const mode of s.modes) {
    for (const ttlMs of s.ttlsMs) {
      const mine: DriftRun[] = []
      for (const seed of seeds) mine.push(await runDrift(s, ttlMs, mode, seed, keys))
      runs.push(...mine)
      const selections = mine.reduce((n, r) => n + r.selections, 0)
      const stale = mine.reduce((n, r) => n + r.stale, 0)
      cells.push({
        ttlMs,
        mode,
        selections,
        stale,
        ...wilson(stale, selections),
        seedMean: meanInterval(mine.map((r) => r.stale / Math.max(1, r.selections))),
        bytesPerNodePerSec: mine.reduce((n, r) => n + r.bytesPerNodePerSec, 0) / mine.length,
        misses: mine.reduce((n, r) => n + r.misses, 0),
      })
    }
  }
  const knees: Partial<Record<Advertising, number>> = {}
  for (const mode of s.modes) {
    const curve = cells.filter((c) => c.mode === mode).sort((a, b) => a.ttlMs - b.ttlMs)
    const i = kneeIndex(curve.map((c) => ({ x: c.bytesPerNodePerSec, y: c.rate })))
    if (i >= 0) knees[mode] = curve[i]!.ttlMs
  }
  return {
    scenario: s.name,
    kind: s.kind,
    nodes: s.nodes,
    seeds,
    tables: [table(s, seeds, cells, knees)],
    figures: figures(s, cells),
    data: { cells, knees, runs },
  }
}

function table(
  s: DriftScenario,
  seeds: number[],
  cells: DriftCell[],
  knees: Partial<Record<Advertising, number>>,
): Table {
  const kneeText = s.modes
    .map((m) => `${m} ${knees[m] !== undefined ? `${knees[m]! / 1000} s` : '–'}`)
    .join(', ')
  return {
    title:
      `Stale selections [95 % Wilson interval] and control bytes per node per second, ${s.name}: ${s.nodes} ` +
      `providers, ${s.drift.perMinute} changes per provider per minute, seeds ${seeds.join(', ')}; knee (Kneedle): ${kneeText}`,
    header: ['TTL', ...s.modes.flatMap((m) => [`${m} stale`, `${m} B/node/s`])],
    rows: s.ttlsMs.map((ttl) => [
      `${ttl / 1000} s`,
      ...s.modes.flatMap((m) => {
        const c = cells.find((x) => x.ttlMs === ttl && x.mode === m)
        if (c === undefined) return ['', '']
        return [
          `${c.rate.toFixed(4)} [${c.low.toFixed(4)}, ${c.high.toFixed(4)}]`,
          c.bytesPerNodePerSec.toFixed(0),
        ]
      }),
    ]),
  }
}

function figures(s: DriftScenario, cells: DriftCell[]): Figure[] {
  const of = (mode: Advertising) => cells.filter((c) => c.mode === mode).sort((a, b) => a.ttlMs - b.ttlMs)
  return [
    {
      id: `${s.name}-stale`,
      title: `Stale selections against the TTL, ${s.drift.perMinute} changes per provider per minute`,
      x: { label: 'descriptor TTL (s)' },
      y: { label: 'stale-selection rate' },
      series: s.modes.map((mode) => ({
        name: mode,
        points: of(mode).map((c) => ({ x: c.ttlMs / 1000, y: c.rate, low: c.low, high: c.high })),
      })),
    },
    {
      id: `${s.name}-bytes`,
      title: 'Control bytes per node per second against the TTL',
      x: { label: 'descriptor TTL (s)' },
      y: { label: 'bytes per node per second', log: true },
      series: s.modes.map((mode) => ({
        name: mode,
        points: of(mode).map((c) => ({ x: c.ttlMs / 1000, y: Math.max(1, c.bytesPerNodePerSec) })),
      })),
    },
    {
      id: `${s.name}-tradeoff`,
      title: 'Stale selections against control bytes (one point per TTL)',
      x: { label: 'bytes per node per second', log: true },
      y: { label: 'stale-selection rate' },
      series: s.modes.map((mode) => ({
        name: mode,
        points: of(mode).map((c) => ({
          x: Math.max(1, c.bytesPerNodePerSec),
          y: c.rate,
          low: c.low,
          high: c.high,
        })),
      })),
    },
  ]
}
