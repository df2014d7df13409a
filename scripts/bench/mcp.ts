/**
 * The MCP server (agent-facing issue, "Benchmarks"): `tools/list` with 500 live network capabilities, and the
 * cost of `tools/call` over a direct `POST /v1/tasks` for the same tiny script task.
 *
 * One node runs in this process with a script capability `echo` (`function run(i) { return i }`); 50
 * synthetic peers' signed descriptors of 10 capabilities each are put in its store (what gossip would have
 * delivered), so the tool list has 500 network tools plus this node's and the 5 fixed ones.
 *
 * - `tools-list-http`: a `tools/list` JSON-RPC request in an open streamable HTTP session at `/mcp` with
 *   keep-alive fetch, the answer (an SSE event) read and parsed; the goal is at most 20 ms.
 * - `tools-list-sdk-client`: the same through the SDK's Client, which also validates the 500 tools.
 * - `tools-list-stdio`: the SDK's Client against `kith mcp` (a child process, stdio) reaching the node's API.
 * - `tools-call-http` / `tasks-post-http`: `echo` with `{x: 1}` as an MCP tool call in the session, and as
 *   `POST /v1/tasks`, interleaved in blocks; `ratio-call` is their ratio of medians per run.
 * - `tools-call-stdio`: the tool call through `kith mcp`.
 *
 * KITH_BENCH_MCP_N sets the requests per metric per run (default 300, after 30 warm-up ones).
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { loadConfig } from '../../src/config/index.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { type Capability, signDescriptor } from '../../src/discovery/descriptor.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { inOrder, median } from './lib/stats.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'mcp'
export const description =
  'MCP server: `tools/list` with 500 live network capabilities (50 synthetic signed descriptors of 10 ' +
  'capabilities each in a node’s store, plus the node’s own and the 5 fixed tools), timed as a JSON-RPC ' +
  'request in an open streamable HTTP session at /mcp (keep-alive fetch, SSE answer parsed), through the ' +
  'SDK Client over that session, and through the SDK Client over `kith mcp` (stdio child process, which ' +
  'reaches the node over its HTTP API); and `tools/call` of a tiny script task (`function run(i) { return ' +
  'i }`, input {x: 1}) in that session against a direct `POST /v1/tasks` of the same task, interleaved in ' +
  'blocks of 50, node and HTTP callers in one process (2 cores). 30 warm-up requests per metric, then ' +
  '300 per metric per run; `ratio-call` is tools-call-http / tasks-post-http per run.'
export const defaultRuns = 3
export const targets: Record<string, Target> = {
  'tools-list-http': { max: 20 },
}

const PEERS = 50
const CAPS_PER_PEER = 10
const WARMUP = 30
const BLOCK = 50
const PROTOCOL = '2025-06-18'
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

/** 50 peers × 10 capabilities, signed with a throwaway key: the store does not re-verify what it is given. */
function injectNetwork(node: KithNode): void {
  const { privateKey } = generateKeyPairSync('ed25519')
  const kinds: Capability['kind'][] = ['device', 'sensor', 'script']
  const risks: Capability['risk'][] = ['low', 'medium', 'high']
  for (let p = 0; p < PEERS; p++) {
    const caps: Capability[] = Array.from({ length: CAPS_PER_PEER }, (_, c) => ({
      id: `room${p}.thing${c}`,
      title: `Thing ${c} in room ${p}`,
      description: `Synthetic capability ${c} of peer ${p}, for the MCP benchmark`,
      tags: ['bench', `room${p}`],
      kind: kinds[c % 3] as Capability['kind'],
      risk: risks[c % 3] as Capability['risk'],
      input: { type: 'object', properties: { level: { type: 'integer', minimum: 0, maximum: 100 } } },
      output: { type: 'object', properties: { ok: { type: 'boolean' } } },
    }))
    const signed = signDescriptor(
      {
        v: 1,
        peer: `12D3KooWBench${String(p).padStart(4, '0')}`,
        seq: 1,
        iat: Date.now(),
        ttl: 3_600_000,
        addrs: [],
        state: { load: 0.1, memFree: 1 << 30, queue: 0 },
        caps,
        attest: { tpm: false },
      },
      (data) => new Uint8Array(sign(null, data, privateKey)),
    )
    node.discovery.store.put(signed)
  }
}

/** One JSON-RPC request in a session; the answer comes as one SSE event (or plain JSON). */
async function rpc(
  url: string,
  session: string,
  id: number,
  method: string,
  params: unknown,
): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  })
  const text = await res.text()
  const data = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '')
  const message = JSON.parse(data) as { result?: unknown; error?: { message: string } }
  if (message.error != null) throw new Error(`${method}: ${message.error.message}`)
  return message.result
}

