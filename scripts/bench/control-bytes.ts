/**
 * Control-plane bytes per node per second (discovery issue), bodyless gossip against full-body flooding,
 * for N = 5, 10 and 20 `kith start` processes on loopback (scripts/testbed.ts), TTL 15 s, 5 script
 * capabilities per node (descriptors of about 2.5 KB). For each N both modes run back to back in this one
 * benchmark run, on fresh testbeds with the same layout seed.
 *
 * Steady state: no capability changes during the window, so in bodyless mode a refresh is a heartbeat (the
 * notice alone, with the node's current state) and in flooding mode the whole body (re-signed when the state
 * changed). Two measures, taken over the same window after every node holds every descriptor:
 *
 * - payload: the announcer's own counters from `GET /v1/discovery/stats`, counted alike in both modes —
 *   sent = gossipBytesOut (own messages × the peers gossipsub sent each to) + forwardBytesOut (others'
 *   messages passed on × the mesh peers other than their sender and origin; gossipsub may skip some that said
 *   they have it, so this is an upper bound) + pullBytesOut (bodies served); received = gossipBytesIn (every
 *   message once: gossipsub drops duplicates before kith sees them) + pullBytesIn. No gossipsub framing,
 *   signatures, duplicates or control traffic.
 * - tcp: what actually crossed each node's libp2p TCP connections — the kernel's per-socket counters
 *   (`ss -tinp`, tcp_info bytes_acked for sent and bytes_received for received) summed over the node's
 *   established sockets except those of its HTTP API. This includes Noise, Yamux and gossipsub framing,
 *   message signatures, forwarding, duplicates, IHAVE/IWANT/IDONTWANT control, pings and identify.
 *   /proc/PID/io was not used: its rchar/wchar also count the sampler's reads of /proc and sysfs and
 *   SQLite's writes, which dwarf the gossip. Sockets closed during the window would lose their bytes; the
 *   log says how many closed (the connection set of a settled testbed does not change).
 *
 * The log also gives, per mode, how many bodies were signed, pulled and verified during the window, which is
 * what the bytes come down to.
 *
 * KITH_BENCH_CONTROL_MS sets the window (default 30000), KITH_BENCH_CONTROL_WARMUP_MS the settling time
 * after convergence (default 5000), KITH_BENCH_CONTROL_NODES the list of N (default 5,10,20).
 */
import { execFile } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { BenchContext, Comparison, MetricSamples, RunOutput } from './lib/types.ts'
import { type DiscoveryMode, startTestbed, type Testbed } from '../testbed.ts'

const execFileAsync = promisify(execFile)

export const name = 'control-bytes'
export const description =
  'Discovery control-plane bytes per node per second, bodyless gossip vs full-body flooding measured in the ' +
  'same run: N = 5, 10, 20 `kith start` processes on loopback (scripts/testbed.ts: up to 3 random bootstrap links per new node, at most 8 per node, 5 script capabilities ' +
  'each, DHT off), TTL 15 s (refresh every 5 s), steady state (no capability changes; bodyless refreshes are ' +
  'heartbeat notices carrying the state, flood refreshes the whole body, re-signed when the state changed), ' +
  'counted over a 30 s window after every node holds every descriptor. `payload-*`: the announcer counters of ' +
  '/v1/discovery/stats, alike in both modes (sent = own messages × peers sent to + forwarded messages × mesh ' +
  'peers other than sender and origin + pulled bodies served; received = every message once + bodies ' +
  'pulled). `tcp-*`: kernel per-socket ' +
  'bytes (ss, tcp_info bytes_acked / bytes_received) on each node’s libp2p connections: everything ' +
  'on the wire, including encryption, muxing, gossipsub framing and control, ping and identify. One sample ' +
  'per node.'
export const defaultRuns = 1

const TTL_MS = 15_000
const CONVERGE_TIMEOUT_MS = 90_000
const MODES: DiscoveryMode[] = ['bodyless', 'flood']

