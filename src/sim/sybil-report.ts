/**
 * Runs a scenario over its grid (Sybil share x strategy x seed) and summarises it: per cell, the pooled
 * success rate of workflows with a 95 % Wilson interval, and each seed's own rate.
 */
import { KeyRing } from './keys.ts'
import type { Scenario, Strategy } from './scenario.ts'
import { meanInterval, wilson } from './stats.ts'
import { runSybil, type SybilRun } from './sybil.ts'

export interface Cell {
  fraction: number
  strategy: Strategy
  workflows: number
  succeeded: number
  rate: number
  low: number
  high: number
  /** success rate of each seed, in seed order */
  perSeed: number[]
  /** the mean of `perSeed` with a 95 % t interval over seeds */
  seedMean: { mean: number; low: number; high: number }
  /** share of accepted step answers that came from Sybils */
  sybilAnswerShare: number
  callsPerWorkflow: number
}

export interface SimReport {
  scenario: string
  kind: Scenario['kind']
  nodes: number
  seeds: number[]
  cells: Cell[]
  runs: SybilRun[]
}

export interface RunOptions {
  /** first seed; default the scenario's */
  seed?: number
  /** how many seeds; default the scenario's */
  seeds?: number
  /** told after each run (progress) */
  onRun?: (run: SybilRun) => void
}

/**
 * @example
 * const report = await runScenario(await loadScenario('sim/scenarios/sybil-poisoning.yaml'), { seeds: 3 })
 * toMarkdown(report)
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<SimReport> {
  const first = options.seed ?? scenario.seed
  const seeds = Array.from({ length: options.seeds ?? scenario.seeds }, (_, i) => first + i)
  const keys = new KeyRing()
  const runs: SybilRun[] = []
  const cells: Cell[] = []
  for (const fraction of scenario.sybilFractions) {
    for (const strategy of scenario.strategies) {
      const mine: SybilRun[] = []
      for (const seed of seeds) {
        const run = await runSybil(scenario, fraction, strategy, seed, keys)
        options.onRun?.(run)
        mine.push(run)
      }
      runs.push(...mine)
      const workflows = sum(mine, (r) => r.workflows)
      const succeeded = sum(mine, (r) => r.succeeded)
      const steps = sum(mine, (r) => r.steps)
      cells.push({
        fraction,
        strategy,
        workflows,
        succeeded,
        ...wilson(succeeded, workflows),
        perSeed: mine.map((r) => (r.workflows === 0 ? 0 : r.succeeded / r.workflows)),
        seedMean: meanInterval(mine.map((r) => (r.workflows === 0 ? 0 : r.succeeded / r.workflows))),
        sybilAnswerShare: steps === 0 ? 0 : sum(mine, (r) => r.sybilAnswers) / steps,
        callsPerWorkflow: workflows === 0 ? 0 : sum(mine, (r) => r.calls) / workflows,
      })
    }
  }
  return { scenario: scenario.name, kind: scenario.kind, nodes: scenario.nodes, seeds, cells, runs }
}

/** The report as a Markdown table: one row per Sybil share, one column per strategy. */
export function toMarkdown(report: SimReport): string {
  const strategies = [...new Set(report.cells.map((c) => c.strategy))]
  const fractions = [...new Set(report.cells.map((c) => c.fraction))]
  const lines = [
    `Workflow success, ${report.scenario} (${report.nodes} nodes, seeds ${report.seeds.join(', ')}): pooled rate ` +
      '[95 % Wilson interval over workflows] (95 % t interval of the mean over seeds)',
    '',
    `| Sybils | ${strategies.join(' | ')} |`,
    `|---|${strategies.map(() => '---').join('|')}|`,
  ]
  for (const fraction of fractions) {
    const row = strategies.map((strategy) => {
      const c = report.cells.find((x) => x.fraction === fraction && x.strategy === strategy)
      if (c === undefined) return ''
      const seeds = report.seeds.length > 1 ? ` (${fmt(c.seedMean.low)}–${fmt(c.seedMean.high)})` : ''
      return `${fmt(c.rate)} [${fmt(c.low)}, ${fmt(c.high)}]${seeds}`
    })
    lines.push(`| ${Math.round(fraction * 100)} % | ${row.join(' | ')} |`)
  }
  return lines.join('\n')
}

function fmt(x: number): string {
  return x.toFixed(3)
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0
  for (const item of items) total += f(item)
  return total
}