async function openSession(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  })
  await res.text()
  const session = res.headers.get('mcp-session-id')
  if (session == null) throw new Error(`initialize answered ${res.status} without a session`)
  await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  })
  return session
}

async function time(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await run()
    samples.push(performance.now() - t0)
  }
  return samples
}

async function startNode(dir: string): Promise<KithNode> {
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  await writeFile(join(dir, 'echo.js'), 'function run(i) { return i }\n')
  const file = join(dir, 'kith.yaml')
  const yaml = [
    'api: 127.0.0.1:0',
    'mqtt: { broker: off }',
    'network: { listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: off }',
    'capabilities:',
    '  - { id: echo, kind: script, title: Echo, script: echo.js }',
  ]
  await writeFile(file, `${yaml.join('\n')}\n`)
  const node = await createNode(await loadConfig(file, { env: {} }), silentLogger())
  await node.start()
  return node
}

/**
 * @example
 * KITH_BENCH_RUNS=1 npm run bench -- mcp
 */
export async function run(ctx: BenchContext): Promise<RunOutput> {
  const n = ctx.envInt('KITH_BENCH_MCP_N', 300)
  const samples = new SampleSet()
  const add = samples.add.bind(samples)

  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    const node = await startNode(join(ctx.tmpDir, `node-${runNo}`))
    const clients: Client[] = []
    try {
      injectNetwork(node)
      const url = `${node.apiUrl}/mcp`
      const session = await openSession(url)
      let id = 1
      const list = async () => {
        const result = (await rpc(url, session, id++, 'tools/list', {})) as { tools: unknown[] }
        if (result.tools.length < PEERS * CAPS_PER_PEER) throw new Error(`only ${result.tools.length} tools`)
      }
      const callTool = () => rpc(url, session, id++, 'tools/call', { name: 'echo', arguments: { x: 1 } })
      const postTask = async () => {
        const res = await fetch(`${node.apiUrl}/v1/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ capability: 'echo', input: { x: 1 } }),
        })
        if (((await res.json()) as { ok?: boolean }).ok !== true) throw new Error('POST /v1/tasks failed')
      }

      await time(WARMUP, list)
      add('tools-list-http', 'ms', await time(n, list))

      const sdk = new Client({ name: 'bench', version: '1' })
      clients.push(sdk)
      await sdk.connect(new StreamableHTTPClientTransport(new URL(url)))
      await time(WARMUP, () => sdk.listTools())
      add('tools-list-sdk-client', 'ms', await time(n, () => sdk.listTools()))

      await time(WARMUP, callTool)
      await time(WARMUP, postTask)
      const calls: number[] = []
      const posts: number[] = []
      for (let done = 0; done < n; done += BLOCK) {
        calls.push(...(await time(Math.min(BLOCK, n - done), callTool)))
        posts.push(...(await time(Math.min(BLOCK, n - done), postTask)))
      }
      add('tools-call-http', 'ms', calls)
      add('tasks-post-http', 'ms', posts)
      add('ratio-call', 'x', [median(calls) / median(posts)])

      const stdio = new Client({ name: 'bench', version: '1' })
      clients.push(stdio)
      await stdio.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [
            join(ctx.root, 'src/cli/main.ts'),
            'mcp',
            '--api',
            node.apiUrl,
            '--config',
            join(ctx.tmpDir, 'none.yaml'),
          ],
          stderr: 'ignore',
        }),
      )
      await time(WARMUP, () => stdio.listTools())
      add('tools-list-stdio', 'ms', await time(n, () => stdio.listTools()))
      const stdioCall = () => stdio.callTool({ name: 'echo', arguments: { x: 1 } })
      await time(WARMUP, stdioCall)
      add('tools-call-stdio', 'ms', await time(n, stdioCall))
      ctx.log(
        `run ${runNo}/${ctx.runs}: tools/list ${median(samples.get('tools-list-http')!.samples).toFixed(2)} ms, ` +
          `call ${median(calls).toFixed(2)} ms vs POST ${median(posts).toFixed(2)} ms`,
      )
    } finally {
      for (const c of clients) await c.close().catch(() => undefined)
      await node.stop()
    }
  }

  return {
    results: inOrder(samples, [
      'tools-list-http',
      'tools-list-sdk-client',
      'tools-list-stdio',
      'tools-call-http',
      'tasks-post-http',
      'ratio-call',
      'tools-call-stdio',
    ]),
    comparisons: [
      {
        name: 'MCP tools/call over POST /v1/tasks',
        numerator: 'tools-call-http',
        denominator: 'tasks-post-http',
      },
      {
        name: 'tools/list: SDK client over raw JSON-RPC',
        numerator: 'tools-list-sdk-client',
        denominator: 'tools-list-http',
      },
      {
        name: 'tools/call: stdio (kith mcp) over HTTP session',
        numerator: 'tools-call-stdio',
        denominator: 'tools-call-http',
      },
    ],
  }
}
