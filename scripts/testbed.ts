/**
 * A testbed of N real `kith start` processes on loopback, for benchmarks and manual experiments.
 *
 * Each node gets its own directory made by `kith init` (API and libp2p on 127.0.0.1 port 0, so mDNS stays
 * off), then its kith.yaml is edited: `discovery: {ttl, mode}`, `log.level`, `network.dht: off`, a few script
 * capabilities (so descriptors have a realistic size), and bootstrap addresses of up to three random nodes
 * already running, so the peers form a connected mesh rather than a star. Every edited file is validated
 * with the same loader as `kith config check` before the node starts. Nodes start in batches of 1, 1, 2, 4,
 * 4, … (node 0 first), because a node can only bootstrap from addresses that exist.
 *
 * No node gets more than `maxDegree` (8) connections: gossipsub's peer score penalises more than 10 peers
 * on one IP address (P6, IP colocation: weight -5 x surplus², graylist at -80), and on loopback every peer
 * is 127.0.0.1, so a node bootstrapped by everyone (a star around node 0) would graylist all its peers at
 * 15 or more and drop out of discovery.
 *
 * As a module:
 *
 *   const bed = await startTestbed({ n: 10, mode: 'bodyless', ttl: 15_000, logLevel: 'debug' })
 *   try { … bed.nodes[0].api … bed.nodes[3].logLines … } finally { await bed.stop() }
 *
 * As a program: `node scripts/testbed.ts --nodes 10 [--mode bodyless|flood] [--ttl 15000]
 * [--log-level info] [--caps 5] [--churn MS] [--keep]` starts the nodes, prints each ready line, and stops them all on
 * Ctrl-C (SIGINT) or SIGTERM. Directories are removed on stop unless `--keep`.
 *
 * Only 127.0.0.1 is ever listened on or contacted.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type Document, parseDocument } from 'yaml'
import { loadConfig } from '../src/config/index.ts'
import { Child, type Line, nodeEnv, runCli } from './bench/lib/process.ts'
import { seededRandom } from './bench/lib/random.ts'

const ROOT = resolve(import.meta.dirname, '..')
// generous: on a shared 2-core machine, 20 nodes importing their modules at once can take a while
const READY_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 15_000

export type DiscoveryMode = 'bodyless' | 'flood'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface TestbedInit {
  /** number of nodes, at least 1 */
  n: number
  /** `discovery.mode`; default bodyless */
  mode?: DiscoveryMode
  /** `discovery.ttl` in ms; default 15000 */
  ttl?: number
  /** `log.level`; default info. `debug` makes the discovery plane log each announce and store */
  logLevel?: LogLevel
  /** script capabilities per node; default 5 */
  capabilities?: number
  /** how many running nodes each new node bootstraps from, chosen at random; default 3 */
  bootstrapPeers?: number
  /** most connections any node is given through bootstrap links; default 8 (see the file comment) */
  maxDegree?: number
  /** nodes started at once after node 0; default 4 */
  batch?: number
  /** parent directory for the node directories; default the OS temp dir */
  parentDir?: string
  /** keep the node directories after stop (default: remove them) */
  keep?: boolean
  /** the repository root; default the one this file is in */
  root?: string
  /** seed for the choice of bootstrap peers, so a layout can be repeated; default 1 */
  seed?: number
  /**
   * when above 0, each node withdraws and restores one extra capability every this many ms (first at a
   * random phase), so its descriptor body changes on a schedule; the node then runs through
   * scripts/bench/lib/churn-node.ts (`kith start`'s steps plus that churn) instead of `kith start`. Default 0
   */
  churnMs?: number
  /** progress messages */
  log?: (message: string) => void
  /** last edits to each node's kith.yaml before it is validated (e.g. an MQTT broker on one node) */
  edit?: (index: number, doc: Document) => void
}

/** What `kith start` printed on stdout when ready. */
export interface ReadyLine {
  event: 'ready'
  peerId: string
  api: string
  listen: string[]
}

export interface TestbedNode {
  index: number
  peerId: string
  /** the API base URL, http://127.0.0.1:PORT */
  api: string
  pid: number
  dir: string
  config: string
  listen: string[]
  /** the peers (by index) it was told to bootstrap from */
  bootstrappedFrom: number[]
  /** stderr lines (JSON log lines) as they arrived, with `performance.now()` of their arrival */
  logLines: Line[]
  child: Child
}

