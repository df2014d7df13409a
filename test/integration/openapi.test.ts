/**
 * GET /openapi.json: generated from the route table the server runs, so every mounted route is in it and
 * every operation in it is mounted; request bodies are the zod schemas that validate them.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Route } from '../../src/api/http.ts'
import { openApiDocument, openApiPath, withOpenApi } from '../../src/api/openapi.ts'
import { documentedRoutes } from '../../scripts/docs/http-reference.ts'
import { taskBody, workflowBody } from '../../src/api/tasks.ts'
import type { KithNode } from '../../src/node/node.ts'
import { CONTRACT_ROUTES, tempDir } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

type Operation = {
  operationId: string
  summary: string
  parameters?: Array<{ name: string; in: string; required: boolean; schema: object }>
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }
  responses: Record<string, unknown>
  security?: unknown[]
}
type Document = {
  openapi: string
  info: { title: string; version: string }
  servers?: Array<{ url: string }>
  paths: Record<string, Record<string, Operation>>
  components: Record<string, Record<string, unknown>>
  security: unknown[]
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** The shape of an OpenAPI 3.1 document, lightly: what a client generator relies on. */
function checkShape(doc: Document): void {
  expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
  expect(typeof doc.info.title).toBe('string')
  expect(typeof doc.info.version).toBe('string')
  const ids = new Set<string>()
  for (const [path, item] of Object.entries(doc.paths)) {
    expect(path.startsWith('/'), path).toBe(true)
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    for (const [method, op] of Object.entries(item)) {
      expect(METHODS, `${method} ${path}`).toContain(method)
      expect(ids.has(op.operationId), op.operationId).toBe(false)
      ids.add(op.operationId)
      expect(Object.keys(op.responses).length).toBeGreaterThan(0)
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)
      expect(inPath.sort()).toEqual([...templated].sort())
      for (const p of op.parameters ?? []) expect(['path', 'query', 'header', 'cookie']).toContain(p.in)
    }
  }
  // every $ref points at something in components
  const refs = JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)
  for (const [, kind, name] of refs) expect(doc.components[kind!]?.[name!], `${kind}/${name}`).toBeDefined()
}

let root: string
let cleanup: () => Promise<void>
let node: KithNode
beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-openapi-'))
  node = await startTestNode(join(root, 'a'))
})
afterAll(async () => {
  await node.stop()
  await cleanup()
})

describe('GET /openapi.json of a running node', () => {
  let doc: Document
  beforeAll(async () => {
    const res = await fetch(`${node.apiUrl}/openapi.json`)
    expect(res.status).toBe(200)
    doc = (await res.json()) as Document
  })

  it('is an OpenAPI 3.1 document of this node', () => {
    checkShape(doc)
    expect(doc.servers).toEqual([{ url: node.apiUrl }])
    expect(doc.components.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.components.schemas?.Error).toBeDefined()
  })

  it('lists the endpoints of the contract, each with a summary of its own', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    )
    const keys = ops.map((o) => o.key)
    for (const key of [...CONTRACT_ROUTES, 'GET /openapi.json']) expect(keys).toContain(key)
    // a route mounted without `doc` would show its method and path as its summary
    for (const { key, op } of ops) expect(op.summary, key).not.toBe(key.replace(/\{(\w+)\}/g, ':$1'))
  })

  it('every documented operation is mounted', async () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const url = `${node.apiUrl}${path.replace(/\{\w+\}/g, 'x')}`
        const res = await fetch(url, {
          method: method.toUpperCase(),
          ...(method === 'post' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
        })
        expect(res.status, `${method} ${path}`).not.toBe(405)
        // an event stream never ends: its headers are the answer
        if (res.headers.get('content-type')?.startsWith('text/event-stream') === true) {
          await res.body?.cancel()
          continue
        }
        const text = await res.text()
        expect(text, `${method} ${path}`).not.toContain('no such endpoint')
      }
    }
  })

  it('describes request bodies with the zod schemas that validate them', () => {
    const body = (path: string) => doc.paths[path]?.post?.requestBody?.content['application/json']?.schema
    const { $schema: _a, ...task } = z.toJSONSchema(taskBody, { io: 'input', unrepresentable: 'any' })
    const { $schema: _b, ...workflow } = z.toJSONSchema(workflowBody, { io: 'input', unrepresentable: 'any' })
    expect(body('/v1/tasks')).toEqual(task)
    expect(body('/v1/workflows')).toEqual(workflow)
    expect(body('/v1/tasks')).toMatchObject({ additionalProperties: false })
    expect(Object.keys((body('/v1/tasks') as { properties: object }).properties)).toContain('capability')
  })

  it('has the operations docs/http-api.md is generated from, in the same order', () => {
    const generated = openApiDocument(documentedRoutes(), { version: '0', tokenRequired: true }) as Document
    const operations = (d: Document) =>
      Object.entries(d.paths).flatMap(([path, item]) =>
        Object.entries(item).map(([method, op]) => ({
          method,
          path,
          summary: op.summary,
          open: op.security,
        })),
      )
    expect(operations(generated)).toEqual(operations(doc))
  })

  it('marks open routes as needing no token', () => {
    expect(doc.paths['/healthz']?.get?.security).toEqual([])
    expect(doc.paths['/.well-known/agent-card.json']?.get?.security).toEqual([])
    expect(doc.paths['/metrics']?.get?.security).toBeUndefined()
    expect(doc.paths['/metrics']?.get?.responses['401']).toBeDefined()
  })
})

describe('openApiDocument', () => {
  const routes: Route[] = [
    { method: 'GET', path: '/v1/things/:id', doc: { summary: 'one thing' }, handle: () => ({}) },
    { method: 'DELETE', path: '/v1/things/:id', handle: () => ({}) },
    {
      method: 'POST',
      path: '/v1/things',
      doc: { summary: 'make a thing', body: z.strictObject({ n: z.number().int() }) },
      handle: () => ({}),
    },
  ]

  it('keeps every route, documented or not, and itself', () => {
    const doc = withOpenApi(routes, { version: '1.2.3', tokenRequired: true })
    const self = doc.at(-1)!
    expect(self.path).toBe('/openapi.json')
    const built = self.handle({} as never) as Document
    checkShape(built)
    expect(Object.keys(built.paths).sort()).toEqual(['/openapi.json', '/v1/things', '/v1/things/{id}'])
    expect(built.paths['/v1/things/{id}']?.delete?.summary).toBe('DELETE /v1/things/:id')
    expect(built.paths['/v1/things/{id}']?.get?.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
    ])
    expect(built.paths['/v1/things']?.post?.requestBody?.content['application/json']?.schema).toEqual({
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      },
      required: ['n'],
      additionalProperties: false,
    })
    expect(built.security).toEqual([{ bearerAuth: [] }])
    expect(self.handle({} as never)).toBe(built)
  })

  it('makes the token optional for a node that takes requests without one', () => {
    const doc = openApiDocument(routes, { version: '1.2.3', tokenRequired: false }) as Document
    expect(doc.security).toEqual([{}, { bearerAuth: [] }])
  })

  it('writes `:name` segments as OpenAPI templates', () => {
    expect(openApiPath('/v1/tasks/:id')).toBe('/v1/tasks/{id}')
    expect(openApiPath('/a/:x/b/:yZ')).toBe('/a/{x}/b/{yZ}')
  })
})
