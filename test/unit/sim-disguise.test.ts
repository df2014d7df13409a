import { describe, expect, it } from 'vitest'
import { runDisguiseScenario } from '../../sim/disguise.ts'
import { runDisguise } from '../../sim/disguise-run.ts'
import { KeyRing } from '../../sim/keys.ts'
import { type DisguiseScenario, parseScenario } from '../../sim/scenario.ts'

/** 30 nodes, 8 epochs: a run takes well under a second. */
const scenario = parseScenario({
  kind: 'disguise',
  nodes: 30,
  pretrusted: 3,
  attackerShares: [0.3],
  epochs: 8,
  queries: 5,
  seeds: 1,
}) as DisguiseScenario

describe('cross-topic disguise collusion, simulated', () => {
  it('gives identical results for the same seed', async () => {
    const a = await runDisguise(scenario, 0.3, 'kith', 3, new KeyRing())
    const b = await runDisguise(scenario, 0.3, 'kith', 3, new KeyRing())
    expect(b).toEqual(a)
    expect(a.queries).toBeGreaterThan(0)
    expect(a.queries).toBeLessThan(21 * 5 * 8)
  })

  it('per-topic trust and kith’s reputation serve fewer lies than choosing at random', async () => {
    const report = await runDisguiseScenario(scenario, { seed: 1 })
    const rate = (method: string) => report.data.cells.find((c) => c.method === method)!.rate
    expect(rate('none')).toBeGreaterThan(0.1)
    expect(rate('per-topic')).toBeLessThan(rate('none'))
    expect(rate('kith')).toBeLessThan(rate('none'))
    // attackers are caught and come back under new identities
    expect(report.data.cells.find((c) => c.method === 'kith')!.whitewashed).toBeGreaterThan(0)
    expect(report.figures.map((f) => f.id)).toEqual(['disguise-attack-success', 'disguise-per-epoch'])
  })
})
