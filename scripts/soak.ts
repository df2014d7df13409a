/**
 * The soak run: N real `kith start` processes on loopback (scripts/testbed.ts), node 0 a hub with the
 * embedded MQTT broker and the demo household's virtual devices (src/devices/virtual/household.ts), and a
 * steady stream of tasks from every node: script capabilities of other nodes by id and by intent, device
 * commands and sensor reads on the hub. It fails when
 *
 * - a task is lost: any outcome but `ok` (the network is healthy, so nothing has an excuse to fail);
 * - a node's RSS grows by more than `--max-growth` (10 %) from just after the warm-up to the end (medians
 *   of each window, so one GC cycle does not decide it);
 * - a node logs an error (pino level ≥ 50) or exits.
 *
 *   npm run soak                                   # 5 nodes, 5 minutes (what CI runs)
 *   npm run soak -- --nodes 8 --duration 3600 --rate 6 --out bench/reliability/soak-1h.json
 *
 * Prints one summary line and writes the details as JSON (`--out`, default bench/reliability/soak.json).
 */
import { writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type DemoHousehold, startDemoHousehold } from '../src/devices/virtual/household.ts'
import { readMemoryStatus } from './bench/lib/process.ts'
import { seededRandom } from './bench/lib/random.ts'
import { median } from './bench/lib/stats.ts'
import { startTestbed, type Testbed, type TestbedNode } from './testbed.ts'

const ROOT = resolve(import.meta.dirname, '..')
const SAMPLE_MS = 5_000
const TASK_TIMEOUT_MS = 15_000
const MIB = 2 ** 20

interface Options {
  nodes: number
  durationS: number
  /** tasks per second, over all nodes */
  rate: number
  /** share of the run that is warm-up, not judged for memory */
  warmup: number
  maxGrowth: number
  out: string
  seed: number
}

/** One kind of task the soak sends: where from is chosen at random, what to ask comes from here. */
interface TaskKind {
  name: string
  body: () => Record<string, unknown>
  /** the nodes that may send it (not the provider itself, so it crosses the network) */
  from: number[]
}

interface Outcome {
  kind: string
  from: number
  ok: boolean
  status: string
  ms: number
  fallbacks: number
  error?: string
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '5' },
      duration: { type: 'string', default: '300' },
      rate: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '0.34' },
      'max-growth': { type: 'string', default: '0.10' },
      out: { type: 'string', default: join(ROOT, 'bench/reliability/soak.json') },
      seed: { type: 'string', default: '1' },
    },
  })
  const o: Options = {
    nodes: Number(values.nodes),
    durationS: Number(values.duration),
    rate: Number(values.rate),
    warmup: Number(values.warmup),
    maxGrowth: Number(values['max-growth']),
    out: resolve(values.out),
    seed: Number(values.seed),
  }
  if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new Error('--nodes: an integer of at least 2')
  if (!(o.durationS >= 30)) throw new Error('--duration: at least 30 (seconds)')
  if (!(o.rate > 0 && o.rate <= 100)) throw new Error('--rate: tasks per second, in (0, 100]')
  if (!(o.warmup >= 0 && o.warmup < 0.9)) throw new Error('--warmup: a share of the run in [0, 0.9)')
  if (!(o.maxGrowth > 0)) throw new Error('--max-growth: a positive share, e.g. 0.1')
  return o
}

