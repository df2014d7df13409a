/**
 * Scenario 2 of issue 9, capability drift and TTL, over its grid (drift scale × mode × TTL × seed): per cell
 * the pooled stale-selection rate with a 95 % Wilson interval and the control bytes per node per second
 * with a 95 % t interval over seeds; per mode and scale the knee of the trade-off curve (stale rate against
 * bytes, one point per TTL). Every mode and TTL of one seed and scale sees the same drift.
 */
import { type DriftRun, type MessageKind, runDrift } from './drift-run.ts'
import { driftFigures, driftTables } from './drift-report.ts'
import { STALE_CAUSES, type StaleCause } from './drift-requester.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import { meanInterval, wilson } from './stats.ts'

export interface Interval {
  mean: number
  low: number
  high: number
}

export interface DriftCell {
  scale: number
  mode: Advertising
  ttlMs: number
  selections: number
  stale: number
  /** pooled over seeds, with the 95 % Wilson interval */
  rate: number
  low: number
  high: number
  /** stale rate of each seed: mean and 95 % t interval */
  seedMean: Interval
  /** share of selections stale for each cause */
  byCause: Record<StaleCause, number>
  /** share of queries with no live match */
  missRate: number
  wirePerNodePerSec: Interval
  payloadPerNodePerSec: Interval
  /** wire bytes per node per second by message kind, mean over seeds */
  wireByKind: Record<MessageKind, number>
}

export interface DriftKnee {
  scale: number
  mode: Advertising
  /** the knee's TTL (ms), or undefined with fewer than three TTLs */
  ttlMs: number | undefined
  /** its distance to the chord in normalised coordinates (0: no bend at all) */
  distance: number
  /** the knee on payload bytes instead of wire bytes */
  payloadTtlMs: number | undefined
  /** the knee of each seed's own curve, in seed order */
  perSeed: Array<number | undefined>
}

export interface DriftData {
  cells: DriftCell[]
  knees: DriftKnee[]
  runs: DriftRun[]
}

/**
 * The knee of a curve by Kneedle (Satopää et al., 2011) without its smoothing: both axes scaled to [0, 1],
 * the point farthest from the chord between the first and last points (on a monotone curve this is Kneedle's
 * difference curve's maximum). Returns its index and distance; -1 for fewer than three points.
 *
 * @example
 * kneedle([{ x: 0, y: 1 }, { x: 0.1, y: 0.2 }, { x: 1, y: 0 }]) // { index: 1, distance: 0.49… }
 */
export function kneedle(points: ReadonlyArray<{ x: number; y: number }>): {
  index: number
  distance: number
} {
  if (points.length < 3) return { index: -1, distance: 0 }
  const scaled = (values: number[]) => {
    const lo = Math.min(...values)
    const span = Math.max(...values) - lo
    return values.map((v) => (span > 0 ? (v - lo) / span : 0))
  }
  const xs = scaled(points.map((p) => p.x))
  const ys = scaled(points.map((p) => p.y))
  const last = points.length - 1
  const dx = xs[last]! - xs[0]!
  const dy = ys[last]! - ys[0]!
  const length = Math.hypot(dx, dy) || 1
  let index = -1
  let distance = 0
  for (let i = 1; i < last; i++) {
    const d = Math.abs(dx * (ys[0]! - ys[i]!) - dy * (xs[0]! - xs[i]!)) / length
    if (d > distance) {
      distance = d
      index = i
    }
  }
  return { index, distance }
}

/**
 * @example
 * const report = await runDriftScenario(parseScenario({ kind: 'drift', nodes: 30, requesters: 3 }) as DriftScenario, { seeds: 1 })
 * report.data.knees // one per (drift scale, mode): the TTL at the knee of stale rate against bytes
 */
