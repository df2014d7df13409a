/**
 * Device plane (devices issue): the latency of a device action — call → command published (QoS 1) → state
 * confirmed → reply — on loopback, through the embedded broker (aedes in the node), through Debian's
 * mosquitto (`set_tcp_nodelay true`), and from a second node over the task protocol; plus sensor fan-in: how
 * many readings per second one node takes with no loss, and its CPU while doing so.
 *
 * KITH_BENCH_DEVICE_CALLS sets the timed calls per path per run (default 1000, after 100 warm-up ones).
 */
import { join } from 'node:path'
import type { KithNode } from '../../src/node/node.ts'
import { startMosquitto } from '../../test/brokers.ts'
import { startTestNode } from '../../test/nodes.ts'
import { Child } from './lib/process.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'devices'
export const description =
  'Device action latency on loopback: the node(s) in the bench process, each virtual device in its own ' +
  'process (firmware-bridge/virtual-device.ts, kind diy-relay, profile diy-relay; the device confirms by republishing ' +
  'its state with the task id): `action-embedded` is `delegate()` of `relay1.set` on a node whose embedded ' +
  'aedes broker the device uses (scheduler, journal, JSON Schema check, template, QoS 1 publish, confirmation ' +
  'template on the state message), `bridge-embedded` the device plane alone (DeviceBridge.run), ' +
  '`action-mosquitto` the same through Debian’s mosquitto 2 (MQTT 5, set_tcp_nodelay true), `action-remote` ' +
  'the action called from a second node over the task protocol (signed request on an established connection). ' +
  'Calls are sequential, alternating ON/OFF. Fan-in: a child process publishes Zigbee2MQTT-style climate JSON ' +
  '(QoS 0) over 50 topics to a node with 50 `temperature-humidity` devices, 5 s per rate; `fanin-lossless` is ' +
  'the highest rate tried at which every message reached the node and `fanin-cpu-<rate>` the bench process’s ' +
  'CPU (one core = 100 %) at that rate.'
export const defaultRuns = 3
export const targets: Record<string, Target> = {
  'action-embedded': { max: 1 },
  'action-mosquitto': { max: 2 },
  'action-remote': { max: 2 },
}

const WARMUP = 100
const FANIN_RATES = [500, 1000, 2000, 4000, 8000, 16000]
const FANIN_MS = 5000
const FANIN_DEVICES = 50

async function timeCalls(node: KithNode, count: number, cap = 'relay1.set'): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < WARMUP + count; i++) {
    const started = performance.now()
    const res = await node.execution.delegate({
      target: { capability: cap },
      input: { state: i % 2 === 0 ? 'ON' : 'OFF' },
      timeoutMs: 10_000,
    })
    const ms = performance.now() - started
    if (!res.ok) throw new Error(`device action failed: ${JSON.stringify(res.error ?? res.status)}`)
    if (i >= WARMUP) out.push(ms)
  }
  return out
}

async function timeBridge(node: KithNode, count: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < WARMUP + count; i++) {
    const started = performance.now()
    await node.devices.bridge.run(
      'relay1.set',
      { state: i % 2 === 0 ? 'ON' : 'OFF' },
      { task: `bench-${i}` },
      AbortSignal.timeout(10_000),
    )
    if (i >= WARMUP) out.push(performance.now() - started)
  }
  return out
}

