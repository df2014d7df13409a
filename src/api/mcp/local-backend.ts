/** The MCP backend inside the node: the same functions the HTTP routes call, without HTTP in between. */
import { HttpError } from '../http.ts'
import type { ApiNode } from '../routes.ts'
import type { TaskApi } from '../tasks.ts'
import type { TaskRecord } from '../tasks.ts'
import { BackendError, type McpBackend } from './backend.ts'

/**
 * @example
 * const backend = localBackend(apiNode, taskApi)
 * const providers = await backend.providers() // every live descriptor's peer and capabilities
 */
export function localBackend(node: ApiNode, tasks: TaskApi): McpBackend {
  const self = () => node.status().peerId
  return {
    async providers() {
      const me = self()
      return node.descriptors().map((e) => ({
        peer: e.descriptor.peer,
        local: e.descriptor.peer === me,
        // the same array while the descriptor is held: the catalog caches its fingerprint by identity
        caps: e.descriptor.caps,
      }))
    },
    async find(intent, limit) {
      return node.findCapabilities(intent, limit)
    },
    async runTask(request) {
      return (await translate(() => tasks.runTask(request))) as unknown as TaskRecord
    },
    runWorkflow: (request) => translate(() => tasks.runWorkflow(request)),
    async peers() {
      return node.peers() as unknown as Array<Record<string, unknown>>
    },
    async getTask(id) {
      return tasks.getTask(id)
    },
  }
}

/** The node's refusals (HttpError) as backend errors, the way the remote backend reports them. */
async function translate<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof HttpError) throw new BackendError(err.code, err.message)
    throw err
  }
}