export async function runDriftScenario(
  scenario: DriftScenario,
  options: RunOptions = {},
): Promise<SimReport<DriftData>> {
  const seeds = seedsOf(scenario, options)
  const keys = new KeyRing()
  const runs: DriftRun[] = []
  const cells: DriftCell[] = []
  for (const scale of scenario.driftScales)
    for (const mode of scenario.modes)
      for (const ttlMs of scenario.ttlsMs) {
        const mine: DriftRun[] = []
        for (const seed of seeds) {
          mine.push(runDrift(scenario, mode, ttlMs, scale, seed, keys))
          // one run is synchronous; yield between runs so a caller's timers and signals are not starved
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
        runs.push(...mine)
        cells.push(cellOf(scale, mode, ttlMs, mine))
      }
  const knees: DriftKnee[] = []
  for (const scale of scenario.driftScales)
    for (const mode of scenario.modes) {
      const curve = cells
        .filter((c) => c.scale === scale && c.mode === mode)
        .sort((a, b) => a.ttlMs - b.ttlMs)
      const wire = kneedle(curve.map((c) => ({ x: c.wirePerNodePerSec.mean, y: c.rate })))
      const payload = kneedle(curve.map((c) => ({ x: c.payloadPerNodePerSec.mean, y: c.rate })))
      const perSeed = seeds.map((seed) => {
        const own = runs
          .filter((r) => r.scale === scale && r.mode === mode && r.seed === seed)
          .sort((a, b) => a.ttlMs - b.ttlMs)
        const knee = kneedle(
          own.map((r) => ({ x: r.wirePerNodePerSec, y: r.stale / Math.max(1, r.selections) })),
        )
        return own[knee.index]?.ttlMs
      })
      knees.push({
        scale,
        mode,
        ttlMs: curve[wire.index]?.ttlMs,
        distance: wire.distance,
        payloadTtlMs: curve[payload.index]?.ttlMs,
        perSeed,
      })
    }
  return {
    scenario: scenario.name,
    kind: scenario.kind,
    nodes: scenario.nodes,
    seeds,
    tables: driftTables(scenario, seeds, cells, knees),
    figures: driftFigures(scenario, cells),
    data: { cells, knees, runs },
  }
}

function cellOf(scale: number, mode: Advertising, ttlMs: number, runs: DriftRun[]): DriftCell {
  const selections = sum(runs, (r) => r.selections)
  const stale = sum(runs, (r) => r.stale)
  const share = (n: number) => (selections === 0 ? 0 : n / selections)
  const bytes = { min: 0, max: Number.POSITIVE_INFINITY }
  const kinds = Object.keys(runs[0]?.traffic ?? {}) as MessageKind[]
  return {
    scale,
    mode,
    ttlMs,
    selections,
    stale,
    ...wilson(stale, selections),
    seedMean: meanInterval(runs.map((r) => (r.selections === 0 ? 0 : r.stale / r.selections))),
    byCause: Object.fromEntries(
      STALE_CAUSES.map((c) => [c, share(sum(runs, (r) => r.byCause[c]))]),
    ) as Record<StaleCause, number>,
    missRate: share(sum(runs, (r) => r.misses)),
    wirePerNodePerSec: meanInterval(
      runs.map((r) => r.wirePerNodePerSec),
      bytes,
    ),
    payloadPerNodePerSec: meanInterval(
      runs.map((r) => r.payloadPerNodePerSec),
      bytes,
    ),
    wireByKind: Object.fromEntries(
      kinds.map((k) => [
        k,
        sum(runs, (r) => r.wirePerNodePerSec * share0(r.traffic[k].wire, r)) / runs.length,
      ]),
    ) as Record<MessageKind, number>,
  }
}

/** The share of a run's wire bytes that `wire` is. */
function share0(wire: number, run: DriftRun): number {
  const total = Object.values(run.traffic).reduce((n, t) => n + t.wire, 0)
  return total === 0 ? 0 : wire / total
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0
  for (const item of items) total += f(item)
  return total
}
