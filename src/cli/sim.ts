/**
 * `kith sim <scenario.yaml> [--seed N] [--seeds K] [--json] [--svg DIR]`: runs a simulation scenario
 * (src/sim/) and prints its tables as Markdown, or the whole report as JSON; `--svg DIR` also writes the
 * figures as SVG with the tables and the report beside them. Opens no socket and needs no node.
 */
import { EX_CONFIG } from '../config/index.ts'
import { runScenario, toMarkdown, writeReport } from '../sim/report.ts'
import { loadScenario, ScenarioError } from '../sim/scenario.ts'

export interface SimOptions {
  seed?: string
  seeds?: string
  json?: boolean
  svg?: string
}

/** Runs the command; returns the exit code (78 for a scenario file with problems, 2 for bad options). */
export async function simCommand(file: string, opts: SimOptions): Promise<number> {
  const seed = count(opts.seed, '--seed', 0)
  const seeds = count(opts.seeds, '--seeds', 1)
  if (seed === null || seeds === null) return 2
  let scenario
  try {
    scenario = await loadScenario(file)
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err
    console.error(err.message)
    return EX_CONFIG
  }
  const report = await runScenario(scenario, {
    ...(seed !== undefined ? { seed } : {}),
    ...(seeds !== undefined ? { seeds } : {}),
  })
  if (opts.json === true) console.log(JSON.stringify(report, null, 2))
  else console.log(toMarkdown(report))
  if (opts.svg !== undefined) {
    const written = await writeReport(report, opts.svg)
    console.error(`kith: wrote ${written.join(', ')}`)
  }
  return 0
}

/** An integer option at least `min`; undefined when absent, null (after a message) when invalid. */
function count(value: string | undefined, name: string, min: number): number | undefined | null {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) {
    console.error(`kith: ${name} must be an integer of at least ${min}, not ${value}`)
    return null
  }
  return n
}
