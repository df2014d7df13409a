/**
 * The MCP server end to end: real nodes (`kith start`, one with the demo household), and MCP clients from
 * the SDK on both transports: `kith mcp` over stdio (a child process) and streamable HTTP at `/mcp`.
 */
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  type CallToolResult,
  ElicitRequestSchema,
  type ElicitResult,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, CLI, runCli, type RunningNode, startCli, tempDir, waitFor } from '../helpers.ts'

const TOKEN = 'mcp-test-token-0123456789'
let dir: string
let cleanup: () => Promise<void>
let hub: RunningNode
const clients: Client[] = []

async function nodeDir(
  name: string,
  yaml: string[],
  scripts: Record<string, string>,
  bootstrap: string[] = [],
): Promise<string> {
  const at = join(dir, name)
  const init = await runCli(['init', '--dir', at, '--api', '127.0.0.1:0'])
  expect(init.code).toBe(0)
  for (const [file, source] of Object.entries(scripts)) await writeFile(join(at, file), source)
  const config = join(at, 'kith.yaml')
  await writeFile(
    config,
    [
      'network:',
      '  listen: [/ip4/127.0.0.1/tcp/0]',
      `  bootstrap: [${bootstrap.join(', ')}]`,
      '  mdns: false',
      '  dht: off',
      'discovery: { ttl: 3000 }',
      ...yaml,
      '',
    ].join('\n'),
  )
  // `kith init` wrote it 0644, for a config without secrets; one that gets a token must not stay so
  await chmod(config, 0o600)
  return config
}

/** Connects a client with these capabilities; every client is closed after the file. */
async function connect(
  transport: StdioClientTransport | StreamableHTTPClientTransport,
  capabilities: Record<string, unknown> = {},
): Promise<{ client: Client; changes: () => number; errors: Error[] }> {
  const client = new Client({ name: 'kith-test', version: '1.0.0' }, { capabilities })
  let changes = 0
  const errors: Error[] = []
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes++
  })
  client.onerror = (err) => errors.push(err)
  await client.connect(transport)
  clients.push(client)
  return { client, changes: () => changes, errors }
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name)
const call = (client: Client, name: string, args: Record<string, unknown> = {}) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>
const text = (result: CallToolResult) =>
  result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-mcp-'))
  const config = await nodeDir(
    'hub',
    [
      'api: 127.0.0.1:0',
      'capabilities:',
      '  - id: double',
      '    kind: script',
      '    title: Double a number',
      '    script: double.js',
      '    deterministic: true',
      '    input: { type: object, properties: { x: { type: number } }, required: [x] }',
      '  - { id: wipe, kind: script, title: Wipe the logs, risk: high, script: wipe.js }',
    ],
    {
      'double.js': 'function run(input) { return { value: input.x * 2 } }\n',
      'wipe.js': 'function run() { return { wiped: true } }\n',
    },
  )
  hub = await startCli(config, { args: ['--demo'] })
})

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined)
  await hub?.stop()
  await cleanup()
})

describe('kith mcp over stdio', () => {
  it('lists the network as tools and runs scripts and device actions through the node', async () => {
    const { client, errors } = await connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', '--api', hub.ready.api, '--config', join(dir, 'hub', 'kith.yaml')],
        env: cleanEnv() as Record<string, string>,
        stderr: 'pipe',
      }),
    )
    let tools: Tool[] = []
    await waitFor('the demo plug as a tool', async () => {
      tools = (await client.listTools()).tools
      return tools.some((t) => /desk_plug.*switch/.test(t.name))
    })
    const names = tools.map((t) => t.name)
    expect(names).toEqual(
      expect.arrayContaining([
        'find_capabilities',
        'call_capability',
        'run_workflow',
        'list_peers',
        'get_task',
      ]),
    )
    expect(names).toEqual(expect.arrayContaining(['double', 'wipe']))
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/)
    const plug = tools.find((t) => /desk_plug.*switch/.test(t.name)) as Tool
    expect(plug.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    const double = tools.find((t) => t.name === 'double') as Tool
    expect(double.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(double.inputSchema).toMatchObject({ type: 'object', required: ['x'] })
    expect(double.description).toContain(hub.ready.peerId)
    const wipe = tools.find((t) => t.name === 'wipe') as Tool
    expect(wipe.inputSchema.properties).toHaveProperty('confirm')

    const doubled = await call(client, 'double', { x: 21 })
    expect(doubled.isError).toBeFalsy()
    expect(doubled.structuredContent).toMatchObject({
      ok: true,
      provider: hub.ready.peerId,
      tier: 1,
      verification: { outcome: 'accepted' },
      output: { value: 42 },
    })
    expect(text(doubled)).toContain(hub.ready.peerId)

    const bad = await call(client, 'double', { x: 'lots' })
    expect(bad.isError).toBe(true)
    expect(text(bad)).toMatch(/input\/x must be number/)

    await expect(call(client, 'no_such_tool')).rejects.toThrow(/Unknown tool: no_such_tool/)
    await expect(call(client, 'double', { x: 1, pad: 'x'.repeat(300 * 1024) })).rejects.toThrow(/limit/)

    const unconfirmed = await call(client, 'wipe')
    expect(unconfirmed.isError).toBe(true)
    expect(text(unconfirmed)).toMatch(/"confirm": true/)
    const confirmed = await call(client, 'wipe', { confirm: true })
    expect(confirmed.structuredContent).toMatchObject({ ok: true, tier: 3, output: { wiped: true } })

    const switched = await call(client, plug.name, { on: true })
    expect(switched.isError).toBeFalsy()
    expect(switched.structuredContent).toMatchObject({ ok: true, output: { confirmed: true } })

    const found = await call(client, 'find_capabilities', { intent: 'double a number' })
    expect(found.structuredContent?.matches).toEqual(
      expect.arrayContaining([expect.objectContaining({ capability: 'double', tool: 'double', tier: 1 })]),
    )
    const task = await call(client, 'get_task', { id: doubled.structuredContent?.task as string })
    expect(task.structuredContent).toMatchObject({ ok: true, output: { value: 42 } })
    const flow = await call(client, 'run_workflow', {
      workflow: { name: 'twice', steps: [{ id: 'a', capability: 'double', input: { x: '${input.n}' } }] },
      input: { n: 4 },
    })
    expect(flow.structuredContent).toMatchObject({ ok: true, steps: [{ id: 'a', status: 'ok' }] })
    const broken = await call(client, 'run_workflow', { workflow: 'name: w\nsteps: []\n' })
    expect(broken.isError).toBe(true)
    // stdout carried nothing but MCP messages
    expect(errors).toEqual([])
  })
})

