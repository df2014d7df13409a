/** Scenario `kind: scale` of issue 9: not built yet. */
import type { RunOptions, SimReport } from './report.ts'
import type { ScaleScenario } from './scenario.ts'

export function runScaleScenario(_scenario: ScaleScenario, _options: RunOptions): Promise<SimReport> {
  return Promise.reject(new Error('the scale scenario is not built yet'))
}
