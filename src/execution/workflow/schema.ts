/**
 * The workflow file format, `kith run workflow.yaml`: named steps, each a capability or an intent, whose inputs
 * may reference earlier outputs. Steps without dependencies run in parallel.
 *
 * ```yaml
 * name: evening
 * description: warm the hall when the living room is cold   # optional
 * timeoutMs: 30000          # the whole workflow; 300000 by default
 * steps:
 *   - id: temp              # /^[a-z][a-z0-9_-]{0,31}$/, unique
 *     capability: sensor.living-temp       # or: intent: "living room temperature", tags: [temperature]
 *     input: { unit: C }                   # any YAML value; {} by default
 *   - id: heat
 *     capability: thermostat.hall
 *     input: { target: "${steps.temp.output.celsius}" }   # a reference makes `temp` a dependency
 *     needs: [temp]         # explicit dependencies, for ordering without a reference (optional)
 *     timeoutMs: 5000       # this step; 30000 by default, never more than what is left of the workflow's
 *     budget: 3             # providers tried, i.e. at most budget - 1 fallbacks
 *     tier: auto            # auto | 1 | 2 | 3, passed to the delegate
 *     optional: false       # a failed optional step does not fail the workflow
 * output: "${steps.heat.output}"   # optional: the workflow's result
 * ```
 *
 * References (see `refs.ts`): `${steps.<id>.output}` with an optional path (`.celsius`, `.items[0]`) and
 * `${input}` / `${input.x}` for the input given at run time. A string that is exactly one reference becomes the
 * referenced value (any JSON type); a reference inside a longer string is replaced by its text (strings as they
 * are, anything else as JSON). `$${` writes a literal `${`.
 */
import { z } from 'zod'
import type { Intent, Tier } from '../../discovery/matcher/types.ts'

export const MAX_STEPS = 64
export const MAX_WORKFLOW_BYTES = 256 * 1024
export const DEFAULT_WORKFLOW_TIMEOUT_MS = 300_000
export const DEFAULT_STEP_TIMEOUT_MS = 30_000
export const MAX_TIMEOUT_MS = 24 * 3600_000
export const DEFAULT_BUDGET = 3
export const MAX_BUDGET = 16

/** A step id: short, lowercase, usable inside `${steps.<id>.output}`. */
export const STEP_ID = /^[a-z][a-z0-9_-]{0,31}$/

const stepId = z
  .string()
  .regex(STEP_ID, 'use 1-32 lowercase letters, digits, "_" or "-", starting with a letter')
const timeout = z.number().int().positive().max(MAX_TIMEOUT_MS)

const stepSchema = z
  .strictObject({
    id: stepId,
    capability: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'expected a capability id')
      .optional(),
    intent: z.string().min(1).max(1000).optional(),
    tags: z.array(z.string().min(1).max(40)).max(32).optional(),
    input: z.json().default({}),
    needs: z.array(stepId).max(MAX_STEPS).default([]),
    timeoutMs: timeout.optional(),
    budget: z.number().int().min(1).max(MAX_BUDGET).default(DEFAULT_BUDGET),
    tier: z.union([z.literal('auto'), z.literal(1), z.literal(2), z.literal(3)]).default('auto'),
    optional: z.boolean().default(false),
  })
  .superRefine((step, ctx) => {
    if ((step.capability == null) === (step.intent == null))
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of `capability` or `intent`' })
    if (step.tags != null && step.intent == null)
      ctx.addIssue({
        code: 'custom',
        path: ['tags'],
        message: '`tags` refine an `intent`; this step has none',
      })
  })

/** The file as written, before references and dependencies are checked. */
export const workflowSchema = z.strictObject({
  name: z.string().min(1).max(64),
  description: z.string().max(2000).optional(),
  timeoutMs: timeout.default(DEFAULT_WORKFLOW_TIMEOUT_MS),
  steps: z.array(stepSchema).min(1).max(MAX_STEPS),
  output: z.json().optional(),
})

export type WorkflowFile = z.output<typeof workflowSchema>
export type StepFile = WorkflowFile['steps'][number]

/** One checked step, ready to run. */
export interface WorkflowStep {
  id: string
  target: { capability: string } | { intent: Intent }
  /** may contain references; resolved when the step starts */
  input: unknown
  /** explicit `needs` and every step the input references, in file order */
  dependsOn: string[]
  timeoutMs: number
  budget: number
  tier: Tier | 'auto'
  optional: boolean
}

/**
 * A checked workflow: ids unique, every reference and dependency known, no cycles.
 *
 * @example
 * const wf: Workflow = parseWorkflow('name: w\nsteps:\n  - { id: a, capability: echo }\n', 'w.yaml')
 * wf.steps[0]?.dependsOn // []
 */
export interface Workflow {
  name: string
  description?: string
  timeoutMs: number
  steps: WorkflowStep[]
  /** may contain references; resolved after every step has finished */
  output?: unknown
  /** where it was read from, for messages */
  file: string
}
