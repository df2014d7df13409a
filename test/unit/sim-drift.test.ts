import { describe, expect, it } from 'vitest'
import { kneedle, runDriftScenario } from '../../sim/drift.ts'
import { runDrift } from '../../sim/drift-run.ts'
import { KeyRing } from '../../sim/keys.ts'
import { type DriftScenario, parseScenario, ScenarioError } from '../../sim/scenario.ts'

/**
 * 30 nodes, 3 requesters, two minutes measured, drift fast enough to show: a run takes a fraction of a
 * second. Nodes go offline often and stay away longer than the longest TTL, so the TTL decides how long a
 * gone node is still chosen.
 */
const scenario = parseScenario({
  kind: 'drift',
  nodes: 30,
  requesters: 3,
  ttlsMs: [5_000, 30_000, 120_000],
  drift: { load: 2, battery: 1, withdraw: 0.5, offline: 0.5, meanDownMs: 180_000 },
  selection: { intervalMs: 250 },
  warmupMs: 20_000,
  durationMs: 120_000,
  seeds: 2,
}) as DriftScenario

describe('capability drift and TTL, simulated', () => {
  it('gives identical results for the same seed', () => {
    const a = runDrift(scenario, 'kith', 15_000, 1, 4, new KeyRing())
    const b = runDrift(scenario, 'kith', 15_000, 1, 4, new KeyRing())
    expect(b).toEqual(a)
    expect(a.selections).toBeGreaterThan(1000)
    expect(a.pulls).toBeGreaterThan(0)
  })

  it('gives every mode and TTL of one seed the same drift', () => {
    const keys = new KeyRing()
    const kith = runDrift(scenario, 'kith', 5_000, 1, 3, keys)
    const flood = runDrift(scenario, 'flood', 120_000, 1, 3, keys)
    expect(flood.changes).toBe(kith.changes)
    expect(flood.selections).toBe(kith.selections)
    expect(runDrift(scenario, 'kith', 5_000, 1, 4, keys).changes).not.toBe(kith.changes)
  })

  it('a longer TTL costs fewer bytes and gives more stale selections; kith sends fewer bytes than flooding', async () => {
    const report = await runDriftScenario(scenario, { seed: 1 })
    const cell = (mode: string, ttl: number) =>
      report.data.cells.find((c) => c.mode === mode && c.ttlMs === ttl)!
    for (const mode of ['kith', 'flood']) {
      const short = cell(mode, 5_000)
      const long = cell(mode, 120_000)
      expect(long.wirePerNodePerSec.mean, mode).toBeLessThan(short.wirePerNodePerSec.mean / 3)
      // beyond the intervals, not by chance: the long TTL's interval lies above the short one's
      expect(long.low, mode).toBeGreaterThan(short.high)
    }
    for (const ttl of scenario.ttlsMs) {
      expect(cell('kith', ttl).wirePerNodePerSec.mean).toBeLessThan(cell('flood', ttl).wirePerNodePerSec.mean)
      expect(cell('kith', ttl).payloadPerNodePerSec.mean).toBeLessThan(
        cell('flood', ttl).payloadPerNodePerSec.mean,
      )
    }
    expect(report.figures.map((f) => f.id)).toEqual([
      'ttl-drift-stale',
      'ttl-drift-bytes',
      'ttl-drift-tradeoff',
    ])
    expect(report.data.knees.map((k) => k.mode)).toEqual(['kith', 'flood'])
  })

  it('kith sends bodies only when the offer changes; flooding sends only bodies', () => {
    const keys = new KeyRing()
    const kith = runDrift(scenario, 'kith', 15_000, 1, 1, keys)
    const flood = runDrift(scenario, 'flood', 15_000, 1, 1, keys)
    expect(kith.traffic.body.messages).toBe(0)
    expect(kith.traffic.notice.messages).toBeGreaterThan(kith.traffic['pull-answer'].messages * 5)
    expect(flood.traffic.notice.messages + flood.traffic['pull-request'].messages).toBe(0)
    // flooding re-signs on every state change, kith only on an offer change or a restart
    expect(flood.signed).toBeGreaterThan(kith.signed)
  })

  it('finds the knee of a curve as the point farthest from its chord', () => {
    const curve = [
      { x: 0, y: 1 },
      { x: 0.1, y: 0.2 },
      { x: 0.5, y: 0.1 },
      { x: 1, y: 0 },
    ]
    expect(kneedle(curve).index).toBe(1)
    expect(kneedle(curve.slice(0, 2)).index).toBe(-1)
    // a straight line has no knee
    expect(kneedle([0, 1, 2, 3].map((x) => ({ x, y: 2 * x }))).distance).toBeCloseTo(0, 12)
  })

  it('reports a bad field by its path', () => {
    expect(() => parseScenario({ kind: 'drift', drift: { offline: -1 } })).toThrow(ScenarioError)
    expect(() => parseScenario({ kind: 'drift', ttlsMs: [500] })).toThrow(/ttlsMs\.0/)
    expect(() => parseScenario({ kind: 'drift', nodes: 5, requesters: 6 })).toThrow(
      /requesters: more than nodes/,
    )
    expect(() => parseScenario({ kind: 'drift', colour: 'red' })).toThrow(ScenarioError)
  })
})
