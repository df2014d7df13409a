/**
 * What `POST /v1/tasks`, `GET /v1/tasks/:id` and `POST /v1/workflows` do on a node: delegate through the
 * execution plane, and keep the outcomes of recent tasks (older ones come from the journal, without output).
 */
import { HttpError } from '../api/http.ts'
import type { TaskApi, TaskBody, WorkflowBody } from '../api/tasks.ts'
import { parseWorkflow, runWorkflow, type Workflow, WorkflowError } from '../execution/workflow/index.ts'
import type { ExecutionPlane } from '../execution/plane.ts'
import { BoundedMap } from '../util/bounded-map.ts'

/** Outcomes kept in memory for GET /v1/tasks/:id; older ones are answered from the journal (without output). */
const RECENT_TASKS = 256

/**
 * @example
 * taskRoutes(taskApi(() => node.execution))
 */
export function taskApi(execution: () => ExecutionPlane): TaskApi {
  const recent = new BoundedMap<string, Record<string, unknown>>({ max: RECENT_TASKS })

  const runTask = async (body: TaskBody): Promise<Record<string, unknown>> => {
    const target =
      body.capability != null
        ? { capability: body.capability }
        : { intent: { text: body.intent ?? '', ...(body.tags != null ? { tags: body.tags } : {}) } }
    const result = await execution().delegate({
      target,
      input: body.input,
      ...(body.tier != null ? { tier: body.tier } : {}),
      ...(body.timeoutMs != null ? { timeoutMs: body.timeoutMs } : {}),
      ...(body.budget != null ? { budget: body.budget } : {}),
      ...(body.provider != null ? { provider: body.provider } : {}),
    })
    const record = { ...result, requestedTier: body.tier ?? 'auto' }
    recent.set(result.id, record)
    return record
  }

  const runWorkflowBody = async (body: WorkflowBody): Promise<Record<string, unknown>> => {
    let workflow: Workflow
    try {
      workflow = parseWorkflow(body.workflow, body.file ?? 'workflow.yaml')
    } catch (err) {
      if (err instanceof WorkflowError) throw new HttpError(400, 'bad_workflow', err.message)
      throw err
    }
    const result = await runWorkflow(workflow, {
      ...(body.input !== undefined ? { input: body.input } : {}),
      delegate: (step) => execution().delegate(step),
    })
    return { ...result }
  }

  return {
    runTask,
    runWorkflow: runWorkflowBody,
    // a task this node delegated since it started also carries what its result said (provider, tier, checks)
    recentTasks: (limit) =>
      execution()
        .journal.recent(limit)
        .map((row) => {
          const result = execution().results.get(row.id)
          return result === undefined ? row : { ...row, result }
        }),
    getTask: (id) => recent.get(id) ?? (execution().journal.get(id) as Record<string, unknown> | undefined),
  }
}