interface Socket {
  key: string
  pid: number
  localPort: number
  sent: number
  received: number
}

/** Every established TCP socket of the given processes, with the kernel's byte counters. */
async function readSockets(pids: ReadonlySet<number>): Promise<Socket[]> {
  const { stdout } = await execFileAsync('ss', ['-tinpH', 'state', 'established'], {
    maxBuffer: 64 * 1024 * 1024,
  })
  const sockets: Socket[] = []
  const lines = stdout.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i] ?? ''
    const m = /^\s*\d+\s+\d+\s+(\S+):(\d+)\s+(\S+):(\d+)\s+users:\(\("[^"]*",pid=(\d+),fd=(\d+)\)/.exec(head)
    if (m == null) continue
    const pid = Number(m[5])
    const info = lines[i + 1] ?? ''
    if (!pids.has(pid)) continue
    const field = (key: string) => Number(new RegExp(`\\b${key}:(\\d+)`).exec(info)?.[1] ?? 0)
    sockets.push({
      key: `${pid} ${m[1]}:${m[2]} ${m[3]}:${m[4]} ${m[6]}`,
      pid,
      localPort: Number(m[2]),
      sent: field('bytes_acked'),
      received: field('bytes_received'),
    })
  }
  return sockets
}

interface Snapshot {
  at: number
  payload: { sent: number; received: number }[]
  /** summed over the nodes: announces, heartbeats, pulls, bodies stored */
  totals: { announced: number; heartbeats: number; pulls: number; stored: number }
  sockets: Socket[]
}

type Stats = {
  gossip: Record<string, number>
  store: { accepted: number; replaced: number }
}

async function snapshot(bed: Testbed): Promise<Snapshot> {
  const pids = new Set(bed.nodes.map((n) => n.pid))
  const apiPorts = new Set(bed.nodes.map((n) => Number(new URL(n.api).port)))
  const [stats, sockets] = await Promise.all([
    Promise.all(bed.nodes.map((n) => bed.get<Stats>(n, '/v1/discovery/stats'))),
    readSockets(pids),
  ])
  return {
    at: performance.now(),
    payload: stats.map(({ gossip: g }) => ({
      sent: (g.gossipBytesOut ?? 0) + (g.forwardBytesOut ?? 0) + (g.pullBytesOut ?? 0),
      received: (g.gossipBytesIn ?? 0) + (g.pullBytesIn ?? 0),
    })),
    totals: {
      announced: stats.reduce((a, s) => a + (s.gossip.announced ?? 0), 0),
      heartbeats: stats.reduce((a, s) => a + (s.gossip.heartbeats ?? 0), 0),
      pulls: stats.reduce((a, s) => a + (s.gossip.pulls ?? 0), 0),
      stored: stats.reduce((a, s) => a + s.store.accepted + s.store.replaced, 0),
    },
    // the node's own API sockets carry this benchmark's requests, not gossip
    sockets: sockets.filter((s) => !apiPorts.has(s.localPort)),
  }
}

interface Rates {
  payloadSent: number[]
  payloadReceived: number[]
  tcpSent: number[]
  tcpReceived: number[]
  closed: number
  opened: number
  connections: number[]
}

