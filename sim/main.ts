/**
 * `npm run sim -- <scenario.yaml> [--seed N] [--seeds K] [--json] [--svg DIR]`: runs a simulation scenario
 * and prints its tables as Markdown, or the whole report as JSON; `--svg DIR` also writes the figures as SVG
 * with the tables and the report beside them. Opens no socket and needs no node.
 *
 * The simulator lives outside src/ so that the kith binary does not carry it; it runs from a checkout only.
 */
import { parseArgs } from 'node:util'
import { EX_CONFIG } from '../src/config/index.ts'
import { runScenario, toMarkdown, writeReport } from './report.ts'
import { loadScenario, ScenarioError } from './scenario.ts'

/** Exit code for bad arguments (sysexits' EX_USAGE is 64; kith's CLI uses 2 like commander). */
export const EX_USAGE = 2

const USAGE = 'usage: npm run sim -- <scenario.yaml> [--seed N] [--seeds K] [--json] [--svg DIR]'

const HELP = `${USAGE}

Runs a simulation scenario (sim/scenarios/*.yaml) over kith's own discovery and trust code in virtual time.

  --seed N    first seed (default: the scenario's)
  --seeds K   how many seeds per cell (default: the scenario's)
  --json      print the whole report as JSON instead of a table
  --svg DIR   also write the figures (SVG), the tables (Markdown) and the report (JSON) into DIR
  --debug     print the stack if the run fails

Exit codes: 0 done, 2 bad arguments, 78 a scenario file with problems.`

/**
 * Runs the simulator with command-line arguments (without `node` and the script); returns the exit code.
 *
 * @example
 * process.exitCode = await simMain(['sim/scenarios/sybil-small.yaml', '--seeds', '1'])
 */
export async function simMain(args: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        seed: { type: 'string' },
        seeds: { type: 'string' },
        json: { type: 'boolean' },
        svg: { type: 'string' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    // parseArgs names the bad option; the usage line says what is accepted
    console.error(`sim: ${(err as Error).message}\n${USAGE}`)
    return EX_USAGE
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    console.log(HELP)
    return 0
  }
  if (positionals.length !== 1) {
    console.error(`sim: expected one scenario file, got ${positionals.length}\n${USAGE}`)
    return EX_USAGE
  }
  const seed = count(values.seed, '--seed', 0)
  const seeds = count(values.seeds, '--seeds', 1)
  if (seed === null || seeds === null) return EX_USAGE
  let scenario
  try {
    scenario = await loadScenario(positionals[0]!)
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err
    console.error(err.message)
    return EX_CONFIG
  }
  const report = await runScenario(scenario, {
    ...(seed !== undefined ? { seed } : {}),
    ...(seeds !== undefined ? { seeds } : {}),
  })
  if (values.json === true) console.log(JSON.stringify(report, null, 2))
  else console.log(toMarkdown(report))
  if (values.svg !== undefined) {
    const written = await writeReport(report, values.svg)
    console.error(`sim: wrote ${written.join(', ')}`)
  }
  return 0
}

/** An integer option at least `min`; undefined when absent, null (after a message) when invalid. */
function count(value: string | undefined, name: string, min: number): number | undefined | null {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) {
    console.error(`sim: ${name} must be an integer of at least ${min}, not ${value}`)
    return null
  }
  return n
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  try {
    process.exitCode = await simMain(args)
  } catch (err) {
    // one line unless asked: a failed run is a bug in the simulator, and --debug shows where
    if (args.includes('--debug')) console.error(err)
    else console.error(`sim: ${(err as Error).message} (run again with --debug for the stack)`)
    process.exitCode = 1
  }
}