describe('MCP over streamable HTTP', () => {
  it('follows peers joining and leaving, asks for confirmation, and keeps the API rules', async () => {
    const http = await connect(new StreamableHTTPClientTransport(new URL(`${hub.ready.api}/mcp`)), {
      elicitation: {},
    })
    const stdio = await connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', '--api', hub.ready.api, '--config', join(dir, 'hub', 'kith.yaml')],
        env: cleanEnv() as Record<string, string>,
        stderr: 'pipe',
      }),
    )
    expect(await toolNames(http.client)).toContain('double')
    expect(await toolNames(stdio.client)).toContain('double')

    let answer: ElicitResult = { action: 'decline' }
    http.client.setRequestHandler(ElicitRequestSchema, async () => answer)
    const declined = await call(http.client, 'wipe', { confirm: true })
    expect(declined.isError).toBe(true)
    expect(text(declined)).toMatch(/did not confirm/)
    answer = { action: 'accept', content: { confirm: true } }
    expect((await call(http.client, 'wipe')).structuredContent).toMatchObject({ ok: true })

    const config = await nodeDir(
      'visitor',
      [
        `api: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'capabilities:',
        '  - { id: shout, kind: script, title: Shout a text, script: shout.js }',
      ],
      { 'shout.js': 'function run(input) { return String(input.text).toUpperCase() }\n' },
      [hub.ready.listen[0] as string],
    )
    const joined = { http: http.changes(), stdio: stdio.changes() }
    const visitor = await startCli(config)
    let left = joined
    try {
      await waitFor('shout on both transports', async () => {
        const [a, b] = await Promise.all([toolNames(http.client), toolNames(stdio.client)])
        return a.includes('shout') && b.includes('shout')
      })
      await waitFor(
        'list_changed on both transports',
        () => http.changes() > joined.http && stdio.changes() > joined.stdio,
      )
      const shouted = await call(http.client, 'shout', { text: 'hi' })
      expect(shouted.structuredContent).toMatchObject({
        ok: true,
        provider: visitor.ready.peerId,
        output: 'HI',
      })

      // the visitor's API wants its token, on /mcp as everywhere else
      const anonymous = await fetch(`${visitor.ready.api}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      })
      expect(anonymous.status).toBe(401)
      const authed = await connect(
        new StreamableHTTPClientTransport(new URL(`${visitor.ready.api}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
        }),
      )
      expect(await toolNames(authed.client)).toEqual(expect.arrayContaining(['shout', 'double']))
      left = { http: http.changes(), stdio: stdio.changes() }
    } finally {
      expect(await visitor.stop()).toBe(0)
    }
    await waitFor('shout gone on both transports', async () => {
      const [a, b] = await Promise.all([toolNames(http.client), toolNames(stdio.client)])
      return !a.includes('shout') && !b.includes('shout')
    })
    await waitFor(
      'list_changed on both transports',
      () => http.changes() > left.http && stdio.changes() > left.stdio,
    )
    const gone = await call(http.client, 'shout', { text: 'hi' })
    expect(gone.isError).toBe(true)
    expect(text(gone)).toMatch(/no longer offers shout/)

    const foreign = await fetch(`${hub.ready.api}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    })
    expect(foreign.status).toBe(403)
    const huge = await fetch(`${hub.ready.api}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expect(huge.status).toBe(413)
  })
})