function rates(bed: Testbed, a: Snapshot, b: Snapshot): Rates {
  const seconds = (b.at - a.at) / 1000
  const before = new Map(a.sockets.map((s) => [s.key, s]))
  const after = new Set(b.sockets.map((s) => s.key))
  const out: Rates = {
    payloadSent: [],
    payloadReceived: [],
    tcpSent: [],
    tcpReceived: [],
    closed: a.sockets.filter((s) => !after.has(s.key)).length,
    opened: b.sockets.filter((s) => !before.has(s.key)).length,
    connections: [],
  }
  bed.nodes.forEach((node, i) => {
    const pa = a.payload[i]
    const pb = b.payload[i]
    if (pa == null || pb == null) throw new Error(`no stats for node ${i}`)
    out.payloadSent.push((pb.sent - pa.sent) / seconds)
    out.payloadReceived.push((pb.received - pa.received) / seconds)
    let sent = 0
    let received = 0
    let connections = 0
    for (const s of b.sockets) {
      if (s.pid !== node.pid) continue
      const old = before.get(s.key)
      sent += s.sent - (old?.sent ?? 0)
      received += s.received - (old?.received ?? 0)
      connections++
    }
    out.tcpSent.push(sent / seconds)
    out.tcpReceived.push(received / seconds)
    out.connections.push(connections)
  })
  return out
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const windowMs = ctx.envInt('KITH_BENCH_CONTROL_MS', 30_000)
  const warmupMs = ctx.envInt('KITH_BENCH_CONTROL_WARMUP_MS', 5_000)
  const sizes = (process.env.KITH_BENCH_CONTROL_NODES ?? '5,10,20').split(',').map(Number)
  if (sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error('KITH_BENCH_CONTROL_NODES: N >= 2')
  const collected = new Map<string, number[]>()
  const add = (metric: string, values: number[]) =>
    collected.set(metric, [...(collected.get(metric) ?? []), ...values])

  for (const n of sizes) {
    for (let run = 1; run <= ctx.runs; run++) {
      for (const mode of MODES) {
        const bed = await startTestbed({
          n,
          mode,
          ttl: TTL_MS,
          logLevel: 'info',
          parentDir: ctx.tmpDir,
          seed: run,
          log: (m) => ctx.log(`${mode} N=${n}: ${m}`),
        })
        try {
          await bed.waitConverged(CONVERGE_TIMEOUT_MS)
          await sleep(warmupMs)
          const a = await snapshot(bed)
          await sleep(windowMs)
          const b = await snapshot(bed)
          const dead = bed.nodes.filter((node) => node.child.process.exitCode != null)
          if (dead.length > 0) throw new Error(`nodes ${dead.map((d) => d.index).join(', ')} exited`)
          const r = rates(bed, a, b)
          add(`payload-sent-${mode}-n${n}`, r.payloadSent)
          add(`payload-recv-${mode}-n${n}`, r.payloadReceived)
          add(`tcp-sent-${mode}-n${n}`, r.tcpSent)
          add(`tcp-recv-${mode}-n${n}`, r.tcpReceived)
          const d = (k: keyof Snapshot['totals']) => b.totals[k] - a.totals[k]
          ctx.log(
            `${mode} N=${n} run ${run}: in the window ${d('announced')} announces (${d('heartbeats')} ` +
              `heartbeats), ${d('pulls')} pulls, ${d('stored')} bodies stored (own included); ` +
              `median per node payload sent ${median(r.payloadSent).toFixed(0)} B/s, ` +
              `tcp sent ${median(r.tcpSent).toFixed(0)} B/s; connections per node ` +
              `${Math.min(...r.connections)}-${Math.max(...r.connections)}; sockets opened ${r.opened}, ` +
              `closed ${r.closed} during the window`,
          )
        } finally {
          const report = await bed.stop()
          for (const u of report.unclean)
            ctx.log(`${mode} N=${n}: node ${u.index} stopped with code ${u.code}, signal ${u.signal}`)
        }
      }
    }
  }

  const results: MetricSamples[] = []
  for (const measure of ['tcp-sent', 'tcp-recv', 'payload-sent', 'payload-recv']) {
    for (const n of sizes) {
      for (const mode of MODES) {
        const metric = `${measure}-${mode}-n${n}`
        results.push({ metric, unit: 'B/s', samples: collected.get(metric) ?? [] })
      }
    }
  }
  const comparisons: Comparison[] = []
  for (const measure of ['tcp-sent', 'payload-sent', 'payload-recv']) {
    for (const n of sizes) {
      comparisons.push({
        name: `flood vs bodyless, ${measure}, N=${n}`,
        numerator: `${measure}-flood-n${n}`,
        denominator: `${measure}-bodyless-n${n}`,
      })
    }
  }
  return { results, comparisons }
}
