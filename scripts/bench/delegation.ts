/**
 * Delegation round trip (execution issue, "Benchmarks"): one tiny script task, `function run(i) { return i }`,
 * sent over an established loopback connection, three ways, interleaved in one run:
 *
 * - `kith-delegate`: `node.execution.delegate({ target: { capability: 'echo' }, … })` in the requester: the
 *   provider lookup, both journals, the signed request on the multiplexed task stream (Noise + yamux), the
 *   provider's checks, contract policy, scheduler and sandbox, and the signed reply.
 * - `task-client-call`: the same request through a `TaskClient` of the requester's host, without delegate()
 *   and the requester's journal (the provider side is the same).
 * - `http-json`: the baseline, the way A2A and MCP carry a task: a plain `node:http` endpoint in the provider
 *   process that runs the same capability (registry → the node's own sandbox) and answers JSON, called with
 *   keep-alive `fetch`. It has no signature, encryption, journal, policy or scheduler: it is the floor.
 *
 * The provider is a separate process (this file run as `node delegation.ts provider CONFIG`: createNode from
 * src plus the HTTP endpoint), so the two ends do not share an event loop; the requester is a node built in
 * the benchmark process. The provider's per-peer rate limit is raised (10,000/s, burst 100,000) so thousands
 * of back-to-back tasks are not answered `busy`. The other benchmark of the execution plane (task-flood)
 * starts its provider through {@link startProvider} too.
 *
 * KITH_BENCH_DELEGATION_N sets the round trips per path per run (default 2000, after 200 warm-up ones).
 */
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { freemem } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadConfig } from '../../src/config/index.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { TaskClient } from '../../src/execution/task-client.ts'
import { type LocalState, toDescriptorCapability } from '../../src/discovery/local-state.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { createLogger, silentLogger } from '../../src/util/logger.ts'
import { Child, MIB, readMemoryStatus } from './lib/process.ts'
import { percentile, inOrder } from './lib/stats.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'delegation'
export const description =
  'Round trip of a tiny script task (`function run(i) { return i }`, input `{x: 1}`) on loopback over an ' +
  'established connection, requester and provider in two processes (2 cores): `kith-delegate` is ' +
  "`execution.delegate({ target: { capability: 'echo' } })` (lookup, journals, signed request on the task " +
  'stream over Noise + yamux, policy, scheduler, QuickJS sandbox, signed reply); `task-client-call` the same ' +
  'request through a bare TaskClient; `http-json` the baseline, a plain node:http + JSON endpoint in the ' +
  'provider process running the same capability in the same sandbox, called with keep-alive fetch. ' +
  '`sandbox-in-provider` is that capability alone, timed inside the provider. 200 warm-up calls per path, ' +
  'then 2,000 sequential calls per path per run, interleaved in blocks of 200; each run starts fresh ' +
  'processes. `*-p99` repeat each run’s p99 as a metric; `ratio-*` are kith-delegate / http-json per run. ' +
  'The provider’s per-peer rate limit is raised so back-to-back tasks are not refused.'
export const defaultRuns = 3
export const targets: Record<string, Target> = {
  'kith-delegate': { max: 1 },
  'kith-delegate-p99': { max: 5 },
  'ratio-median': { max: 1 },
}

/** The task every path runs. */
export const ECHO_SOURCE = 'function run(i) { return i }\n'
const READY_TIMEOUT_MS = 30_000
const DISCOVER_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const WARMUP = 200
const BLOCK = 200

/** A provider process and how to reach it. */
export interface Provider {
  child: Child
  peerId: string
  /** a dialable multiaddr ending in /p2p/<peerId> */
  addr: string
  /** the plain HTTP endpoint's base URL */
  http: string
  stop(): Promise<void>
}

/** A node directory with a fresh identity and this config (YAML lines); returns the config file. */
async function nodeDir(dir: string, lines: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  const file = join(dir, 'kith.yaml')
  await writeFile(file, `${lines.join('\n')}\n`)
  return file
}

