/** Scenario `kind: disguise` of issue 9: not built yet. */
import type { RunOptions, SimReport } from './report.ts'
import type { DisguiseScenario } from './scenario.ts'

export function runDisguiseScenario(_scenario: DisguiseScenario, _options: RunOptions): Promise<SimReport> {
  return Promise.reject(new Error('the disguise scenario is not built yet'))
}
