/**
 * Hubs of household size across the network (issue 22): descriptor v2 (a signed summary naming catalog pages)
 * against today's single v1 descriptor, measured in the same run, with real virtual devices (Zigbee2MQTT-style
 * smart plugs announcing themselves through Home Assistant discovery: a switch and three sensors each) on the
 * hub's embedded broker, and a second node over TCP on 127.0.0.1. Both nodes run in the bench process, the
 * plugs in one child process (scripts/bench/lib/plug-fleet.ts).
 *
 * - `visible-100`: from the moment the hub's last plug has published its discovery messages to the moment the
 *   second node's store holds every one of the hub's 400 device capabilities (a store event, not a poll).
 * - `bytes-<devices>-v<version>`: steady state (no change, refreshes are heartbeats), discovery bytes per node
 *   per second on the wire: the kernel's counters (ss, tcp_info bytes_acked + bytes_received) of the one
 *   libp2p connection between the two nodes, halved — everything, noise, yamux, gossipsub control, ping and
 *   identify included — over a window of KITH_BENCH_HOUSEHOLD_MS (default 20 s) with TTL 15 s.
 * - `withheld-<devices>-v1`: capabilities today's single descriptor leaves out; v2 leaves out none.
 * - `action-<devices>`: a device action (`delegate()` of the last plug's switch on the hub) through the
 *   embedded broker, with 4 and with 100 plugs on it, KITH_BENCH_HOUSEHOLD_CALLS timed calls (default 300)
 *   after 50 warm-up ones.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { KithNode } from '../../src/node/node.ts'
import { startTestNode } from '../../test/nodes.ts'
import { Child } from './lib/process.ts'
import { SampleSet } from './lib/samples.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'

const execFileAsync = promisify(execFile)

export const name = 'households'
export const description =
  'A hub of household size across the network: descriptor v2 (signed summary + catalog pages) vs today’s single ' +
  'v1 descriptor in the same run. Virtual Zigbee2MQTT-style plugs (Home Assistant discovery; switch, its state, ' +
  'power and energy = 4 capabilities each) on the hub’s embedded broker, a second node over TCP on 127.0.0.1, both nodes in the ' +
  'bench process, the plugs in one child process. `visible-100`: last plug’s discovery message → the second node holds all 400 device ' +
  'capabilities. `bytes-N-vV`: steady-state bytes per node per second on the libp2p connection (kernel tcp_info ' +
  'counters, everything on the wire), TTL 15 s, N plugs, wire version V. `withheld-N-v1`: capabilities the v1 ' +
  'descriptor leaves out. `action-N`: device action round trip (delegate → QoS 1 command → state confirmation) ' +
  'with N plugs on the broker.'
export const defaultRuns = 3
export const targets: Record<string, Target> = {
  'visible-100': { max: 2000 },
  'withheld-100-v2': { max: 0 },
}

const TTL_MS = 15_000
/** a Home Assistant discovered plug: its switch, the switch's state, power and energy */
const CAPS_PER_PLUG = 4
const WARMUP_CALLS = 50

interface Hub {
  hub: KithNode
  viewer: KithNode
  /** the ids of the plugs, in the order they were started */
  plugs: string[]
  stop(): Promise<void>
}

const peerOf = (n: KithNode) => n.host.peerId.toString()

/**
 * The hub and the viewer, connected; then `devices` plugs. Resolves with when the last plug announced and
 * when the viewer held all their capabilities (watched from before the first plug starts).
 */
