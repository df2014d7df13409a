import { describe, expect, it } from 'vitest'
import { KeyRing } from '../../sim/keys.ts'
import { parseScenario, type SybilScenario } from '../../sim/scenario.ts'
import { runSybil } from '../../sim/sybil.ts'
import { runSybilScenario } from '../../sim/sybil-report.ts'

/** 50 nodes, 5 household requesters, 10 two-step workflows each: a run takes well under a second. */
const scenario = parseScenario({
  kind: 'sybil',
  nodes: 50,
  requesters: 5,
  sybilFractions: [0, 0.3],
  seeds: 1,
  workflow: { steps: 2, perRequester: 10 },
}) as SybilScenario

describe('Sybil index poisoning, simulated', () => {
  it('gives identical results for the same seed', async () => {
    const a = await runSybil(scenario, 0.3, 'tier12', 4, new KeyRing())
    const b = await runSybil(scenario, 0.3, 'tier12', 4, new KeyRing())
    expect(b).toEqual(a)
    expect(a.workflows).toBe(50)
  })

  it('Sybils lower naive success, and every tiered strategy raises it again', async () => {
    const report = await runSybilScenario(scenario, { seed: 1, seeds: 1 })
    const rate = (fraction: number, strategy: string) =>
      report.data.cells.find((c) => c.fraction === fraction && c.strategy === strategy)!.rate
    expect(rate(0, 'naive')).toBeGreaterThan(0.9)
    expect(rate(0.3, 'naive')).toBeLessThan(rate(0, 'naive') - 0.3)
    for (const strategy of ['tier1', 'tier12', 'full'])
      expect(rate(0.3, strategy), strategy).toBeGreaterThan(rate(0.3, 'naive'))
    // Sybils answered, and were caught: the share of steps they answered falls under the tiers
    const share = (strategy: string) =>
      report.data.cells.find((c) => c.fraction === 0.3 && c.strategy === strategy)!.sybilAnswerShare
    expect(share('naive')).toBeGreaterThan(share('tier12'))
  })
})
