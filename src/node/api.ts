/**
 * The node's local HTTP API, assembled from the planes: the kith routes, tasks, trust, the event stream, the
 * dashboard's files, MCP, the agent card, metrics and the OpenAPI document, behind one server with the
 * config's token and limits. The views in api-views.ts are all api/ ever sees of the planes.
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { agentCardRoute } from '../api/agent-card.ts'
import { dashboardRoutes, loadDashboard } from '../api/dashboard.ts'
import { createEvents } from '../api/events.ts'
import { emptyRefusals } from '../api/connection-guard.ts'
import { createHttpServer } from '../api/http.ts'
import { createMcpHttp } from '../api/mcp/index.ts'
import { metricsRegistry, metricsRoute } from '../api/metrics.ts'
import { withOpenApi } from '../api/openapi.ts'
import { kithRoutes, type NodeStatus } from '../api/routes.ts'
import { taskRoutes } from '../api/tasks.ts'
import { trustRoute } from '../api/trust.ts'
import { type Config, parseHostPort } from '../config/index.ts'
import type { PeerNames } from '../connectivity/peer-names.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import type { WorkerSandbox } from '../execution/sandbox/index.ts'
import type { CanaryBook } from '../trust/canary.ts'
import type { Reputation } from '../trust/reputation/index.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { VERSION } from '../version.ts'
import { agentCardView, apiNodeView, eventSources, metricsView, trustView } from './api-views.ts'
import type { DevicePlane } from '../devices/plane.ts'
import type { LocalState } from '../discovery/local-state.ts'
import type { DiscoveryPlane } from '../discovery/plane.ts'
import type { NodeEvents } from './events.ts'
import type { ExecutionPlane } from '../execution/plane.ts'
import { taskApi } from './tasks.ts'

export interface NodeApiParts {
  config: Config
  identity: Identity
  logger: Logger
  host: KithLibp2p
  discovery: DiscoveryPlane
  execution: ExecutionPlane
  devices: DevicePlane
  reputation: Reputation
  sandbox: WorkerSandbox
  canaries: CanaryBook
  local: LocalState
  /** the names peers gave themselves */
  names: PeerNames
  status(): NodeStatus
  /** CPU time of the scripts the sandbox ran, ms */
  sandboxCpuMs(): number
  /** the config in effect (it changes on a reload) */
  current(): Config
  /** the API's URL once it listens, else '' */
  apiUrl(): string
  events: Events<NodeEvents>
}

export interface NodeApi {
  /** created, not listening until {@link listen} */
  server: Server
  /** listens on `HOST:PORT` (`api.listen`); resolves with the API's URL, or throws what to change */
  listen(address: string): Promise<string>
  /** ends MCP sessions and event streams, then closes the server */
  close(): Promise<void>
}

/**
 * @example
 * const api = buildNodeApi({ ...planes, status: () => node.status(), current: () => node.config, apiUrl: () => url })
 * api.server.listen(7700, '127.0.0.1')
 */
export function buildNodeApi(parts: NodeApiParts): NodeApi {
  const { config, host, discovery, execution, devices, reputation } = parts
  const log = componentLogger(parts.logger, 'kith:api')
  const tokenRequired = config.apiToken != null
  const self = parts.identity.peerId.toString()
  const tasks = taskApi(() => execution)
  const view = apiNodeView({ status: parts.status, host, discovery, devices, names: parts.names })
  const mcp = createMcpHttp({
    node: view,
    tasks,
    tokenRequired,
    log: componentLogger(parts.logger, 'kith:api:mcp'),
  })
  const card = agentCardView({
    identity: parts.identity,
    version: VERSION,
    discovery,
    name: () => parts.current().name,
    apiUrl: () => parts.apiUrl() || `http://${parts.current().api.listen}`,
    tokenRequired,
  })
  const apiRefusals = emptyRefusals()
  const metrics = metricsView({
    apiRefusals,
    host,
    discovery,
    execution,
    devices,
    reputation,
    sandbox: parts.sandbox,
    sandboxCpuMs: parts.sandboxCpuMs,
    canaries: parts.canaries,
    local: parts.local,
  })
  const events = createEvents({
    peerId: self,
    sources: eventSources(parts.events),
  })
  const dashboard = loadDashboard()
  if (dashboard.source === undefined)
    log.warn('the dashboard is not built (npm run build:dashboard): / explains how')
  const server = createHttpServer({
    routes: withOpenApi(
      [
        ...taskRoutes(tasks),
        ...kithRoutes(view),
        trustRoute(trustView({ self, reputation, discovery })),
        events.route,
        ...dashboardRoutes(dashboard),
        ...mcp.routes,
        agentCardRoute(card),
        metricsRoute(metricsRegistry(metrics)),
      ],
      { version: VERSION, tokenRequired, serverUrl: parts.apiUrl },
    ),
    token: config.apiToken,
    maxBodyBytes: config.api.maxBodyBytes,
    maxConnections: config.api.maxConnections,
    maxConnectionsPerAddress: config.api.maxConnectionsPerAddress,
    firstByteTimeoutMs: config.api.firstByteTimeoutMs,
    refusals: apiRefusals,
    onError: (err, req) => log.error({ err, ...req }, 'request failed'),
  })
  return {
    server,
    listen: (address) => listen(server, address),
    async close() {
      await mcp.stop()
      events.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Listens on `address`; a port in use says which config key to change. */
async function listen(server: Server, address: string): Promise<string> {
  const bind = parseHostPort(address)
  if (bind == null) throw new Error(`api.listen: ${address} is not HOST:PORT`)
  server.listen(bind.port, bind.host)
  try {
    await once(server, 'listening')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(
      code === 'EADDRINUSE'
        ? `api.listen: ${address} is in use (is another kith node running? set api.listen to another port)`
        : `api.listen: cannot listen on ${address}: ${code ?? err}`,
      { cause: err },
    )
  }
  const { address: host, port } = server.address() as AddressInfo
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
