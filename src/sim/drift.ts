/** Scenario `kind: drift` of issue 9: not built yet. */
import type { RunOptions, SimReport } from './report.ts'
import type { DriftScenario } from './scenario.ts'

export function runDriftScenario(_scenario: DriftScenario, _options: RunOptions): Promise<SimReport> {
  return Promise.reject(new Error('the drift scenario is not built yet'))
}
