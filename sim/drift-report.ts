/**
 * The drift scenario's tables and figures: stale selections and control bytes per TTL, what the stale
 * selections were and what the bytes went to, and the knee of each trade-off curve.
 */
import type { DriftCell, DriftKnee } from './drift.ts'
import { STALE_CAUSES } from './drift-requester.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import type { Figure, Series, Table } from './figures.ts'

/**
 * Three tables: the main one per drift scale (stale rate and wire bytes per mode), the detail (causes,
 * misses, bytes by kind), and the knees.
 *
 * @example
 * driftTables(scenario, [1, 2, 3], report.data.cells, report.data.knees).map(tableMarkdown)
 */
export function driftTables(
  s: DriftScenario,
  seeds: number[],
  cells: DriftCell[],
  knees: DriftKnee[],
): Table[] {
  const main = s.driftScales.map((scale): Table => ({
    title:
      `Stale selections [95 % Wilson interval] and control bytes per node per second (wire, mean over seeds), ` +
      `${s.name}: ${s.nodes} nodes, ${s.requesters} requesters, drift ×${scale} (${rates(s, scale)}), ` +
      `seeds ${seeds.join(', ')}`,
    header: [
      'TTL',
      ...s.modes.flatMap((m) => [`${m} stale`, `${m} B/node/s`]),
      ...(s.modes.includes('kith') && s.modes.includes('flood') ? ['flood / kith bytes'] : []),
    ],
    rows: s.ttlsMs.map((ttl) => {
      const of = (mode: Advertising) => find(cells, scale, mode, ttl)
      const row = [
        seconds(ttl),
        ...s.modes.flatMap((m) => {
          const c = of(m)
          return c === undefined
            ? ['', '']
            : [`${pct(c.rate)} [${pct(c.low)}, ${pct(c.high)}]`, int(c.wirePerNodePerSec.mean)]
        }),
      ]
      const kith = of('kith')
      const flood = of('flood')
      if (kith !== undefined && flood !== undefined)
        row.push((flood.wirePerNodePerSec.mean / kith.wirePerNodePerSec.mean).toFixed(2))
      return row
    }),
  }))
  const detail: Table = {
    title:
      `What was stale (share of selections, by cause) and where the bytes went (wire B/node/s), ${s.name}; ` +
      `payload: kith's own bytes without gossipsub and stream framing`,
    header: [
      'scale',
      'mode',
      'TTL',
      ...STALE_CAUSES,
      'misses',
      'notice',
      'body',
      'pull',
      'payload B/node/s',
      'seed spread of stale (t 95 %)',
    ],
    rows: cells.map((c) => [
      `×${c.scale}`,
      c.mode,
      seconds(c.ttlMs),
      ...STALE_CAUSES.map((cause) => pct(c.byCause[cause])),
      pct(c.missRate),
      int(c.wireByKind.notice),
      int(c.wireByKind.body),
      int(c.wireByKind['pull-request'] + c.wireByKind['pull-answer']),
      int(c.payloadPerNodePerSec.mean),
      `${pct(c.seedMean.low)}–${pct(c.seedMean.high)}`,
    ]),
  }
  const kneeTable: Table = {
    title:
      'Knee of stale rate against control bytes (Kneedle: both axes scaled to [0, 1], the TTL farthest from ' +
      'the chord between the shortest and the longest TTL)',
    header: [
      'scale',
      'mode',
      'knee TTL',
      'distance to chord',
      'stale there',
      'B/node/s there',
      'knee on payload bytes',
      "each seed's knee",
    ],
    rows: knees.map((k) => {
      const c = k.ttlMs !== undefined ? find(cells, k.scale, k.mode, k.ttlMs) : undefined
      return [
        `×${k.scale}`,
        k.mode,
        k.ttlMs !== undefined ? seconds(k.ttlMs) : '–',
        k.distance.toFixed(3),
        c !== undefined ? pct(c.rate) : '–',
        c !== undefined ? int(c.wirePerNodePerSec.mean) : '–',
        k.payloadTtlMs !== undefined ? seconds(k.payloadTtlMs) : '–',
        k.perSeed.map((t) => (t !== undefined ? t / 1000 : '–')).join(', ') + ' s',
      ]
    }),
  }
  return [...main, detail, kneeTable]
}

/**
 * Stale rate against the TTL, control bytes against the TTL, and stale rate against control bytes: one
 * line per mode (and drift scale, when there are several).
 *
 * @example
 * driftFigures(scenario, report.data.cells).map((f) => f.id) // ['ttl-drift-stale', 'ttl-drift-bytes', 'ttl-drift-tradeoff']
 */
export function driftFigures(s: DriftScenario, cells: DriftCell[]): Figure[] {
  const lines = (point: (c: DriftCell) => Series['points'][number]): Series[] =>
    s.driftScales.flatMap((scale) =>
      s.modes.map((mode) => ({
        name: s.driftScales.length > 1 ? `${mode} ×${scale}` : mode,
        points: cells
          .filter((c) => c.scale === scale && c.mode === mode)
          .sort((a, b) => a.ttlMs - b.ttlMs)
          .map(point),
      })),
    )
  const setting = `${s.nodes} nodes, ${s.requesters} requesters`
  return [
    {
      id: `${s.name}-stale`,
      title: `Stale-selection rate against the descriptor TTL (95 % Wilson intervals), ${setting}`,
      x: { label: 'descriptor TTL (s)' },
      y: { label: 'stale selections (share)' },
      series: lines((c) => ({ x: c.ttlMs / 1000, y: c.rate, low: c.low, high: c.high })),
    },
    {
      id: `${s.name}-bytes`,
      title: `Control bytes per node per second against the descriptor TTL (wire, 95 % t over seeds), ${setting}`,
      x: { label: 'descriptor TTL (s)' },
      y: { label: 'bytes per node per second', log: true },
      series: lines((c) => ({
        x: c.ttlMs / 1000,
        y: Math.max(1, c.wirePerNodePerSec.mean),
        low: Math.max(1, c.wirePerNodePerSec.low),
        high: Math.max(1, c.wirePerNodePerSec.high),
      })),
    },
    {
      id: `${s.name}-tradeoff`,
      title: `Stale-selection rate against control bytes, one point per TTL (the shortest on the right), ${setting}`,
      x: { label: 'bytes per node per second (wire)', log: true },
      y: { label: 'stale selections (share)' },
      series: lines((c) => ({
        x: Math.max(1, c.wirePerNodePerSec.mean),
        y: c.rate,
        low: c.low,
        high: c.high,
      })),
    },
  ]
}

function rates(s: DriftScenario, scale: number): string {
  const d = s.drift
  const r = (v: number) => Number((v * scale).toPrecision(3))
  return (
    `per node per minute: ${r(d.load)} load, ${r(d.battery)} battery (${Math.round(d.batteryShare * 100)} % on ` +
    `battery), ${r(d.withdraw)} offer, ${r(d.offline)} offline (${d.meanDownMs / 1000} s)`
  )
}

function find(cells: DriftCell[], scale: number, mode: Advertising, ttlMs: number): DriftCell | undefined {
  return cells.find((c) => c.scale === scale && c.mode === mode && c.ttlMs === ttlMs)
}

function seconds(ms: number): string {
  return `${ms / 1000} s`
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)} %`
}

function int(x: number): string {
  return Math.round(x).toLocaleString('en-US')
}
