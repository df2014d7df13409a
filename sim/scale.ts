/**
 * Scenario 3 of issue 9, Scale: runs every (size, mode, seed) of a `kind: scale` scenario (scale-run.ts) and
 * summarises it per (size, mode): discovery latency p50 and p99 as the mean over seeds of each seed's
 * quantile, with a 95 % t interval; steady-state control bytes per node per second, and where they go; the
 * Ed25519 checks they cost; each run's simulated events and wall time. Tables, and figures on a log size axis.
 */
import type { Figure, Table } from './figures.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import { type Part, PARTS } from './scale-gossip.ts'
import { runScale, type ScaleRun } from './scale-run.ts'
import { type ScaleMode, sizesOf } from './scale-scenario.ts'
import type { ScaleScenario } from './scenario.ts'
import { meanInterval } from './stats.ts'

type Interval = { mean: number; low: number; high: number }

export interface ScaleCell {
  size: number
  mode: ScaleMode
  /** discovery latency of a body change (ms): per-seed p50 and p99, mean over seeds with a 95 % t interval */
  p50: Interval
  p99: Interval
  /** how long a heartbeat's state takes to reach a node (ms), p50 */
  stateP50: Interval
  /** steady-state wire bytes per node per second */
  bytesPerNodePerSec: Interval
  payloadPerNodePerSec: number
  byPart: Record<Part | 'ihaveFrames', number>
  /** Ed25519 checks per node per second: gossipsub message signatures, descriptor bodies */
  checksPerNodePerSec: { messages: number; bodies: number }
  /** copies of one message a node receives, on average */
  copiesPerNode: number
  /** (change, node) pairs never stored, and (node, sender) pairs stale at the end, over all seeds */
  missed: number
  missingAtEnd: number
  bodyBytes: number
  noticeBytes: number
  meshDegree: number
  events: number
  wallMs: number
}

export interface ScaleData {
  cells: ScaleCell[]
  runs: Array<ScaleRun & { wallMs: number }>
}

/** Latencies and bytes are unbounded above: their intervals over seeds are clipped at 0 only. */
const UNBOUNDED = { min: 0, max: Number.POSITIVE_INFINITY }
/** Issue 9's target: p50 at N = 1,000 within 1.5 x of N = 20. */
const TARGET_RATIO = 1.5

/**
 * @example
 * const report = await runScaleScenario(parseScenario({ kind: 'scale', nodes: 100 }) as ScaleScenario, { seeds: 2 })
 * report.data.cells // one per (size, mode)
 */
