/**
 * `run_workflow`: a workflow (YAML text, or the same structure as a JSON object) checked here first, so that a
 * bad one is refused with every problem before anything runs, and confirmed when any step may reach a
 * high-risk capability.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { parseDocument } from 'yaml'
import { parseWorkflow, type Workflow, WorkflowError } from '../../execution/workflow/index.ts'
import { BackendError } from './backend.ts'
import type { ToolSnapshot } from './catalog.ts'
import { MAX_TASK_TIMEOUT_MS } from './constants.ts'
import { guard, type RunContext } from './run-capability.ts'
import { errorResult, failureResult, workflowResult } from './result.ts'

const FILE = 'workflow'

/**
 * The workflow's text with its overall `timeoutMs` lowered to what an MCP call may last; the node then ends
 * the run itself (steps fail with `timeout`) instead of the call being cut off while it goes on.
 *
 * @example
 * capTimeout('name: w\ntimeoutMs: 600000\nsteps: …', workflow) // 'name: w\ntimeoutMs: 25000\nsteps: …'
 */
export function capTimeout(text: string, workflow: Workflow): string {
  if (workflow.timeoutMs <= MAX_TASK_TIMEOUT_MS) return text
  const doc = parseDocument(text)
  doc.set('timeoutMs', MAX_TASK_TIMEOUT_MS)
  return doc.toString()
}

/**
 * Steps that name a high-risk capability, or whose intent matches one among the candidates it would try.
 *
 * @example
 * await riskySteps(parseWorkflow(text, 'w'), snapshot, ctx) // ['open (front-door.unlock)']
 */
export async function riskySteps(
  workflow: Workflow,
  snapshot: ToolSnapshot,
  ctx: RunContext,
): Promise<string[]> {
  const risky: string[] = []
  for (const step of workflow.steps) {
    if ('capability' in step.target) {
      const offers = snapshot.offers.get(step.target.capability) ?? []
      if (offers.some((o) => o.capability.risk === 'high'))
        risky.push(`${step.id} (${step.target.capability})`)
    } else {
      const matches = await guard(
        ctx.backend.find(step.target.intent, step.budget),
        `matching step ${step.id}`,
      )
      const high = matches.find((m) => m.capability.risk === 'high')
      if (high != null) risky.push(`${step.id} (may run ${high.capability.id})`)
    }
  }
  return risky
}

/**
 * @example
 * await runWorkflowTool(ctx, snapshot, { workflow: 'name: w\nsteps:\n  - { id: a, capability: double, input: { x: 2 } }\n' })
 */
export async function runWorkflowTool(
  ctx: RunContext,
  snapshot: ToolSnapshot,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const text = typeof args.workflow === 'string' ? args.workflow : JSON.stringify(args.workflow)
  let workflow: Workflow
  try {
    workflow = parseWorkflow(text, FILE)
  } catch (err) {
    if (err instanceof WorkflowError)
      return errorResult(`The workflow is not valid; nothing was run.\n${err.message}`, {
        error: { code: 'bad_workflow', message: err.message },
      })
    throw err
  }
  try {
    const risky = await riskySteps(workflow, snapshot, ctx)
    if (risky.length > 0) {
      const confirmation = await ctx.confirm(
        `workflow ${workflow.name} (high-risk steps: ${risky.join(', ')})`,
        args.confirm,
      )
      if (!confirmation.ok)
        return errorResult(confirmation.message, {
          error: { code: 'not_confirmed', message: confirmation.message },
        })
    }
    const result = await guard(
      ctx.backend.runWorkflow({
        workflow: capTimeout(text, workflow),
        file: FILE,
        ...(args.input !== undefined ? { input: args.input } : {}),
      }),
      `the workflow ${workflow.name}`,
    )
    return workflowResult(result)
  } catch (err) {
    if (err instanceof BackendError) return failureResult(`workflow ${workflow.name}`, err)
    throw err
  }
}
