/**
 * The MCP backend of `kith mcp`: the running node's HTTP API. The client is injected (the CLI's, with its
 * `--api`/`--config` resolution and token); its errors carry the API's `code` and `message`.
 */
import type { Capability } from '../../discovery/descriptor.ts'
import type { Match } from '../../discovery/matcher/index.ts'
import { MAX_TASK_TIMEOUT_MS } from '../tasks.ts'
import type { TaskRecord } from '../tasks.ts'
import { BackendError, type LiveProvider, type McpBackend } from './backend.ts'

export interface HttpApi {
  get(path: string): Promise<unknown>
  post(path: string, body: unknown, options?: { deadlineMs?: number }): Promise<unknown>
}

interface DescriptorJson {
  peer: string
  caps: Capability[]
}

/**
 * @example
 * const backend = remoteBackend(await apiClient({ api: 'http://127.0.0.1:7700' }))
 * await backend.peers()
 */
export function remoteBackend(api: HttpApi): McpBackend {
  let self: string | undefined
  const call = async <T>(run: () => Promise<unknown>): Promise<T> => {
    try {
      return (await run()) as T
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown }
      throw new BackendError(
        typeof e.code === 'string' ? e.code : 'api_error',
        typeof e.message === 'string' ? e.message : String(err),
      )
    }
  }
  return {
    async providers(): Promise<LiveProvider[]> {
      self ??= (await call<{ peerId: string }>(() => api.get('/v1/status'))).peerId
      const { descriptors } = await call<{ descriptors: DescriptorJson[] }>(() => api.get('/v1/descriptors'))
      return descriptors.map((d) => ({ peer: d.peer, local: d.peer === self, caps: d.caps }))
    },
    async find(intent, limit) {
      const query = new URLSearchParams({ q: intent.text, limit: String(limit) })
      for (const tag of intent.tags ?? []) query.append('tag', tag)
      const c = intent.constraints ?? {}
      if (c.kind != null) query.set('kind', c.kind)
      if (c.local != null) query.set('local', String(c.local))
      if (c.minTier != null) query.set('minTier', String(c.minTier))
      const { matches } = await call<{ matches: Match[] }>(() => api.get(`/v1/capabilities?${query}`))
      return matches
    },
    // waits as long as the task may run: its own deadline, or the longest a node gives one without
    runTask: (request) =>
      call<TaskRecord>(() =>
        api.post('/v1/tasks', request, { deadlineMs: request.timeoutMs ?? MAX_TASK_TIMEOUT_MS }),
      ),
    runWorkflow: (request) => call<Record<string, unknown>>(() => api.post('/v1/workflows', request)),
    async peers() {
      return (await call<{ peers: Array<Record<string, unknown>> }>(() => api.get('/v1/peers'))).peers
    },
    async getTask(id) {
      try {
        return await call<Record<string, unknown>>(() => api.get(`/v1/tasks/${encodeURIComponent(id)}`))
      } catch (err) {
        if (err instanceof BackendError && err.code === 'not_found') return undefined
        throw err
      }
    },
  }
}
