import { describe, expect, it } from 'vitest'
import { kneeIndex, runDriftScenario } from '../../src/sim/drift.ts'
import { runDrift } from '../../src/sim/drift-run.ts'
import { KeyRing } from '../../src/sim/keys.ts'
import { type DriftScenario, parseScenario } from '../../src/sim/scenario.ts'

/** 30 providers, 2 requesters, a minute measured: a run takes a fraction of a second. */
const scenario = parseScenario({
  kind: 'drift',
  nodes: 30,
  requesters: 2,
  ttlsMs: [5_000, 20_000, 120_000],
  drift: { perMinute: 4 },
  durationMs: 60_000,
  seeds: 1,
}) as DriftScenario

describe('capability drift and TTL, simulated', () => {
  it('gives identical results for the same seed', async () => {
    const a = await runDrift(scenario, 15_000, 'kith', 2, new KeyRing())
    const b = await runDrift(scenario, 15_000, 'kith', 2, new KeyRing())
    expect(b).toEqual(a)
    expect(a.selections).toBeGreaterThan(100)
  })

  it('a longer TTL costs fewer bytes and more stale selections; bodyless costs fewer bytes than flooding', async () => {
    const report = await runDriftScenario(scenario, { seed: 1 })
    const cell = (mode: string, ttl: number) =>
      report.data.cells.find((c) => c.mode === mode && c.ttlMs === ttl)!
    for (const mode of ['kith', 'flood']) {
      expect(cell(mode, 120_000).bytesPerNodePerSec).toBeLessThan(cell(mode, 5_000).bytesPerNodePerSec)
      expect(cell(mode, 120_000).rate).toBeGreaterThan(cell(mode, 5_000).rate)
    }
    for (const ttl of scenario.ttlsMs)
      expect(cell('kith', ttl).bytesPerNodePerSec).toBeLessThan(cell('flood', ttl).bytesPerNodePerSec)
    expect(report.figures).toHaveLength(3)
  })

  it('finds the knee of a curve as the point farthest from its chord', () => {
    expect(
      kneeIndex([
        { x: 0, y: 1 },
        { x: 0.1, y: 0.2 },
        { x: 0.5, y: 0.1 },
        { x: 1, y: 0 },
      ]),
    ).toBe(1)
    expect(
      kneeIndex([
        { x: 0, y: 1 },
        { x: 1, y: 0 },
      ]),
    ).toBe(-1)
  })
})