// no MQTT: several nodes run on one machine, and the embedded broker would want port 1883 in each
const BASE_CONFIG = ['api: 127.0.0.1:0', 'log: { level: warn }', 'mqtt: { broker: off }']
const network = (bootstrap: string) => [
  'network:',
  '  listen: [/ip4/127.0.0.1/tcp/0]',
  `  bootstrap: [${bootstrap}]`,
  '  mdns: false',
  '  dht: off',
]

/**
 * Spawns a provider offering `echo` (ECHO_SOURCE) with this `execution:` block (a YAML flow map) and waits
 * for it to listen. With `load`, the provider reports that load per core instead of sampling the machine's
 * (its scheduler sheds load above 0.8, and on a shared machine the load average is other people's work).
 *
 * @example
 * const provider = await startProvider(ctx, join(ctx.tmpDir, 'p'), '{ perPeer: { ratePerSec: 10000 } }')
 */
export async function startProvider(
  ctx: BenchContext,
  dir: string,
  execution: string,
  options: { load?: number } = {},
): Promise<Provider> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'echo.js'), ECHO_SOURCE)
  const config = await nodeDir(dir, [
    ...BASE_CONFIG,
    ...network(''),
    `execution: ${execution}`,
    'capabilities:',
    '  - { id: echo, kind: script, title: Echo, script: echo.js }',
  ])
  const args = [
    import.meta.filename,
    'provider',
    config,
    ...(options.load != null ? [String(options.load)] : []),
  ]
  const child = new Child(process.execPath, args, { cwd: ctx.root })
  try {
    await child.waitForStdout((line) => line.startsWith('{"event":"provider"'), READY_TIMEOUT_MS)
  } catch (err) {
    child.kill()
    throw new Error(`provider: ${(err as Error).message}\n${child.stderrTail()}`, { cause: err })
  }
  const ready = JSON.parse(child.stdout.find((l) => l.text.startsWith('{"event":"provider"'))!.text) as {
    peerId: string
    listen: string[]
    http: string
  }
  return {
    child,
    peerId: ready.peerId,
    addr: ready.listen[0]!,
    http: ready.http,
    async stop() {
      child.process.kill('SIGTERM')
      const exit = await child.waitForExit(STOP_TIMEOUT_MS).catch((err: Error) => {
        child.kill()
        throw err
      })
      if (exit.code !== 0) throw new Error(`provider exited with ${exit.code}:\n${child.stderrTail()}`)
    },
  }
}

/**
 * Builds and starts a requester node in this process, bootstrapped to the provider, and waits until it
 * holds the provider's descriptor with `echo` in it.
 */
