/** `POST /v1/tasks` and `GET /v1/tasks/:id`: run a task somewhere in the network, and look it up later. */
import { z } from 'zod'
import { HttpError, type Route } from './http.ts'

const taskBody = z
  .strictObject({
    /** a capability id; or `intent` to let the matcher choose */
    capability: z.string().min(1).max(64).optional(),
    intent: z.string().min(1).max(1000).optional(),
    tags: z.array(z.string().max(40)).max(16).optional(),
    input: z.unknown().optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** most providers tried */
    budget: z.number().int().min(1).max(10).optional(),
    /** verification tier; `auto` follows the capability's risk (trust plane) */
    tier: z.union([z.literal('auto'), z.literal(1), z.literal(2), z.literal(3)]).optional(),
    /** only this peer (a peer id) may run it: no fallback to other providers */
    provider: z.string().min(1).max(128).optional(),
  })
  .refine((b) => (b.capability == null) !== (b.intent == null), 'give exactly one of capability or intent')

export type TaskBody = z.output<typeof taskBody>

const workflowBody = z.strictObject({
  /** the workflow as YAML text (what `kith run FILE` sends) */
  workflow: z
    .string()
    .min(1)
    .max(256 * 1024),
  /** a name for error messages, e.g. the file it came from */
  file: z.string().max(1024).optional(),
  input: z.unknown().optional(),
})

export type WorkflowBody = z.output<typeof workflowBody>

export interface TaskApi {
  runTask(body: TaskBody): Promise<Record<string, unknown>>
  getTask(id: string): Record<string, unknown> | undefined
  recentTasks(limit: number): unknown[]
  runWorkflow(body: WorkflowBody): Promise<Record<string, unknown>>
}

export function taskRoutes(api: TaskApi): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/tasks',
      handle: async (req) => {
        const parsed = taskBody.safeParse(req.body ?? {})
        if (!parsed.success) {
          const issue = parsed.error.issues[0]
          throw new HttpError(400, 'bad_request', `${issue?.path.join('.') || 'body'}: ${issue?.message}`)
        }
        return api.runTask(parsed.data)
      },
    },
    {
      method: 'GET',
      path: '/v1/tasks',
      handle: (req) => {
        const limit = Number(req.query.get('limit') ?? 50)
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new HttpError(400, 'bad_request', 'limit must be 1-500')
        return { tasks: api.recentTasks(limit) }
      },
    },
    {
      method: 'POST',
      path: '/v1/workflows',
      handle: async (req) => {
        const parsed = workflowBody.safeParse(req.body ?? {})
        if (!parsed.success) {
          const issue = parsed.error.issues[0]
          throw new HttpError(400, 'bad_request', `${issue?.path.join('.') || 'body'}: ${issue?.message}`)
        }
        return api.runWorkflow(parsed.data)
      },
    },
    {
      method: 'GET',
      path: '/v1/tasks/:id',
      handle: (req) => {
        const task = api.getTask(req.params.id ?? '')
        if (task == null) throw new HttpError(404, 'not_found', `no task ${req.params.id}`)
        return task
      },
    },
  ]
}
