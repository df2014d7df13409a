import { describe, expect, it } from 'vitest'
import { KeyRing } from '../../src/sim/keys.ts'
import { quantile, runScaleScenario } from '../../src/sim/scale.ts'
import { runScale } from '../../src/sim/scale-run.ts'
import { parseScenario, type ScaleScenario } from '../../src/sim/scenario.ts'

const scenario = parseScenario({ kind: 'scale', sizes: [10, 50], changes: 4, seeds: 1 }) as ScaleScenario

describe('discovery at scale, simulated', () => {
  it('gives identical results for the same seed, and every node gets every change', () => {
    const a = runScale(scenario, 50, 'kith', 5, new KeyRing())
    const b = runScale(scenario, 50, 'kith', 5, new KeyRing())
    expect(b).toEqual(a)
    expect(a.missed).toBe(0)
    expect(a.latencies).toHaveLength(4 * 49)
  })

  it('bodyless gossip costs fewer bytes than flooding, and latency grows slowly with the size', async () => {
    const report = await runScaleScenario(scenario, { seed: 1 })
    const cell = (mode: string, size: number) =>
      report.data.cells.find((c) => c.mode === mode && c.size === size)!
    for (const size of [10, 50]) {
      expect(cell('kith', size).bytesPerNodePerSec).toBeLessThan(cell('flood', size).bytesPerNodePerSec)
      expect(cell('kith', size).missed + cell('flood', size).missed).toBe(0)
    }
    for (const mode of ['kith', 'flood'])
      expect(cell(mode, 50).p50.mean).toBeLessThan(2.5 * cell(mode, 10).p50.mean)
  })

  it('takes nearest-rank quantiles', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2)
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4)
    expect(quantile([], 0.5)).toBe(0)
  })
})