async function household(
  ctx: BenchContext,
  dir: string,
  devices: number,
  version: 1 | 2,
): Promise<Hub & { lastAnnounce: number; visible: Promise<number> }> {
  const discovery = `discovery: { ttl: ${TTL_MS}, version: ${version} }`
  const hub = await startTestNode(join(dir, 'hub'), {
    yaml: ['mqtt: { listen: 127.0.0.1:0, discovery: { maxDevices: 500 } }', discovery],
  })
  const viewer = await startTestNode(join(dir, 'viewer'), {
    bootstrap: [hub.host.getMultiaddrs()[0]!.toString()],
    yaml: [discovery],
  })
  const plugs = Array.from({ length: devices }, (_, i) => `plug_${String(i).padStart(3, '0')}`)
  let fleet: Child | undefined
  const stop = async () => {
    if (fleet != null) {
      fleet.process.stdin?.end()
      await fleet.waitForExit(10_000).catch(() => fleet?.kill())
    }
    await viewer.stop().catch(() => undefined)
    await hub.stop().catch(() => undefined)
  }
  try {
    await until('the viewer to hold the hub', () => viewer.discovery.store.get(peerOf(hub)) != null)
    const visible = whenVisible(viewer, hub, devices * CAPS_PER_PLUG)
    // the plugs run in a process of their own, as devices do: their MQTT work is not the hub's
    fleet = new Child(
      process.execPath,
      [join(ctx.root, 'scripts/bench/lib/plug-fleet.ts'), hub.devices.brokerUrl() as string, String(devices)],
      { cwd: ctx.root },
    )
    // the line comes once the last plug is online and its discovery messages are published
    const lastAnnounce = await fleet.waitForStdout((line) => line.includes('"announced"'), 120_000)
    return { hub, viewer, plugs, stop, lastAnnounce, visible }
  } catch (err) {
    await stop()
    throw err
  }
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Resolves with the time the viewer's store first holds every device capability the hub will have. */
function whenVisible(viewer: KithNode, hub: KithNode, expected: number): Promise<number> {
  return new Promise((resolve) => {
    const complete = () =>
      (viewer.discovery.store.get(peerOf(hub))?.descriptor.caps ?? []).filter((c) => c.kind !== 'script')
        .length >= expected
    if (complete()) return resolve(performance.now())
    const off = viewer.discovery.store.onChange(() => {
      if (!complete()) return
      off()
      resolve(performance.now())
    })
  })
}

const tcpPort = (n: KithNode) => Number(/\/tcp\/(\d+)/.exec(n.host.getMultiaddrs()[0]!.toString())?.[1])

/**
 * Bytes both ways on the hub's end of its libp2p connections to the viewer, from the kernel: the sockets
 * on the hub's listen port (the viewer dialed) or to the viewer's (the hub dialed).
 */
async function linkBytes(h: Hub): Promise<number> {
  const filter = `( sport = :${tcpPort(h.hub)} or dport = :${tcpPort(h.viewer)} )`
  const { stdout } = await execFileAsync('ss', ['-tinH', 'state', 'established', filter])
  let total = 0
  for (const m of stdout.matchAll(/bytes_acked:(\d+)[\s\S]*?bytes_received:(\d+)/g))
    total += Number(m[1]) + Number(m[2])
  return total
}

async function timeActions(h: Hub, calls: number): Promise<number[]> {
  const last = h.plugs.at(-1)!
  const action = h.hub.devices.bridge.capabilities().find((c) => c.kind === 'device' && c.id.includes(last))
  if (action == null) throw new Error(`no action for ${last}`)
  const out: number[] = []
  for (let i = 0; i < WARMUP_CALLS + calls; i++) {
    const started = performance.now()
    const res = await h.hub.execution.delegate({
      target: { capability: action.id },
      input: { on: i % 2 === 0 },
      timeoutMs: 10_000,
    })
    if (!res.ok) throw new Error(`device action failed: ${JSON.stringify(res.error ?? res.status)}`)
    if (i >= WARMUP_CALLS) out.push(performance.now() - started)
  }
  return out
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const windowMs = ctx.envInt('KITH_BENCH_HOUSEHOLD_MS', 20_000)
  const calls = ctx.envInt('KITH_BENCH_HOUSEHOLD_CALLS', 300)
  const samples = new SampleSet()
  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    for (const devices of [4, 12, 100]) {
      for (const version of [2, 1] as const) {
        if (devices === 4 && version === 1) continue
        const h = await household(
          ctx,
          join(ctx.tmpDir, `run-${runNo}-${devices}-v${version}`),
          devices,
          version,
        )
        try {
          await until(
            'the hub to import every plug',
            () => h.hub.devices.bridge.capabilities().length >= devices * CAPS_PER_PLUG,
          )
          if (devices === 100 && version === 2) {
            const at = await h.visible
            samples.add('visible-100', 'ms', [Math.max(0, at - h.lastAnnounce)])
            const pages = h.hub.discovery.announcer.current()?.pages?.length ?? 0
            const taken = h.viewer.discovery.announcer.counters.intake as {
              pagesPulled?: number
              pagesRejected?: Record<string, number>
            }
            ctx.log(
              `run ${runNo}: the viewer pulled ${taken.pagesPulled} pages; refused ${JSON.stringify(taken.pagesRejected)}`,
            )
            ctx.log(
              `run ${runNo}: 400 capabilities visible ${(at - h.lastAnnounce).toFixed(0)} ms after the last announce (${pages} pages)`,
            )
          }
          if (devices > 4) {
            // the announcer coalesces re-signs (250 ms): let the last one happen, then read what it carries
            await sleep(1_000)
            const held = (h.hub.discovery.announcer.current()?.descriptor.caps ?? []).filter(
              (c) => c.kind !== 'script',
            )
            samples.add(`withheld-${devices}-v${version}`, 'caps', [devices * CAPS_PER_PLUG - held.length])
          }
          if (devices > 4) {
            // settle: the last re-signed summary pulled, then only heartbeats
            await sleep(3_000)
            const before = await linkBytes(h)
            const started = performance.now()
            await sleep(windowMs)
            const bytes = (await linkBytes(h)) - before
            const perNode = bytes / 2 / ((performance.now() - started) / 1000)
            samples.add(`bytes-${devices}-v${version}`, 'B/s', [perNode])
            ctx.log(`run ${runNo}: ${devices} plugs v${version}: ${perNode.toFixed(1)} B/s per node`)
          }
          if (version === 2 && (devices === 4 || devices === 100))
            samples.add(`action-${devices}`, 'ms', await timeActions(h, calls))
        } finally {
          await h.stop()
        }
      }
    }
  }
  return {
    results: [...samples.values()],
    comparisons: [
      {
        name: 'steady bytes, 12 plugs: v2 vs today’s v1',
        numerator: 'bytes-12-v2',
        denominator: 'bytes-12-v1',
      },
      {
        name: 'steady bytes, 100 plugs: v2 vs today’s v1',
        numerator: 'bytes-100-v2',
        denominator: 'bytes-100-v1',
      },
      {
        name: 'device action: 100 plugs vs 4 on the broker',
        numerator: 'action-100',
        denominator: 'action-4',
      },
    ],
  }
}