export interface Testbed {
  dir: string
  nodes: TestbedNode[]
  /** GET a JSON endpoint of one node's API */
  get<T = unknown>(node: TestbedNode, path: string): Promise<T>
  /**
   * Resolves when every node holds a live descriptor of every other node; rejects after `timeoutMs`,
   * naming the nodes that still miss some.
   */
  waitConverged(timeoutMs?: number): Promise<number>
  /**
   * SIGTERM to every node, waits for each exit (SIGKILL after 15 s), removes the directories; idempotent.
   * With `graceMs`, first waits that long for nodes that are already stopping by themselves (a Ctrl-C in a
   * terminal reaches the whole process group), so that they do not get a second signal.
   */
  stop(options?: { graceMs?: number }): Promise<StopReport>
}

export interface StopReport {
  /** nodes that did not exit 0 on SIGTERM, with what happened */
  unclean: { index: number; code: number | null; signal: string | null }[]
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const TOPICS = ['light', 'thermostat', 'camera', 'speaker', 'garden', 'garage', 'washer', 'blinds']

/** Config entries for `count` script capabilities whose script files live in `dir`. */
function capabilityEntries(index: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const topic = TOPICS[(index + i) % TOPICS.length] as string
    return {
      id: `${topic}.control-${i}`,
      kind: 'script',
      title: `${topic[0]?.toUpperCase()}${topic.slice(1)} control ${i} on node ${index}`,
      description:
        `Reads and sets the ${topic} in the living room and hallway; answers with the state it ended in. ` +
        'Refuses values outside the safe range and reports why.',
      tags: [topic, 'home', 'control', `room-${i}`],
      risk: i % 3 === 0 ? 'low' : i % 3 === 1 ? 'medium' : 'high',
      script: `cap-${i}.js`,
      input: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['get', 'set', 'toggle'] },
          value: { type: 'number', minimum: 0, maximum: 100 },
        },
        required: ['action'],
      },
      output: { type: 'object', properties: { state: { type: 'number' } } },
      deterministic: i % 2 === 0,
    }
  })
}

