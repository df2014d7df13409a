/**
 * The generated part of docs/http-api.md: the endpoint table, read from the OpenAPI document the node serves
 * (src/api/openapi.ts). The routes are built here as src/node/api.ts builds them, over inert views: building
 * a route table reads nothing from the planes, so no node has to start. test/integration/openapi.test.ts
 * checks that a running node serves the same operations.
 */
import { agentCardRoute } from '../../src/api/agent-card.ts'
import { dashboardRoutes } from '../../src/api/dashboard.ts'
import { createEvents } from '../../src/api/events.ts'
import type { Route } from '../../src/api/http.ts'
import { createMcpHttp } from '../../src/api/mcp/index.ts'
import { metricsRoute } from '../../src/api/metrics.ts'
import { openApiDocument, withOpenApi } from '../../src/api/openapi.ts'
import { kithRoutes } from '../../src/api/routes.ts'
import { taskRoutes } from '../../src/api/tasks.ts'
import { trustRoute } from '../../src/api/trust.ts'
import { VERSION } from '../../src/version.ts'
import { cell } from './generated-block.ts'

/** A stand-in for a plane's view: any use of it is a bug in this generator, and says so. */
function inert<T>(what: string): T {
  return new Proxy({} as object, {
    get: (_, prop) => {
      throw new Error(`the docs generator built a route that reads ${what}.${String(prop)} while being built`)
    },
  }) as T
}

/**
 * The node's routes, in the order src/node/api.ts mounts them, with `GET /openapi.json` last.
 *
 * @example
 * documentedRoutes().some((r) => r.path === '/v1/tasks') // true
 */
export function documentedRoutes(): Route[] {
  return withOpenApi(
    [
      ...taskRoutes(inert('tasks')),
      ...kithRoutes(inert('node')),
      trustRoute(inert('trust')),
      createEvents({ peerId: '', sources: [] }).route,
      ...dashboardRoutes({ files: new Map(), source: undefined, gzipBytes: 0 }),
      ...createMcpHttp({ node: inert('node'), tasks: inert('tasks'), tokenRequired: true }).routes,
      agentCardRoute(inert('card')),
      metricsRoute(inert('registry')),
    ],
    { version: VERSION, tokenRequired: true },
  )
}

interface Operation {
  summary: string
  description?: string
  parameters?: Array<{ name: string; in: string; description?: string }>
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }
  security?: unknown[]
}

function what(op: Operation): string {
  const parts = [op.summary.replace(/\.?$/, '.')]
  if (op.description != null) parts.push(op.description)
  const query = (op.parameters ?? []).filter((p) => p.in === 'query')
  if (query.length > 0)
    parts.push(
      `Query: ${query.map((p) => `\`${p.name}\`${p.description != null ? `: ${p.description}` : ''}`).join('; ')}.`,
    )
  const body = op.requestBody?.content['application/json']?.schema.properties
  if (body != null)
    parts.push(
      `Body: ${Object.keys(body)
        .map((k) => `\`${k}\``)
        .join(', ')}.`,
    )
  return parts.join(' ')
}

/**
 * The endpoint table of the OpenAPI document of `routes`: endpoint, whether it needs the token, what it does.
 *
 * @example
 * httpReference().startsWith('| endpoint |') // true
 */
export function httpReference(routes: readonly Route[] = documentedRoutes()): string {
  const doc = openApiDocument(routes, { version: VERSION, tokenRequired: true }) as {
    paths: Record<string, Record<string, Operation>>
  }
  const rows = ['| endpoint | needs the token | what it does |', '| --- | --- | --- |']
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const open = Array.isArray(op.security) && op.security.length === 0
      rows.push(`| \`${method.toUpperCase()} ${path}\` | ${open ? 'no' : 'yes'} | ${cell(what(op))} |`)
    }
  return rows.join('\n')
}