async function post(node: TestbedNode, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(path, node.api), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TASK_TIMEOUT_MS + 5_000),
  })
  const json = (await res.json()) as Record<string, unknown>
  if (!res.ok && json.status == null) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`)
  return json
}

interface Capability {
  id: string
  kind: string
  risk: string
}

/**
 * Waits until every node holds every other's descriptor and the hub's, as another node sees it, offers
 * every household device; returns the hub's capabilities.
 */
async function settle(bed: Testbed, household: DemoHousehold): Promise<Capability[]> {
  await bed.waitConverged(120_000)
  const [hub, other] = [bed.nodes[0]!, bed.nodes[1]!]
  const deadline = Date.now() + 90_000
  for (;;) {
    const { descriptors } = await bed.get<{ descriptors: { peer: string; caps: Capability[] }[] }>(
      other,
      '/v1/descriptors',
    )
    const caps = descriptors.find((d) => d.peer === hub.peerId)?.caps ?? []
    if (household.devices.every((d) => caps.some((c) => c.id.startsWith(`${d.bridgeId}.`)))) return caps
    if (Date.now() > deadline) throw new Error('the household devices did not reach node 1 within 90 s')
    await new Promise((r) => setTimeout(r, 500))
  }
}

function taskKinds(bed: Testbed, deviceCaps: Capability[]): TaskKind[] {
  const n = bed.nodes.length
  const all = bed.nodes.map((node) => node.index)
  const kinds: TaskKind[] = []
  // testbed capability `i` of node `k` is `${TOPICS[(k + i) % 8]}.control-${i}`; 0 and 1 are low and medium risk
  const topics = ['light', 'thermostat', 'camera', 'speaker', 'garden', 'garage', 'washer', 'blinds']
  for (let k = 0; k < n; k++) {
    for (const i of [0, 1]) {
      const id = `${topics[(k + i) % topics.length]}.control-${i}`
      kinds.push({
        name: `script ${id}@${k}`,
        body: () => ({ capability: id, input: { action: 'get' }, timeoutMs: TASK_TIMEOUT_MS }),
        from: all.filter((x) => x !== k),
      })
    }
  }
  kinds.push({
    name: 'intent',
    body: () => ({
      intent: 'read the thermostat in the hallway',
      input: { action: 'get' },
      timeoutMs: TASK_TIMEOUT_MS,
    }),
    from: all,
  })
  const notHub = all.filter((x) => x !== 0)
  const plug = deviceCaps.find(
    (c) => c.id.startsWith('kith_desk_plug.') && c.kind === 'device' && c.risk !== 'high',
  )
  if (plug != null) {
    let on = false
    kinds.push({
      name: `device ${plug.id}`,
      body: () => ({ capability: plug.id, input: { on: (on = !on) }, timeoutMs: TASK_TIMEOUT_MS }),
      from: notHub,
    })
  }
  const sensor = deviceCaps.find((c) => c.id.startsWith('kith_kitchen_climate.') && c.kind === 'sensor')
  if (sensor != null) {
    kinds.push({
      name: `sensor ${sensor.id}`,
      body: () => ({ capability: sensor.id, input: {}, timeoutMs: TASK_TIMEOUT_MS }),
      from: notHub,
    })
  }
  return kinds
}

interface Problem {
  what: string
  detail: string
}

/** Error lines (pino level ≥ 50) in a node's stderr. */
function errorLines(node: TestbedNode): string[] {
  return node.logLines
    .map((l) => l.text)
    .filter((t) => {
      if (!t.startsWith('{')) return false
      try {
        return ((JSON.parse(t) as { level?: number }).level ?? 0) >= 50
      } catch {
        return false
      }
    })
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const rnd = seededRandom(o.seed)
  const log = (m: string) => process.stderr.write(`soak: ${m}\n`)
  const bed = await startTestbed({
    n: o.nodes,
    capabilities: 2,
    logLevel: 'warn',
    log,
    edit: (index, doc) => {
      // node 0's broker takes a free port (the testbed's KITH_MQTT_LISTEN); the others have none
      if (index !== 0) doc.set('mqtt', { broker: 'off' })
    },
  })
  let household: DemoHousehold | undefined
  const problems: Problem[] = []
  const outcomes: Outcome[] = []
  const memory = new Map<number, { at: number; rss: number }[]>(bed.nodes.map((n) => [n.index, []]))
  try {
    const { broker } = await bed.get<{ broker: string | null }>(bed.nodes[0]!, '/v1/devices')
    if (broker == null) throw new Error('node 0 runs no MQTT broker')
    household = await startDemoHousehold(broker)
    const deviceCaps = await settle(bed, household)
    const kinds = taskKinds(bed, deviceCaps)
    log(
      `${bed.nodes.length} nodes, ${household.devices.length} devices, ${kinds.length} task kinds; running ${o.durationS} s`,
    )

    const start = performance.now()
    const end = start + o.durationS * 1000
    const sampler = setInterval(() => {
      for (const node of bed.nodes) {
        readMemoryStatus(node.pid)
          .then((m) => memory.get(node.index)!.push({ at: performance.now() - start, rss: m.rss }))
          .catch(() => problems.push({ what: 'exit', detail: `node ${node.index} is gone` }))
      }
    }, SAMPLE_MS)
    const inflight = new Set<Promise<void>>()
    const gap = 1000 / o.rate
    for (let next = start; next < end; next += gap) {
      const wait = next - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const kind = kinds[Math.floor(rnd() * kinds.length)]!
      const from = kind.from[Math.floor(rnd() * kind.from.length)]!
      const sent = performance.now()
      const p = post(bed.nodes[from]!, '/v1/tasks', kind.body())
        .then((r) => {
          const error = r.error as { code?: string; message?: string } | undefined
          outcomes.push({
            kind: kind.name,
            from,
            ok: r.ok === true,
            status: String(r.status),
            ms: performance.now() - sent,
            fallbacks: Number(r.fallbacks ?? 0),
            ...(error != null ? { error: `${error.code}: ${error.message}` } : {}),
          })
        })
        .catch((err: unknown) => {
          outcomes.push({
            kind: kind.name,
            from,
            ok: false,
            status: 'no answer',
            ms: performance.now() - sent,
            fallbacks: 0,
            error: (err as Error).message,
          })
        })
        .finally(() => inflight.delete(p))
      inflight.add(p)
    }
    await Promise.all(inflight)
    clearInterval(sampler)
  } finally {
    await household?.stop().catch(() => {})
    const report = await bed.stop()
    for (const u of report.unclean)
      problems.push({ what: 'unclean stop', detail: `node ${u.index}: code ${u.code} signal ${u.signal}` })
  }

  const lost = outcomes.filter((x) => !x.ok)
  for (const x of lost.slice(0, 20))
    problems.push({
      what: 'lost task',
      detail: `${x.kind} from node ${x.from}: ${x.status} ${x.error ?? ''}`.trim(),
    })
  const warmupS = o.durationS * o.warmup
  const windowS = Math.max(30, (o.durationS - warmupS) / 4)
  const growth = bed.nodes.map((node) => {
    const samples = memory.get(node.index)!
    const after = samples
      .filter((s) => s.at / 1000 >= warmupS && s.at / 1000 < warmupS + windowS)
      .map((s) => s.rss)
    const last = samples.filter((s) => s.at / 1000 >= o.durationS - windowS).map((s) => s.rss)
    const base = after.length > 0 ? median(after) : NaN
    const final = last.length > 0 ? median(last) : NaN
    return { node: node.index, baseMiB: base / MIB, endMiB: final / MIB, growth: final / base - 1 }
  })
  for (const g of growth) {
    if (!(g.growth <= o.maxGrowth))
      problems.push({
        what: 'memory',
        detail: `node ${g.node}: RSS ${g.baseMiB.toFixed(1)} → ${g.endMiB.toFixed(1)} MiB (${(g.growth * 100).toFixed(1)} %)`,
      })
  }
  for (const node of bed.nodes)
    for (const line of errorLines(node).slice(0, 5))
      problems.push({ what: 'error logged', detail: `node ${node.index}: ${line.slice(0, 400)}` })

  const ms = outcomes.filter((x) => x.ok).map((x) => x.ms)
  const sorted = [...ms].sort((a, b) => a - b)
  const summary = {
    nodes: o.nodes,
    durationS: o.durationS,
    rate: o.rate,
    tasks: outcomes.length,
    ok: outcomes.length - lost.length,
    lost: lost.length,
    fallbacks: outcomes.reduce((a, x) => a + x.fallbacks, 0),
    latencyMs: {
      p50: sorted.length > 0 ? median(sorted) : null,
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? null,
    },
    memory: growth,
    problems,
  }
  await mkdir(dirname(o.out), { recursive: true })
  await writeFile(o.out, `${JSON.stringify(summary, null, 2)}\n`)
  const worst = Math.max(...growth.map((g) => g.growth))
  const line =
    `soak: ${summary.tasks} tasks over ${o.nodes} nodes in ${o.durationS} s, ${summary.lost} lost, ` +
    `p50 ${summary.latencyMs.p50?.toFixed(0)} ms p99 ${summary.latencyMs.p99?.toFixed(0)} ms, ` +
    `worst RSS growth ${(worst * 100).toFixed(1)} %, ${problems.length} problems`
  process.stdout.write(`${line}\n`)
  for (const p of problems) process.stdout.write(`  ${p.what}: ${p.detail}\n`)
  process.exitCode = problems.length === 0 ? 0 : 1
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 2
})