/** The dialable address of a ready node: its first listen address, ending in /p2p/<id>. */
function dialable(ready: ReadyLine): string {
  const addr = ready.listen.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/')) ?? ready.listen[0]
  if (addr == null) throw new Error(`node ${ready.peerId} listens nowhere`)
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${ready.peerId}`
}

interface Prepared {
  index: number
  dir: string
  config: string
  peerId: string
}

async function prepare(root: string, base: string, index: number, init: Required<TestbedInit>) {
  const dir = join(base, `node-${String(index).padStart(2, '0')}`)
  const peerId = (
    await runCli(root, [
      'init',
      '--dir',
      dir,
      '--name',
      `testbed-${index}`,
      '--api',
      '127.0.0.1:0',
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
    ])
  ).trim()
  for (let i = 0; i < init.capabilities; i++) {
    await writeFile(join(dir, `cap-${i}.js`), 'function run(input) { return input }\n')
  }
  return { index, dir, config: join(dir, 'kith.yaml'), peerId } satisfies Prepared
}

/** Adds the testbed's settings to a `kith init` config and validates the result like `kith config check`. */
async function configure(node: Prepared, bootstrap: string[], init: Required<TestbedInit>): Promise<void> {
  const doc = parseDocument(await readFile(node.config, 'utf8'))
  doc.set('log', { level: init.logLevel })
  doc.set('discovery', { ttl: init.ttl, mode: init.mode })
  doc.setIn(['network', 'dht'], 'off')
  doc.setIn(['network', 'mdns'], false)
  doc.setIn(['network', 'bootstrap'], bootstrap)
  doc.set('capabilities', capabilityEntries(node.index, init.capabilities))
  init.edit(node.index, doc)
  await writeFile(node.config, doc.toString())
  await loadConfig(node.config, { env: {} })
}

async function getJson<T>(api: string, path: string): Promise<T> {
  const url = new URL(path, api)
  if (url.hostname !== '127.0.0.1')
    throw new Error(`refusing to contact ${url.host}: the testbed is loopback only`)
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/**
 * Starts `n` kith nodes on loopback and resolves once every one has printed its ready line. On any failure
 * the nodes already started are stopped and the directories removed before the error is rethrown.
 *
 * @example
 * const bed = await startTestbed({ n: 5 })
 * try { console.log(bed.nodes.map((n) => n.api)) } finally { await bed.stop() }
 */
export async function startTestbed(options: TestbedInit): Promise<Testbed> {
  const init: Required<TestbedInit> = {
    mode: 'bodyless',
    ttl: 15_000,
    logLevel: 'info',
    capabilities: 5,
    bootstrapPeers: 3,
    maxDegree: 8,
    batch: 4,
    parentDir: tmpdir(),
    keep: false,
    root: ROOT,
    seed: 1,
    churnMs: 0,
    log: () => {},
    edit: () => {},
    ...options,
  }
  if (!Number.isInteger(init.n) || init.n < 1) throw new Error(`n must be a positive integer, not ${init.n}`)
  await mkdir(init.parentDir, { recursive: true })
  const dir = await mkdtemp(join(init.parentDir, 'kith-testbed-'))
  const nodes: TestbedNode[] = []
  const children: Child[] = []
  // a parent that dies without stop() must not leave nodes behind
  const killAll = () => {
    for (const child of children) child.kill()
  }
  process.once('exit', killAll)
  let stopped: Promise<StopReport> | undefined

  const stop = (options: { graceMs?: number } = {}): Promise<StopReport> => {
    stopped ??= (async () => {
      const unclean: StopReport['unclean'] = []
      await Promise.all(
        children.map(async (child, index) => {
          const exited = () => child.process.exitCode != null || child.process.signalCode != null
          if (!exited() && (options.graceMs ?? 0) > 0) {
            await child.waitForExit(options.graceMs ?? 0).catch(() => {})
          }
          if (exited()) {
            const { code, signal } = await child.exited.catch(() => ({ code: null, signal: 'spawn error' }))
            if (code !== 0) unclean.push({ index, code, signal })
            return
          }
          child.process.kill('SIGTERM')
          try {
            const { code, signal } = await child.waitForExit(STOP_TIMEOUT_MS)
            if (code !== 0) unclean.push({ index, code, signal })
          } catch {
            child.kill()
            unclean.push({ index, code: null, signal: 'SIGKILL (no exit after SIGTERM)' })
            await child.exited.catch(() => {})
          }
        }),
      )
      process.removeListener('exit', killAll)
      if (!init.keep) await rm(dir, { recursive: true, force: true })
      return { unclean }
    })()
    return stopped
  }

  const get = <T>(node: TestbedNode, path: string) => getJson<T>(node.api, path)

  try {
    init.log(`preparing ${init.n} node directories in ${dir}`)
    const prepared = await pool(
      Array.from({ length: init.n }, (_, i) => i),
      2,
      (i) => prepare(init.root, dir, i, init),
    )
    const rnd = seededRandom(init.seed)
    const degree = new Array<number>(init.n).fill(0)
    const startOne = async (p: Prepared): Promise<void> => {
      // chosen before the first await, so the nodes of one batch see each other's links in `degree`
      const candidates = nodes.map((n) => n.index).filter((i) => (degree[i] as number) < init.maxDegree)
      const from: number[] = []
      while (from.length < init.bootstrapPeers && candidates.length > 0) {
        from.push(candidates.splice(Math.floor(rnd() * candidates.length), 1)[0] as number)
      }
      if (nodes.length > 0 && from.length === 0)
        throw new Error(`node ${p.index}: every node has maxDegree links`)
      for (const i of from) degree[i] = (degree[i] as number) + 1
      degree[p.index] = from.length
      const bootstrap = from.map((i) => {
        const node = nodes.find((n) => n.index === i) as TestbedNode
        return dialable({ event: 'ready', peerId: node.peerId, api: node.api, listen: node.listen })
      })
      await configure(p, bootstrap, init)
      const args =
        init.churnMs > 0
          ? [join(init.root, 'scripts/bench/lib/churn-node.ts'), p.config, String(init.churnMs)]
          : [join(init.root, 'src/cli/main.ts'), 'start', '--config', p.config]
      const child = new Child(process.execPath, args, { cwd: p.dir, env: nodeEnv() })
      children[p.index] = child
      let ready: ReadyLine
      try {
        await child.waitForStdout((line) => line.startsWith('{"event":"ready"'), READY_TIMEOUT_MS)
        const line = child.stdout.find((l) => l.text.startsWith('{"event":"ready"'))?.text ?? ''
        ready = JSON.parse(line) as ReadyLine
      } catch (err) {
        throw new Error(
          `node ${p.index} did not become ready: ${(err as Error).message}\n${child.stderrTail()}`,
          { cause: err },
        )
      }
      if (ready.peerId !== p.peerId)
        throw new Error(`node ${p.index}: peer id ${ready.peerId}, expected ${p.peerId}`)
      if (new URL(ready.api).hostname !== '127.0.0.1') throw new Error(`node ${p.index}: API on ${ready.api}`)
      nodes.push({
        index: p.index,
        peerId: ready.peerId,
        api: ready.api,
        pid: child.pid,
        dir: p.dir,
        config: p.config,
        listen: ready.listen,
        bootstrappedFrom: from,
        logLines: child.stderr,
        child,
      })
      init.log(`node ${p.index} ready: ${ready.api} pid ${child.pid}, bootstrap from [${from.join(', ')}]`)
    }
    const [first, ...rest] = prepared
    if (first != null) await startOne(first)
    for (let i = 0; i < rest.length;) {
      // every node of a batch bootstraps only from nodes of earlier batches, which are up; batches grow
      // with the number running (1, 2, 4, …) so that the first nodes are not all tied to node 0 alone
      const size = Math.max(1, Math.min(init.batch, nodes.length))
      const batch = rest.slice(i, i + size)
      i += size
      const snapshot = nodes.length
      await Promise.all(batch.map((p) => startOne(p)))
      if (nodes.length !== snapshot + batch.length) throw new Error('a node of the batch did not start')
    }
    nodes.sort((a, b) => a.index - b.index)
  } catch (err) {
    await stop()
    throw err
  }

  const waitConverged = async (timeoutMs = 60_000): Promise<number> => {
    const started = performance.now()
    for (;;) {
      const missing: string[] = []
      await Promise.all(
        nodes.map(async (node) => {
          const { descriptors } = await get<{ descriptors: { peer: string }[] }>(node, '/v1/descriptors')
          const held = new Set(descriptors.map((d) => d.peer))
          const lacks = nodes.filter((o) => o !== node && !held.has(o.peerId)).length
          if (lacks > 0) missing.push(`node ${node.index} lacks ${lacks}`)
        }),
      )
      if (missing.length === 0) return performance.now() - started
      if (performance.now() - started > timeoutMs) {
        throw new Error(`not converged after ${timeoutMs} ms: ${missing.join(', ')}`)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  return { dir, nodes, get, waitConverged, stop }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '5' },
      mode: { type: 'string', default: 'bodyless' },
      ttl: { type: 'string', default: '15000' },
      'log-level': { type: 'string', default: 'info' },
      caps: { type: 'string', default: '5' },
      churn: { type: 'string', default: '0' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(
      'usage: node scripts/testbed.ts --nodes N [--mode bodyless|flood] [--ttl MS] [--log-level LEVEL] ' +
        '[--caps K] [--churn MS] [--keep]',
    )
    return
  }
  const n = Number(values.nodes)
  const ttl = Number(values.ttl)
  const capabilities = Number(values.caps)
  const churnMs = Number(values.churn)
  if (!Number.isInteger(churnMs) || churnMs < 0) throw new Error('--churn takes a number of ms, 0 for none')
  if (values.mode !== 'bodyless' && values.mode !== 'flood') throw new Error('--mode is bodyless or flood')
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(ttl) || !Number.isInteger(capabilities)) {
    throw new Error('--nodes, --ttl and --caps take integers')
  }
  const bed = await startTestbed({
    n,
    mode: values.mode,
    ttl,
    capabilities,
    churnMs,
    logLevel: values['log-level'] as LogLevel,
    keep: values.keep,
    log: (m) => process.stderr.write(`testbed: ${m}\n`),
  })
  for (const node of bed.nodes) {
    console.log(
      JSON.stringify({
        event: 'ready',
        index: node.index,
        peerId: node.peerId,
        api: node.api,
        pid: node.pid,
      }),
    )
  }
  process.stderr.write(`testbed: ${n} nodes up in ${bed.dir}; Ctrl-C stops them\n`)
  const { promise, resolve: done } = Promise.withResolvers<string>()
  process.once('SIGINT', () => done('SIGINT'))
  process.once('SIGTERM', () => done('SIGTERM'))
  const signal = await promise
  process.stderr.write(`testbed: ${signal}, stopping\n`)
  const report = await bed.stop({ graceMs: signal === 'SIGINT' ? 2_000 : 0 })
  for (const u of report.unclean) {
    process.stderr.write(`testbed: node ${u.index} exited with code ${u.code}, signal ${u.signal}\n`)
  }
  process.exitCode = report.unclean.length > 0 ? 1 : 0
}

if (import.meta.main) {
  try {
    await main()
  } catch (err) {
    process.stderr.write(`testbed: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
