/**
 * The workflow's error classes: one for a file that cannot be used (every problem, located by line, in the
 * config's `FILE:LINE: path: message` form), one for a reference that cannot be resolved while running.
 */
import { ConfigError, type ConfigProblem } from '../../config/errors.ts'
import { KithError } from '../../util/errors.ts'

/** One thing wrong with a workflow file: `source` is the file, `line` 1-based (0 when none applies). */
export type WorkflowProblem = ConfigProblem

/**
 * Thrown by `parseWorkflow` / `loadWorkflow`; carries every problem found, not just the first. A workflow file is
 * reported like a config file (`FILE:LINE: path: message`, exit 78), so it is one.
 *
 * @example
 * try {
 *   parseWorkflow('name: w\nstepz: []\n', 'w.yaml')
 * } catch (err) {
 *   if (err instanceof WorkflowError) err.message // 'w.yaml:2: stepz: unknown key\n…'
 * }
 */
export class WorkflowError extends ConfigError {
  static override readonly code: string = 'bad_workflow'

  constructor(problems: WorkflowProblem[]) {
    super(problems)
    this.name = 'WorkflowError'
  }
}

/**
 * A reference that names something the run does not have: a path missing from a step's output, an output of a
 * step that did not succeed, or a workflow input that was not given. Fails the step with code `bad_reference`.
 *
 * @example
 * new BadReferenceError('${steps.a.output.x}', 'no key "x"').code // 'bad_reference'
 */
export class BadReferenceError extends KithError {
  static override readonly code = 'bad_reference'
  static override readonly status = 400
  readonly reference: string

  constructor(reference: string, why: string) {
    super(`cannot resolve ${reference}: ${why}`)
    this.name = 'BadReferenceError'
    this.reference = reference
  }
}