export async function startRequester(dir: string, provider: Provider): Promise<KithNode> {
  const config = await loadConfig(await nodeDir(dir, [...BASE_CONFIG, ...network(provider.addr)]), {
    env: {},
  })
  const node = await createNode(config, silentLogger())
  await node.start()
  const until = Date.now() + DISCOVER_TIMEOUT_MS
  while (node.discovery.store.get(provider.peerId)?.descriptor.caps.some((c) => c.id === 'echo') !== true) {
    if (Date.now() > until) {
      await node.stop()
      throw new Error(
        `the requester did not learn the provider's descriptor within ${DISCOVER_TIMEOUT_MS} ms`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return node
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return chunks.length === 0 ? null : JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

/**
 * The provider process: the node, plus a plain HTTP server on 127.0.0.1 with `POST /run` (the baseline:
 * runs `echo` and answers JSON), `POST /sandbox` (`{n}`: times n runs of `echo` here, for the sandbox's
 * share) and `GET /stats` (the journal's incoming tasks by status, and this process's memory).
 */
async function serveProvider(file: string, load: number | undefined): Promise<void> {
  const config = await loadConfig(file, { env: {} })
  const queue = { size: () => 0 }
  const local: LocalState | undefined =
    load == null
      ? undefined
      : {
          state: () => ({ load, memFree: freemem(), queue: queue.size() }),
          capabilities: () => config.capabilities.map(toDescriptorCapability),
        }
  const node = await createNode(config, createLogger(config.log.level), local != null ? { local } : {})
  queue.size = () => node.execution.scheduler.size
  const echo = () => {
    const cap = node.execution.registry.get('echo')
    if (cap == null) throw new Error('echo is not registered')
    return cap
  }
  const server = createServer((req, res) => {
    const answer = (status: number, value: unknown) => {
      const text = JSON.stringify(value)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    void (async () => {
      if (req.method === 'POST' && req.url === '/run') {
        const output = await echo().run(await body(req), AbortSignal.timeout(5_000))
        return answer(200, { status: 'ok', output })
      }
      if (req.method === 'POST' && req.url === '/sandbox') {
        const { n } = (await body(req)) as { n: number }
        const times: number[] = []
        for (let i = 0; i < n; i++) {
          const t0 = performance.now()
          await echo().run({ x: i }, AbortSignal.timeout(5_000))
          times.push(performance.now() - t0)
        }
        return answer(200, { times })
      }
      if (req.method === 'GET' && req.url === '/stats') {
        // the journal commits the ends of tasks in groups: count what it will hold, not what it holds yet
        node.execution.journal.flush()
        const rows = node.db
          .prepare("SELECT status, count(*) AS n FROM tasks WHERE direction = 'in' GROUP BY status")
          .all() as { status: string; n: number }[]
        return answer(200, {
          journal: Object.fromEntries(rows.map((r) => [r.status, r.n])),
          maxRssKiB: process.resourceUsage().maxRSS,
        })
      }
      answer(404, { error: 'not found' })
    })().catch((err: Error) => answer(500, { error: err.message }))
  })
  process.on('SIGTERM', () => {
    server.closeAllConnections()
    server.close()
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  const ready = await node.start()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  process.stdout.write(
    `${JSON.stringify({ event: 'provider', peerId: ready.peerId, listen: ready.listen, http: `http://127.0.0.1:${port}` })}\n`,
  )
}

type Path = 'kith-delegate' | 'task-client-call' | 'http-json'
const PATHS: readonly Path[] = ['kith-delegate', 'task-client-call', 'http-json']

const expectEcho = (path: Path, output: unknown, x: number) => {
  if ((output as { x?: unknown } | null)?.x !== x)
    throw new Error(`${path}: expected {x: ${x}}, got ${JSON.stringify(output)}`)
}

async function measureRun(ctx: BenchContext, runNo: number, perPath: number) {
  const dir = join(ctx.tmpDir, `run-${runNo}`)
  const provider = await startProvider(
    ctx,
    join(dir, 'provider'),
    '{ perPeer: { ratePerSec: 10000, burst: 100000 } }',
  )
  let requester: KithNode | undefined
  try {
    requester = await startRequester(join(dir, 'requester'), provider)
    const node = requester
    const client = new TaskClient(node.host, node.identity.sign, createVerifier(), silentLogger())
    const peer = peerIdFromString(provider.peerId)
    const call: Record<Path, (x: number) => Promise<void>> = {
      'kith-delegate': async (x) => {
        const r = await node.execution.delegate({
          target: { capability: 'echo' },
          input: { x },
          timeoutMs: 5000,
          budget: 1,
        })
        if (!r.ok || r.provider !== provider.peerId)
          throw new Error(`kith-delegate: ${r.status} ${JSON.stringify(r.error)}`)
        expectEcho('kith-delegate', r.output, x)
      },
      'task-client-call': async (x) => {
        const r = await client.call(peer, { cap: 'echo', input: { x }, timeoutMs: 5000 })
        if (r.status !== 'ok') throw new Error(`task-client-call: ${r.status} ${JSON.stringify(r.error)}`)
        expectEcho('task-client-call', r.output, x)
      },
      'http-json': async (x) => {
        const res = await fetch(`${provider.http}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ x }),
        })
        const r = (await res.json()) as { status: string; output: unknown }
        if (res.status !== 200 || r.status !== 'ok') throw new Error(`http-json: ${res.status}`)
        expectEcho('http-json', r.output, x)
      },
    }
    for (const path of PATHS) for (let i = 0; i < WARMUP; i++) await call[path](i)
    const times: Record<Path, number[]> = { 'kith-delegate': [], 'task-client-call': [], 'http-json': [] }
    // blocks in rotating order, so drift on a shared machine falls on every path alike
    for (let block = 0; block * BLOCK < perPath; block++) {
      for (let k = 0; k < PATHS.length; k++) {
        const path = PATHS[(block + k) % PATHS.length]!
        for (let i = 0; i < Math.min(BLOCK, perPath - block * BLOCK); i++) {
          const t0 = performance.now()
          await call[path](i)
          times[path].push(performance.now() - t0)
        }
      }
    }
    const res = await fetch(`${provider.http}/sandbox`, {
      method: 'POST',
      body: JSON.stringify({ n: perPath }),
    })
    const sandbox = ((await res.json()) as { times: number[] }).times
    const memory = await readMemoryStatus(provider.child.pid)
    await client.stop()
    return { times, sandbox, providerPeakRss: memory.peakRss }
  } finally {
    await requester?.stop().catch(() => {})
    await provider.stop()
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const perPath = ctx.envInt('KITH_BENCH_DELEGATION_N', 2000)
  const samples = new SampleSet()
  const add = samples.add.bind(samples)
  const p50 = (values: readonly number[]) => percentile(values, 50)
  const p99 = (values: readonly number[]) => percentile(values, 99)

  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    const { times, sandbox, providerPeakRss } = await measureRun(ctx, runNo, perPath)
    for (const path of PATHS) {
      add(path, 'ms', times[path])
      add(`${path}-p99`, 'ms', [p99(times[path])])
    }
    add('sandbox-in-provider', 'ms', sandbox)
    add('ratio-median', '×', [p50(times['kith-delegate']) / p50(times['http-json'])])
    add('ratio-p99', '×', [p99(times['kith-delegate']) / p99(times['http-json'])])
    add('provider-rss-peak', 'MiB', [providerPeakRss / MIB])
    const fmt = (path: Path) => `${p50(times[path]).toFixed(3)}/${p99(times[path]).toFixed(3)}`
    ctx.log(
      `run ${runNo}/${ctx.runs} (p50/p99 ms): kith-delegate ${fmt('kith-delegate')}, task-client-call ` +
        `${fmt('task-client-call')}, http-json ${fmt('http-json')}, sandbox ${p50(sandbox).toFixed(3)}`,
    )
  }

  const order = [
    'kith-delegate',
    'kith-delegate-p99',
    'task-client-call',
    'task-client-call-p99',
    'http-json',
    'http-json-p99',
    'sandbox-in-provider',
    'ratio-median',
    'ratio-p99',
    'provider-rss-peak',
  ]
  return {
    results: inOrder(samples, order),
    comparisons: [
      { name: 'kith delegate vs plain HTTP+JSON', numerator: 'kith-delegate', denominator: 'http-json' },
      {
        name: 'kith delegate vs plain HTTP+JSON, p99 (median over runs)',
        numerator: 'kith-delegate-p99',
        denominator: 'http-json-p99',
      },
      {
        name: 'bare TaskClient vs plain HTTP+JSON',
        numerator: 'task-client-call',
        denominator: 'http-json',
      },
      {
        name: 'delegate() vs bare TaskClient',
        numerator: 'kith-delegate',
        denominator: 'task-client-call',
      },
    ],
  }
}

if (process.argv[1] === import.meta.filename && process.argv[2] === 'provider') {
  const file = process.argv[3]
  if (file == null) throw new Error('usage: delegation.ts provider CONFIG [LOAD]')
  await serveProvider(file, process.argv[4] != null ? Number(process.argv[4]) : undefined)
}