export async function runScaleScenario(
  scenario: ScaleScenario,
  options: RunOptions = {},
): Promise<SimReport<ScaleData>> {
  const seeds = seedsOf(scenario, options)
  const keys = new KeyRing()
  const runs: ScaleData['runs'] = []
  const cells: ScaleCell[] = []
  for (const size of sizesOf(scenario)) {
    for (const mode of scenario.modes) {
      const mine: ScaleData['runs'] = []
      for (const seed of seeds) {
        const started = performance.now()
        const run = runScale(scenario, size, mode, seed, keys)
        mine.push({ ...run, wallMs: Math.round(performance.now() - started) })
        // let the event loop breathe between runs (a 10,000-node run takes minutes)
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      runs.push(...mine)
      cells.push(cellOf(size, mode, mine))
    }
  }
  return {
    scenario: scenario.name,
    kind: scenario.kind,
    nodes: Math.max(...sizesOf(scenario)),
    seeds,
    tables: [
      latencyTable(scenario, cells),
      bytesTable(scenario, cells),
      partsTable(cells),
      checksTable(scenario, cells),
      costTable(cells),
    ],
    figures: figures(scenario, cells),
    data: { cells, runs },
  }
}

function cellOf(size: number, mode: ScaleMode, runs: ScaleData['runs']): ScaleCell {
  const mean = (f: (r: ScaleRun & { wallMs: number }) => number) =>
    runs.reduce((a, r) => a + f(r), 0) / runs.length
  const total = (f: (r: ScaleRun) => number) => runs.reduce((a, r) => a + f(r), 0)
  const byPart = Object.fromEntries(
    [...PARTS, 'ihaveFrames' as const].map((p) => [p, mean((r) => r.bytesPerNodePerSec.byPart[p])]),
  ) as ScaleCell['byPart']
  return {
    size,
    mode,
    p50: meanInterval(
      runs.map((r) => r.latency.p50),
      UNBOUNDED,
    ),
    p99: meanInterval(
      runs.map((r) => r.latency.p99),
      UNBOUNDED,
    ),
    stateP50: meanInterval(
      runs.map((r) => r.stateLatency.p50),
      UNBOUNDED,
    ),
    bytesPerNodePerSec: meanInterval(
      runs.map((r) => r.bytesPerNodePerSec.total),
      UNBOUNDED,
    ),
    payloadPerNodePerSec: mean((r) => r.bytesPerNodePerSec.payload),
    byPart,
    checksPerNodePerSec: {
      messages: mean((r) => r.checksPerNodePerSec.messages),
      bodies: mean((r) => r.checksPerNodePerSec.bodies),
    },
    copiesPerNode: mean((r) => r.heartbeat.copies / r.size),
    missed: total((r) => r.latency.missed),
    missingAtEnd: total((r) => r.missingAtEnd),
    bodyBytes: mean((r) => r.bodyBytes),
    noticeBytes: mean((r) => r.noticeBytes),
    meshDegree: mean((r) => r.overlay.mesh),
    events: mean((r) => r.events),
    wallMs: mean((r) => r.wallMs),
  }
}

/** One row per size: p50 and p99 of each mode, p50 against the smallest size, and how fast a state travels. */
function latencyTable(s: ScaleScenario, cells: ScaleCell[]): Table {
  const sizes = [...new Set(cells.map((c) => c.size))]
  const of = (mode: ScaleMode, size: number | undefined) =>
    cells.find((c) => c.mode === mode && c.size === size)
  const ratio = (mode: ScaleMode, size: number) => {
    const c = of(mode, size)
    const b = of(mode, sizes[0])
    if (c === undefined || b === undefined) return ''
    const r = c.p50.mean / b.p50.mean
    const verdict = size === 1_000 && sizes[0] === 20 ? (r <= TARGET_RATIO ? ' (met)' : ' (missed)') : ''
    return `${r.toFixed(2)}${verdict}`
  }
  // the growth against the smallest size, when there is more than one
  const ratios = sizes.length > 1
  return {
    title:
      `Discovery latency of a body change (ms), ${s.name}: mean over seeds of each seed's p50 and p99 over ` +
      '(change, receiving node) pairs (95 % t interval over seeds)' +
      (ratios
        ? `; × N=${sizes[0]}: the p50 against the smallest size (issue 9's target at N = 1,000 against ` +
          `N = 20: ≤ ${TARGET_RATIO})`
        : '') +
      '; state p50: how long a heartbeat takes to bring the new state (a notice, or a flooded body)',
    header: [
      'N',
      ...s.modes.flatMap((m) => [`${m} p50`, `${m} p99`]),
      ...(ratios ? s.modes.map((m) => `${m} p50 × N=${sizes[0]}`) : []),
      ...s.modes.map((m) => `${m} state p50`),
    ],
    rows: sizes.map((size) => [
      fmtInt(size),
      ...s.modes.flatMap((mode) => {
        const c = of(mode, size)
        return c === undefined ? ['', ''] : [interval(c.p50), interval(c.p99)]
      }),
      ...(ratios ? s.modes.map((mode) => ratio(mode, size)) : []),
      ...s.modes.map((mode) => {
        const c = of(mode, size)
        return c === undefined ? '' : fmtInt(c.stateP50.mean)
      }),
    ]),
  }
}

function bytesTable(s: ScaleScenario, cells: ScaleCell[]): Table {
  const sizes = [...new Set(cells.map((c) => c.size))]
  const both = s.modes.includes('kith') && s.modes.includes('flood')
  return {
    title:
      `Steady-state control bytes per node per second, ${s.name}: sent on the wire (TCP payload: gossipsub, ` +
      `yamux and Noise framing included; 95 % t interval over seeds), and kith's own payload (notices or ` +
      `bodies, pull requests and answers); heartbeats every ${s.ttlMs / 3_000} s, ` +
      `${s.traffic.changesPerHour} body changes per node per hour`,
    header: [
      'N',
      ...s.modes.flatMap((m) => [`${m} wire`, `${m} payload`]),
      ...(both ? ['flood / kith (wire)'] : []),
    ],
    rows: sizes.map((size) => {
      const of = (mode: ScaleMode) => cells.find((x) => x.mode === mode && x.size === size)
      const k = of('kith')
      const f = of('flood')
      return [
        fmtInt(size),
        ...s.modes.flatMap((mode) => {
          const c = of(mode)
          return c === undefined ? ['', ''] : [interval(c.bytesPerNodePerSec), fmtInt(c.payloadPerNodePerSec)]
        }),
        ...(both && k !== undefined && f !== undefined
          ? [`${(f.bytesPerNodePerSec.mean / k.bytesPerNodePerSec.mean).toFixed(1)}×`]
          : []),
      ]
    }),
  }
}

function partsTable(cells: ScaleCell[]): Table {
  const parts: Array<[Part | 'ihaveFrames', string]> = [
    ['gossip', 'notices / bodies'],
    ['pull', 'pulls'],
    ['ihave', 'IHAVE ids'],
    ['ihaveFrames', 'IHAVE frames'],
    ['iwant', 'IWANT + answers'],
    ['idontwant', 'IDONTWANT'],
  ]
  return {
    title: 'Where the wire bytes go (B per node per s, mean over seeds)',
    header: ['N', 'mode', ...parts.map(([, label]) => label), 'body B', 'notice B'],
    rows: cells.map((c) => [
      fmtInt(c.size),
      c.mode,
      ...parts.map(([p]) => fmtInt(c.byPart[p])),
      fmtInt(c.bodyBytes),
      c.noticeBytes > 0 ? fmtInt(c.noticeBytes) : '',
    ]),
  }
}

function checksTable(s: ScaleScenario, cells: ScaleCell[]): Table {
  return {
    title:
      'CPU the steady state asks of each node: Ed25519 checks per node per s (gossipsub checks every copy ' +
      'received, duplicates included, before its seen-cache; the intake checks each new body), and the ' +
      `share of one core at the scenario's processing times (${s.processing.messageMs} ms a message, ` +
      `${s.processing.bodyMs} ms a body)`,
    header: [
      'N',
      'mode',
      'copies of a message per node',
      'message checks / s',
      'body checks / s',
      'core share',
    ],
    rows: cells.map((c) => [
      fmtInt(c.size),
      c.mode,
      c.copiesPerNode.toFixed(2),
      fmtInt(c.checksPerNodePerSec.messages),
      fmtInt(c.checksPerNodePerSec.bodies),
      `${(((c.checksPerNodePerSec.messages * s.processing.messageMs + c.checksPerNodePerSec.bodies * s.processing.bodyMs) / 1_000) * 100).toFixed(1)} %`,
    ]),
  }
}

function costTable(cells: ScaleCell[]): Table {
  return {
    title:
      'What each run cost the simulator (mean per seed; wall time depends on the machine, everything else ' +
      'on the seed alone), and what every node got',
    header: ['N', 'mode', 'events', 'wall s', 'mesh degree', 'changes missed', 'stale at end'],
    rows: cells.map((c) => [
      fmtInt(c.size),
      c.mode,
      fmtInt(c.events),
      (c.wallMs / 1_000).toFixed(1),
      c.meshDegree.toFixed(1),
      String(c.missed),
      String(c.missingAtEnd),
    ]),
  }
}

function figures(s: ScaleScenario, cells: ScaleCell[]): Figure[] {
  const series = (f: (c: ScaleCell) => Interval, label: string) =>
    s.modes.map((mode) => ({
      name: `${mode} ${label}`,
      points: cells
        .filter((c) => c.mode === mode)
        .map((c) => ({ x: c.size, y: f(c).mean, low: f(c).low, high: f(c).high })),
    }))
  // the target, drawn from the kith p50 at N = 20 when the scenario has it
  const base = cells.find((c) => c.mode === 'kith' && c.size === 20)
  return [
    {
      id: `${s.name}-latency`,
      title: 'Discovery latency of a body change (p50, p99) against the network size',
      x: { label: 'nodes', log: true },
      y: { label: 'ms' },
      series: [...series((c) => c.p50, 'p50'), ...series((c) => c.p99, 'p99')],
      ...(base !== undefined
        ? {
            marks: [
              { y: TARGET_RATIO * base.p50.mean, label: `target: ${TARGET_RATIO} × kith p50 at N = 20` },
            ],
          }
        : {}),
    },
    {
      id: `${s.name}-bytes`,
      title: 'Steady-state control bytes per node per second against the network size',
      x: { label: 'nodes', log: true },
      y: { label: 'bytes per node per second (wire)', log: true },
      series: series((c) => c.bytesPerNodePerSec, 'wire'),
    },
  ]
}

/** The mean and its interval, rounded; a single seed has no interval. */
function interval(i: Interval): string {
  return Number.isFinite(i.high) ? `${fmtInt(i.mean)} (${fmtInt(i.low)}–${fmtInt(i.high)})` : fmtInt(i.mean)
}

function fmtInt(x: number): string {
  return Math.round(x).toLocaleString('en-US')
}
