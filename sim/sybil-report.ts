/**
 * Runs scenario 1 over its grid (Sybil share x strategy x seed) and summarises it: per cell, the pooled
 * success rate of workflows with a 95 % Wilson interval, and each seed's own rate; one table and one figure.
 */
import type { Figure, Table } from './figures.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import type { Strategy, SybilScenario } from './scenario.ts'
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

export interface SybilData {
  cells: Cell[]
  runs: SybilRun[]
}

/**
 * @example
 * const report = await runSybilScenario(parseScenario({ kind: 'sybil', nodes: 50 }) as SybilScenario, { seeds: 3 })
 * report.data.cells // one per (Sybil share, strategy)
 */
export async function runSybilScenario(
  scenario: SybilScenario,
  options: RunOptions = {},
): Promise<SimReport<SybilData>> {
  const seeds = seedsOf(scenario, options)
  const keys = new KeyRing()
  const runs: SybilRun[] = []
  const cells: Cell[] = []
  for (const fraction of scenario.sybilFractions) {
    for (const strategy of scenario.strategies) {
      const mine: SybilRun[] = []
      for (const seed of seeds) {
        const run = await runSybil(scenario, fraction, strategy, seed, keys)
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
  return {
    scenario: scenario.name,
    kind: scenario.kind,
    nodes: scenario.nodes,
    seeds,
    tables: [successTable(scenario, seeds, cells)],
    figures: [successFigure(scenario, cells)],
    data: { cells, runs },
  }
}

/** One row per Sybil share, one column per strategy. */
function successTable(scenario: SybilScenario, seeds: number[], cells: Cell[]): Table {
  const strategies = [...new Set(cells.map((c) => c.strategy))]
  const fractions = [...new Set(cells.map((c) => c.fraction))]
  return {
    title:
      `Workflow success (${scenario.workflow.steps}-step), ${scenario.name}: pooled rate [95 % Wilson interval ` +
      'over workflows] (95 % t interval of the mean over seeds)',
    header: ['Sybils', ...strategies],
    rows: fractions.map((fraction) => [
      `${Math.round(fraction * 100)} %`,
      ...strategies.map((strategy) => {
        const c = cells.find((x) => x.fraction === fraction && x.strategy === strategy)
        if (c === undefined) return ''
        const spread = seeds.length > 1 ? ` (${fmt(c.seedMean.low)}–${fmt(c.seedMean.high)})` : ''
        return `${fmt(c.rate)} [${fmt(c.low)}, ${fmt(c.high)}]${spread}`
      }),
    ]),
  }
}

/** Success against the Sybil share, one line per strategy, with the Wilson interval. */
function successFigure(scenario: SybilScenario, cells: Cell[]): Figure {
  const strategies = [...new Set(cells.map((c) => c.strategy))]
  return {
    id: `${scenario.name}-success`,
    title: `Workflow success (${scenario.workflow.steps}-step) against the Sybil share, ${scenario.nodes} nodes`,
    x: { label: 'Sybil share of the nodes (%)' },
    y: { label: 'workflow success', min: 0, max: 1 },
    series: strategies.map((strategy) => ({
      name: strategy,
      points: cells
        .filter((c) => c.strategy === strategy)
        .map((c) => ({ x: c.fraction * 100, y: c.rate, low: c.low, high: c.high })),
    })),
    marks: [
      { y: 0.95, label: 'target at 30 %' },
      { y: 0.9, label: 'target at 50 %' },
    ],
  }
}

function fmt(x: number): string {
  return x.toFixed(3)
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0
  for (const item of items) total += f(item)
  return total
}
