/**
 * A simulation report, whatever the scenario kind: the tables and figures it shows and the kind's own data.
 * `runScenario` dispatches on `kind`; `toMarkdown` renders the tables, `writeReport` writes everything.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runDisguiseScenario } from './disguise.ts'
import { runDriftScenario } from './drift.ts'
import { type Figure, figureSvg, type Table, tableMarkdown } from './figures.ts'
import { runScaleScenario } from './scale.ts'
import type { Scenario } from './scenario.ts'
import { runSybilScenario } from './sybil-report.ts'

export interface SimReport<D = unknown> {
  scenario: string
  kind: Scenario['kind']
  nodes: number
  seeds: number[]
  tables: Table[]
  figures: Figure[]
  /** the kind's own numbers: every cell and every run */
  data: D
}

export interface RunOptions {
  /** first seed; default the scenario's */
  seed?: number
  /** how many seeds; default the scenario's */
  seeds?: number
}

/** The seeds a run covers: `seeds` of them from `seed` up, each defaulting to the scenario's. */
export function seedsOf(scenario: { seed: number; seeds: number }, options: RunOptions): number[] {
  const first = options.seed ?? scenario.seed
  return Array.from({ length: options.seeds ?? scenario.seeds }, (_, i) => first + i)
}

/**
 * @example
 * const report = await runScenario(await loadScenario('sim/scenarios/sybil-small.yaml'), { seeds: 3 })
 * toMarkdown(report)
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<SimReport> {
  switch (scenario.kind) {
    case 'sybil':
      return runSybilScenario(scenario, options)
    case 'drift':
      return runDriftScenario(scenario, options)
    case 'scale':
      return runScaleScenario(scenario, options)
    case 'disguise':
      return runDisguiseScenario(scenario, options)
  }
}

/** Every table of the report as Markdown, with a heading naming the scenario. */
export function toMarkdown(report: SimReport): string {
  return [
    `## ${report.scenario} (${report.kind}, ${report.nodes} nodes, seeds ${report.seeds.join(', ')})`,
    ...report.tables.map(tableMarkdown),
  ].join('\n\n')
}

/**
 * Writes `<scenario>.json` (the whole report), `<scenario>.md` (the tables) and one `<figure id>.svg` per
 * figure into `dir`; returns the paths written.
 */
export async function writeReport(report: SimReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const files: Array<[string, string]> = [
    [`${report.scenario}.json`, `${JSON.stringify(report, null, 2)}\n`],
    [`${report.scenario}.md`, `${toMarkdown(report)}\n`],
    ...report.figures.map((f): [string, string] => [`${f.id}.svg`, figureSvg(f)]),
  ]
  const written: string[] = []
  for (const [name, text] of files) {
    const path = join(dir, name)
    await writeFile(path, text)
    written.push(path)
  }
  return written
}
