/**
 * `/mcp` on the API server with a stand-in node: sessions (cap, idle close), the token rule, and tool calls
 * bound to their provider. The real nodes are in test/e2e/mcp.test.ts.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpServer } from '../../src/api/http.ts'
import { createMcpHttp, type McpHttp } from '../../src/api/mcp/index.ts'
import type { ApiNode } from '../../src/api/routes.ts'
import type { TaskApi, TaskBody } from '../../src/api/tasks.ts'
import type { Capability } from '../../src/discovery/descriptor.ts'
import type { StoreEntry } from '../../src/discovery/store.ts'
import { waitFor } from '../helpers.ts'

const TOKEN = 'unit-test-token-0123456789'
const cap = (id: string, extra: Partial<Capability> = {}): Capability => ({
  id,
  title: id,
  description: '',
  tags: [],
  kind: 'script',
  risk: 'low',
  input: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
  output: {},
  ...extra,
})

let live: Array<{ peer: string; caps: Capability[] }> = []
const runs: TaskBody[] = []
const node = {
  status: () => ({ peerId: 'self' }),
  descriptors: () => live.map((d) => ({ descriptor: d }) as unknown as StoreEntry),
  findCapabilities: () => [],
  peers: () => [],
} as unknown as ApiNode
const tasks: TaskApi = {
  runTask: async (body) => {
    runs.push(body)
    return {
      id: `t${runs.length}`,
      ok: true,
      status: 'ok',
      output: { got: body.input },
      provider: body.provider,
      attempts: [{ peer: body.provider, local: false, status: 'ok', ms: 1 }],
      fallbacks: 0,
      tier: body.tier ?? 'auto',
    }
  },
  getTask: () => undefined,
  recentTasks: () => [],
  runWorkflow: async () => ({}),
}

let server: Server | undefined
let mcp: McpHttp | undefined
const clients: Client[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined)
  await mcp?.stop()
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r))
  live = []
  runs.length = 0
})

async function serve(
  options: { token?: string; maxSessions?: number; idleMs?: number } = {},
): Promise<string> {
  mcp = createMcpHttp({ node, tasks, tokenRequired: options.token != null, ...options })
  server = createHttpServer({
    routes: mcp.routes,
    ...(options.token != null ? { token: options.token } : {}),
    maxBodyBytes: 1024 * 1024,
    maxConnections: 16,
  })
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'unit', version: '1' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  clients.push(client)
  return client
}

const VERSION = '2025-06-18'
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

function post(url: string, session: string, method: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': VERSION },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method }),
  })
}

/** An initialize by hand: the session id, and the status (503 when there is no room). */
async function initialize(url: string): Promise<{ status: number; session: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'unit', version: '1' } },
    }),
  })
  await res.text()
  return { status: res.status, session: res.headers.get('mcp-session-id') ?? '' }
}

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>

describe('/mcp', () => {
  it('runs a tool on its own provider and names the field a bad argument fails', async () => {
    live = [
      { peer: 'peer-one', caps: [cap('count')] },
      { peer: 'peer-two', caps: [cap('count')] },
    ]
    const client = await connect(await serve())
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['count_er-one', 'count_er-two']))
    const result = await call(client, 'count_er-two', { n: 3 })
    expect(result.structuredContent).toMatchObject({
      provider: 'peer-two',
      tier: 1,
      output: { got: { n: 3 } },
    })
    expect(runs[0]).toMatchObject({ capability: 'count', provider: 'peer-two', tier: 'auto' })

    const bad = await call(client, 'count_er-one', { n: 'three' })
    expect(bad.isError).toBe(true)
    expect(bad.content[0]).toMatchObject({ text: expect.stringMatching(/input\/n must be integer/) })
    const missing = await call(client, 'find_capabilities', {})
    expect(missing.content[0]).toMatchObject({ text: expect.stringMatching(/required property 'intent'/) })
    await expect(call(client, 'count_er-one', { n: 1, pad: 'x'.repeat(300 * 1024) })).rejects.toThrow(
      /limit is 262144/,
    )
    expect(runs).toHaveLength(1)

    live = [{ peer: 'peer-one', caps: [cap('count')] }]
    const gone = await call(client, 'count_er-two', { n: 1 })
    expect(gone.content[0]).toMatchObject({ text: expect.stringMatching(/peer-two no longer offers count/) })
  })

  it('refuses requests without the token when the API has one', async () => {
    const url = await serve({ token: TOKEN })
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    })
    expect(res.status).toBe(401)
    const client = await connect(url, { authorization: `Bearer ${TOKEN}` })
    expect((await client.listTools()).tools.length).toBe(5)
  })

  it('caps the sessions, making room by closing the longest idle one', async () => {
    const url = await serve({ maxSessions: 1 })
    const first = await initialize(url)
    const second = await initialize(url)
    expect(second.status).toBe(200)
    expect((await post(url, first.session, 'tools/list')).status).toBe(404)
    expect((await post(url, second.session, 'tools/list')).status).toBe(200)
  })

  it('refuses a session over the cap while every one has its event stream open, and closes idle ones', async () => {
    const url = await serve({ maxSessions: 1, idleMs: 100 })
    const { session } = await initialize(url)
    const listening = new AbortController()
    const stream = await fetch(url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': VERSION },
      signal: listening.signal,
    })
    expect(stream.status).toBe(200)
    expect((await initialize(url)).status).toBe(503)
    listening.abort()
    await waitFor('the idle session closed', () => mcp?.sessions === 0)
    expect((await post(url, session, 'tools/list')).status).toBe(404)
  })
})
