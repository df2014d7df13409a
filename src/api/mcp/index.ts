/**
 * kith's MCP server (docs/mcp.md): streamable HTTP at `/mcp` on the node's API, built here from the same
 * node functions the other routes call, and the parts `kith mcp` (stdio) assembles over the HTTP API.
 */
import { HttpError, RESPONDED, type Route, type RouteDoc } from '../http.ts'
import type { ApiNode } from '../routes.ts'
import type { TaskApi } from '../tasks.ts'
import type { Logger } from '../../util/logger.ts'
import { ToolCatalog } from './catalog.ts'
import { LOCAL_POLL_MS } from './constants.ts'
import { McpHttpSessions } from './http-sessions.ts'
import { localBackend } from './local-backend.ts'
import { InputChecks } from './run-capability.ts'
import { createMcpServer } from './server.ts'
import { ToolListWatcher } from './watcher.ts'

export { type McpBackend, BackendError } from './backend.ts'
export { ToolCatalog } from './catalog.ts'
export { MAX_DYNAMIC_TOOLS, REMOTE_POLL_MS } from './constants.ts'
export { remoteBackend, type HttpApi } from './remote-backend.ts'
export { createMcpServer } from './server.ts'
export { ToolListWatcher } from './watcher.ts'

export interface McpHttpInit {
  node: ApiNode
  tasks: TaskApi
  /** the API requires a bearer token: any Origin may then call (the token is the gate) */
  tokenRequired: boolean
  log?: Logger
  maxSessions?: number
  idleMs?: number
}

export interface McpHttp {
  routes: Route[]
  /** sessions open now */
  readonly sessions: number
  stop(): Promise<void>
}

/** The `/mcp` operations in the OpenAPI document: MCP's streamable HTTP transport defines the bodies. */
const MCP_DOCS: Record<'POST' | 'GET' | 'DELETE', RouteDoc> = {
  POST: {
    summary: 'MCP streamable HTTP: a JSON-RPC message (initialize, tools/list, tools/call, …)',
    description:
      'Send `Accept: application/json, text/event-stream` and, after initialize, `mcp-session-id`.',
    response: { contentType: 'text/event-stream', description: 'JSON-RPC responses as server-sent events' },
  },
  GET: {
    summary: "MCP streamable HTTP: the session's server-to-client stream (tools/list_changed)",
    response: { contentType: 'text/event-stream', description: 'server-sent events' },
  },
  DELETE: { summary: 'MCP streamable HTTP: end the session named by `mcp-session-id`' },
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/

/**
 * A browser page may send requests to a loopback API without any token, and DNS rebinding can make its
 * origin look local; MCP requires refusing foreign origins, so without a token only loopback origins pass.
 */
function checkOrigin(origin: string | undefined, tokenRequired: boolean): void {
  if (origin == null || tokenRequired) return
  let host = ''
  try {
    host = new URL(origin).hostname
  } catch {
    // not a URL: refused below
  }
  if (!LOOPBACK_HOST.test(host))
    throw new HttpError(403, 'forbidden', `origin ${origin} may not use /mcp; set api.token to allow it`)
}

/**
 * The `/mcp` routes (POST, GET, DELETE) of a node, and their sessions.
 *
 * @example
 * const mcp = createMcpHttp({ node: apiNode, tasks: taskApi, tokenRequired: config.apiToken != null })
 * createHttpServer({ routes: [...kithRoutes(apiNode), ...mcp.routes], … })
 */
export function createMcpHttp(init: McpHttpInit): McpHttp {
  const backend = localBackend(init.node, init.tasks)
  const catalog = new ToolCatalog(() => backend.providers())
  const checks = new InputChecks()
  const watcher = new ToolListWatcher({
    catalog,
    intervalMs: LOCAL_POLL_MS,
    onError: (err) => init.log?.warn({ err }, 'MCP tool list poll failed'),
  })
  const sessions = new McpHttpSessions({
    createServer: () =>
      createMcpServer({ backend, catalog, checks, ...(init.log != null ? { log: init.log } : {}) }),
    watcher,
    ...(init.maxSessions != null ? { maxSessions: init.maxSessions } : {}),
    ...(init.idleMs != null ? { idleMs: init.idleMs } : {}),
    ...(init.log != null ? { log: init.log } : {}),
  })
  const handle: Route['handle'] = async (req) => {
    const origin = req.raw.req.headers.origin
    checkOrigin(origin, init.tokenRequired)
    await sessions.handle(req.raw.req, req.raw.res, req.body)
    return RESPONDED
  }
  return {
    routes: (['POST', 'GET', 'DELETE'] as const).map((method) => ({
      method,
      path: '/mcp',
      doc: MCP_DOCS[method],
      handle,
    })),
    get sessions() {
      return sessions.size
    },
    async stop() {
      watcher.stop()
      await sessions.close()
    },
  }
}
