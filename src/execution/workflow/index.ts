/**
 * Workflows: `parseWorkflow` / `loadWorkflow` read and check a workflow file, `runWorkflow` runs it with an
 * injected delegate.
 *
 * @example
 * const result = await runWorkflow(await loadWorkflow('evening.yaml'), { delegate: (req) => delegate(components, req) })
 */
export { BadReferenceError, WorkflowError, type WorkflowProblem } from './errors.ts'
export { findCycle } from './graph.ts'
export { loadWorkflow, parseWorkflow } from './parse.ts'
export { findReferences, lookup, parseReference, type Reference, resolveValue } from './refs.ts'
export {
  type RunWorkflowOptions,
  runWorkflow,
  type StepDelegate,
  type StepRequest,
  type StepResult,
  type StepStatus,
  type WorkflowResult,
} from './run.ts'
export {
  DEFAULT_BUDGET,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFAULT_WORKFLOW_TIMEOUT_MS,
  MAX_STEPS,
  MAX_WORKFLOW_BYTES,
  type Workflow,
  type WorkflowStep,
  workflowSchema,
} from './schema.ts'
