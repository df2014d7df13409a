/**
 * `GET /openapi.json`: an OpenAPI 3.1 document of the local API, generated from the route table the server
 * runs. Each route carries its own `doc` (summary, the zod schema that validates its body, its query
 * parameters), so a route added, removed or changed changes the document with it; a route without `doc`
 * still appears, under its method and path.
 */
import { z } from 'zod'
import type { Route, RouteDoc } from './http.ts'

export const OPENAPI_PATH = '/openapi.json'

export interface OpenApiInit {
  /** kith's version */
  version: string
  /** the API wants a bearer token on every route but the open ones */
  tokenRequired: boolean
  /** the API's URL, once it listens */
  serverUrl?(): string
}

type Json = Record<string, unknown>

const ERROR_RESPONSE = { $ref: '#/components/responses/Error' }

const COMPONENTS = {
  schemas: {
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', description: 'stable, machine-readable, e.g. `bad_request`' },
            message: { type: 'string', description: 'for people' },
          },
        },
      },
    },
  },
  responses: {
    Error: {
      description: 'an error, with a fitting HTTP status',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
  },
  securitySchemes: {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      description: "the node's `api.token`; required on any address but loopback",
    },
  },
}

/** `/v1/tasks/:id` as OpenAPI writes it: `/v1/tasks/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([a-zA-Z]+)/g, '{$1}')
}

function operationId(route: Route): string {
  const words = route.path.split(/[^a-zA-Z0-9]+/).filter((w) => w !== '')
  return route.method.toLowerCase() + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')
}

function bodySchema(schema: NonNullable<RouteDoc['body']>): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  return rest
}

function operation(route: Route): Json {
  const doc = route.doc
  const pathParams = [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }))
  const queryParams = (doc?.query ?? []).map((q) => ({
    name: q.name,
    in: 'query',
    description: q.description,
    required: q.required === true,
    schema: q.schema ?? { type: 'string' },
  }))
  const parameters = [...pathParams, ...queryParams]
  const contentType = doc?.response?.contentType ?? 'application/json'
  const responses: Json = {
    '200': {
      description: doc?.response?.description ?? 'OK',
      content: {
        [contentType]: {
          schema: doc?.response?.schema ?? (contentType === 'application/json' ? { type: 'object' } : {}),
        },
      },
    },
  }
  if (doc?.body != null) for (const status of ['400', '413', '415']) responses[status] = ERROR_RESPONSE
  if (route.open !== true) responses['401'] = ERROR_RESPONSE
  responses.default = ERROR_RESPONSE
  return {
    operationId: operationId(route),
    summary: doc?.summary ?? `${route.method} ${route.path}`,
    ...(doc?.description != null ? { description: doc.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc?.body != null
      ? { requestBody: { required: true, content: { 'application/json': { schema: bodySchema(doc.body) } } } }
      : {}),
    responses,
    ...(route.open === true ? { security: [] } : {}),
  }
}

/**
 * The OpenAPI 3.1 document of `routes`.
 *
 * @example
 * const doc = openApiDocument([...taskRoutes(tasks), ...kithRoutes(node)], { version: '0.1.0', tokenRequired: false })
 * Object.keys(doc.paths) // ['/v1/tasks', '/v1/workflows', …]
 */
export function openApiDocument(routes: readonly Route[], init: OpenApiInit): Json {
  const paths: Record<string, Json> = {}
  for (const route of routes) {
    const path = openApiPath(route.path)
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) }
  }
  const server = init.serverUrl?.()
  return {
    openapi: '3.1.0',
    info: {
      title: 'kith node API',
      version: init.version,
      description:
        'The local HTTP API of a kith node. Errors are `{"error":{"code","message"}}`. A node bound to ' +
        'loopback without `api.token` takes requests without a token; otherwise every route but the open ' +
        'ones (`/healthz`, the agent card) needs `Authorization: Bearer <api.token>`.',
    },
    ...(server != null && server !== '' ? { servers: [{ url: server }] } : {}),
    paths,
    components: COMPONENTS,
    security: init.tokenRequired ? [{ bearerAuth: [] }] : [{}, { bearerAuth: [] }],
  }
}

/**
 * `routes` and, after them, `GET /openapi.json` describing all of them and itself. The document is built on
 * the first request that knows the server's URL, and kept.
 */
export function withOpenApi(routes: readonly Route[], init: OpenApiInit): Route[] {
  let document: Json | undefined
  const self: Route = {
    method: 'GET',
    path: OPENAPI_PATH,
    doc: {
      summary: 'This document: OpenAPI 3.1, generated from the routes themselves',
      response: { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } },
    },
    handle: () => {
      if (document !== undefined) return document
      const built = openApiDocument(all, init)
      if (init.serverUrl === undefined || 'servers' in built) document = built
      return built
    },
  }
  const all = [...routes, self]
  return all
}
