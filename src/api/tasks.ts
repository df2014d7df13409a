/** `POST /v1/tasks` and `GET /v1/tasks/:id`: run a task somewhere in the network, and look it up later. */
import { z } from 'zod'
import { HttpError, type Route } from './http.ts'

/** The longest deadline a task request may state (ms); a node's own `execution.taskTimeout` is never longer. */
export const MAX_TASK_TIMEOUT_MS = 600_000

// the descriptions are the OpenAPI document's (GET /openapi.json)
export const taskBody = z
  .strictObject({
    capability: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('a capability id; or `intent` to let the matcher choose'),
    intent: z.string().min(1).max(1000).optional().describe('what you want done, in words'),
    tags: z.array(z.string().max(40)).max(16).optional().describe('tags that narrow the intent'),
    input: z.unknown().optional().describe("the capability's input"),
    timeoutMs: z.number().int().min(100).max(MAX_TASK_TIMEOUT_MS).optional(),
    budget: z.number().int().min(1).max(10).optional().describe('most providers tried'),
    tier: z
      .union([z.literal('auto'), z.literal(1), z.literal(2), z.literal(3)])
      .optional()
      .describe("verification tier; `auto` follows the capability's risk"),
    provider: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('only this peer (a peer id) may run it: no fallback to other providers'),
  })
  .refine((b) => (b.capability == null) !== (b.intent == null), 'give exactly one of capability or intent')
  .describe('give exactly one of capability or intent')

export type TaskBody = z.output<typeof taskBody>

export const workflowBody = z.strictObject({
  workflow: z
    .string()
    .min(1)
    .max(256 * 1024)
    .describe('the workflow as YAML text (what `kith run FILE` sends)'),
  file: z.string().max(1024).optional().describe('a name for error messages, e.g. the file it came from'),
  input: z.unknown().optional().describe("the workflow's input"),
})

export type WorkflowBody = z.output<typeof workflowBody>

/**
 * A task run through the node, as `POST /v1/tasks` and `GET /v1/tasks/:id` answer it and as clients (the CLI,
 * the MCP bridge) read it: loose where an older node answers less.
 */
export interface TaskRecord {
  id: string
  ok: boolean
  status: string
  output?: unknown
  error?: { code: string; message: string }
  /** the peer whose answer is returned */
  provider?: string
  capability?: string
  local?: boolean
  attempts: Array<{
    peer: string
    local?: boolean
    status: string
    error?: { code: string; message: string }
    ms: number
  }>
  fallbacks: number
  /** the tier the answer was checked at (older nodes: the tier asked for) */
  tier?: 1 | 2 | 3 | 'auto'
  /** the tier asked for: `auto` follows the capability's risk */
  requestedTier?: 1 | 2 | 3 | 'auto'
  /** the trust plane's checks on every attempt: canary, replay, evidence */
  checks?: Array<{ name: string; result: string; peer: string; reason?: string }>
  /** what the trust plane checked, when the node reports it */
  verification?: Record<string, unknown>
}

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
      doc: {
        summary: 'Run a task somewhere in the network, verified at its tier, with fallback',
        description:
          '`provider` names the one peer to ask, with no fallback. Answers `{id, ok, status, output?, error?, ' +
          'provider, local, capability, attempts: [{peer, status, ms}], fallbacks}`.',
        body: taskBody,
      },
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
      doc: {
        summary: 'Recent tasks from the journal, newest first',
        description:
          'Both directions (`in`: this node served it, `out`: this node asked); a task this node asked for ' +
          'since it started also has `result: {provider, tier, checks, attempts, …}`.',
        query: [
          {
            name: 'limit',
            description: 'most tasks',
            schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        ],
      },
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
      doc: {
        summary: 'Run a workflow (steps with fallback) given as YAML',
        description: 'Answers the workflow result, as `kith run --json` prints it.',
        body: workflowBody,
      },
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
      doc: {
        summary: 'One task: its outcome (with output while recent), else its journal entry',
        description: 'Recent tasks come from memory; older ones are the journal record, without the output.',
      },
      handle: (req) => {
        const task = api.getTask(req.params.id ?? '')
        if (task == null) throw new HttpError(404, 'not_found', `no task ${req.params.id}`)
        return task
      },
    },
  ]
}
