/**
 * Scenario files (YAML under `sim/scenarios/`): one schema per scenario kind (in `<kind>-scenario.ts`),
 * validated with zod, every field optional except `kind`. Problems are reported as "path: message".
 */
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { z } from 'zod'
import { disguiseScenario } from './disguise-scenario.ts'
import { driftScenario } from './drift-scenario.ts'
import { scaleScenario } from './scale-scenario.ts'
import { sybilScenario } from './sybil-scenario.ts'
import { EXIT, KithError } from '../src/util/errors.ts'

export { STRATEGIES, type Strategy, type SybilScenario } from './sybil-scenario.ts'
export type { DriftScenario } from './drift-scenario.ts'
export type { ScaleScenario } from './scale-scenario.ts'
export type { DisguiseScenario } from './disguise-scenario.ts'

export const scenarioSchema = z.discriminatedUnion('kind', [
  sybilScenario,
  driftScenario,
  scaleScenario,
  disguiseScenario,
])
export type Scenario = z.output<typeof scenarioSchema>

/** A scenario file with problems, each as "path: message". */
export class ScenarioError extends KithError {
  static override readonly code = 'bad_scenario'
  static override readonly status = 400
  static override readonly exitCode = EXIT.config
  constructor(message: string) {
    super(message)
    this.name = 'ScenarioError'
  }
}

/**
 * Validates a parsed scenario; throws {@link ScenarioError} listing every problem as "path: message".
 *
 * @example
 * parseScenario({ kind: 'sybil', nodes: 50 }).nodes // 50
 */
export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ScenarioError(lines.join('\n'))
  }
  return parsed.data
}

/** Reads and validates a scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  let raw: unknown
  try {
    raw = parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ScenarioError(`${file}: ${(err as Error).message}`)
  }
  return parseScenario(raw, file)
}