const relayYaml = (extra: string[] = []) => [
  ...extra,
  'execution: { perPeer: { ratePerSec: 10000, burst: 100000 } }',
  'devices:',
  '  - id: relay1',
  '    profile: diy-relay',
]

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function measureFanIn(
  ctx: BenchContext,
  dir: string,
  add: (m: string, u: string, v: number[]) => void,
) {
  const yaml = ['mqtt: { listen: 127.0.0.1:0, maxRatePerTopic: 100000 }', 'devices:']
  for (let i = 0; i < FANIN_DEVICES; i++)
    yaml.push(`  - { id: s${i}, profile: temperature-humidity, topic: fanin/s${i} }`)
  const node = await startTestNode(join(dir, 'fanin'), { yaml })
  try {
    const url = node.devices.brokerUrl() as string
    let lossless = 0
    for (const rate of FANIN_RATES) {
      const link = node.devices.link
      if (link == null) throw new Error('no MQTT link')
      const before = link.counters.received
      const cpu = process.cpuUsage()
      const wall = performance.now()
      const child = new Child(
        process.execPath,
        [
          join(ctx.root, 'scripts/bench/lib/mqtt-publisher.ts'),
          url,
          'fanin',
          String(FANIN_DEVICES),
          String(rate),
          String(FANIN_MS),
        ],
        { cwd: ctx.root },
      )
      await child.exited
      const line = child.stdout.at(-1)?.text ?? '{}'
      const sent = (JSON.parse(line) as { sent?: number }).sent ?? 0
      // let the last messages arrive
      await until('fan-in drained', () => link.counters.received - before >= sent, 3000).catch(
        () => undefined,
      )
      const used = process.cpuUsage(cpu)
      const seconds = (performance.now() - wall) / 1000
      const received = link.counters.received - before
      add(`fanin-cpu-${rate}`, '%', [((used.user + used.system) / 1e6 / seconds) * 100])
      add(`fanin-received-${rate}`, '%', [sent > 0 ? (received / sent) * 100 : 0])
      ctx.log(`fan-in ${rate}/s: sent ${sent}, received ${received}`)
      if (received >= sent && sent > 0) lossless = rate
      else break
    }
    add('fanin-lossless', 'msg/s', [lossless])
  } finally {
    await node.stop()
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const count = ctx.envInt('KITH_BENCH_DEVICE_CALLS', 1000)
  const samples = new SampleSet()
  const add = samples.add.bind(samples)
  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    const dir = join(ctx.tmpDir, `run-${runNo}`)
    const mosquitto = await startMosquitto(join(ctx.tmpDir, '.'))
    const stops: Array<() => Promise<unknown>> = [() => mosquitto.stop()]
    try {
      const hub = await startTestNode(join(dir, 'hub'), {
        yaml: relayYaml(['mqtt: { listen: 127.0.0.1:0 }']),
      })
      stops.push(() => hub.stop())
      const viaMosquitto = await startTestNode(join(dir, 'mosq'), {
        yaml: relayYaml([`mqtt: { broker: '${mosquitto.url}' }`]),
      })
      stops.push(() => viaMosquitto.stop())
      // each device is its own process, as a real one is its own machine
      for (const url of [hub.devices.brokerUrl() as string, mosquitto.url]) {
        const d = new Child(
          process.execPath,
          [
            join(ctx.root, 'firmware-bridge/virtual-device.ts'),
            ...[
              '--url',
              url,
              '--kind',
              'diy-relay',
              '--id',
              'relay1',
              '--announce',
              'none',
              '--interval',
              '0',
            ],
          ],
          { cwd: ctx.root },
        )
        stops.push(async () => {
          d.process.kill('SIGTERM')
          await d.exited
        })
        await d.waitForStdout((line) => line.includes('"ready"'), 20_000)
      }
      const remote = await startTestNode(join(dir, 'remote'), {
        bootstrap: [hub.host.getMultiaddrs()[0]?.toString() as string],
      })
      stops.push(() => remote.stop())
      await until('devices online', () => hub.execution.registry.get('relay1.set') != null)
      await until('mosquitto device online', () => viaMosquitto.execution.registry.get('relay1.set') != null)
      await until('remote sees the action', () =>
        [...remote.discovery.store.live()].some((e) => e.descriptor.caps.some((c) => c.id === 'relay1.set')),
      )
      add('action-embedded', 'ms', await timeCalls(hub, count))
      add('bridge-embedded', 'ms', await timeBridge(hub, count))
      add('action-mosquitto', 'ms', await timeCalls(viaMosquitto, count))
      add('action-remote', 'ms', await timeCalls(remote, count))
      ctx.log(`run ${runNo}: actions timed`)
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined)
    }
    await measureFanIn(ctx, dir, add)
  }
  return {
    results: [...samples.values()],
    comparisons: [
      { name: 'mosquitto vs embedded broker', numerator: 'action-mosquitto', denominator: 'action-embedded' },
      { name: 'remote provider vs local', numerator: 'action-remote', denominator: 'action-embedded' },
      {
        name: 'whole task path vs device plane alone',
        numerator: 'action-embedded',
        denominator: 'bridge-embedded',
      },
    ],
  }
}
