/**
 * Honest task latency with and without an attack (reliability issue): a provider node and an honest
 * requester in this process over TCP on 127.0.0.1, and an attacker in a child process (this file run as
 * `node attack.ts attacker MULTIADDR`, so its own CPU is not this event loop's) that, once started, keeps
 * up at once: a flood of valid announces (a new signed version each time), 64 task streams opened and
 * abandoned, 8 slow-loris task streams, and a crowd of 20 extra connections from fresh identities. Per run:
 * blocks of sequential honest tasks alternate between "no attack" (attacker idle) and "attack" (running).
 */
import { join } from 'node:path'
import { createIdentity } from '../../src/connectivity/identity.ts'
import type { KithNode } from '../../src/node/node.ts'
import { abandonStreams, echo, floodAnnounces, rawHost, slowLoris } from '../../test/attackers.ts'
import { startTestNode } from '../../test/nodes.ts'
import { Child } from './lib/process.ts'
import { SampleSet } from './lib/samples.ts'
import type { BenchContext, RunOutput } from './lib/types.ts'

export const name = 'attack'
export const description =
  'Round trip of a tiny task from an honest requester to a provider (two nodes in this process, loopback ' +
  'TCP), in blocks of 100 sequential tasks that alternate between no attack and an attack from a separate ' +
  'process on the provider: a flood of valid signed announces, 64 abandoned task streams, 8 slow-loris ' +
  'task streams and 20 extra connections, all at once (KITH_BENCH_ATTACKS picks some). 4 blocks of each ' +
  'per run, after 100 warm-up tasks; `ratio-attack` is attack / no-attack per run; `failed-*` count the ' +
  'honest tasks that did not succeed in each condition (latencies are of the successful ones).'
export const defaultRuns = 3

const BLOCK = 100
/** which attacks run: KITH_BENCH_ATTACKS=flood,abandon,loris,crowd (the default: all at once) */
const ATTACKS = (process.env.KITH_BENCH_ATTACKS ?? 'flood,abandon,loris,crowd').split(',')
const BLOCKS = 4

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const samples = new SampleSet()
  for (let r = 1; r <= ctx.runs; r++) {
    const dir = join(ctx.tmpDir, `run-${r}`)
    const state = () => ({ load: 0, memFree: 1e9, queue: 0 })
    const provider = await startTestNode(join(dir, 'provider'), {
      yaml: ['execution: { perPeer: { ratePerSec: 10000, burst: 100000 } }'],
      local: { state, capabilities: () => [echo] },
    })
    provider.execution.registry.register({ capability: echo, run: async (input) => input })
    const requester = await startTestNode(join(dir, 'requester'), {
      bootstrap: [provider.host.getMultiaddrs()[0]!.toString()],
      local: { state, capabilities: () => [] },
    })
    const attacker = new Child(
      process.execPath,
      [import.meta.filename, 'attacker', provider.host.getMultiaddrs()[0]!.toString(), dir],
      { cwd: ctx.root },
    )
    try {
      await attacker.waitForStdout((l) => l === 'ready', 60_000)
      const once = () => task(requester, provider)
      for (let i = 0; i < BLOCK; i++) await once()
      const base: number[] = []
      const attacked: number[] = []
      for (let b = 0; b < BLOCKS; b++) {
        for (let i = 0; i < BLOCK; i++) base.push(await once())
        attacker.process.stdin?.write('start\n')
        await attacker.waitForStdout((l) => l === `attacking ${b + 1}`, 60_000)
        for (let i = 0; i < BLOCK; i++) attacked.push(await once())
        attacker.process.stdin?.write('stop\n')
        await attacker.waitForStdout((l) => l === `idle ${b + 1}`, 60_000)
      }
      const ok = (xs: number[]) => xs.filter((x) => !Number.isNaN(x))
      samples.add('no-attack', 'ms', ok(base))
      samples.add('attack', 'ms', ok(attacked))
      samples.add('failed-no-attack', 'tasks', base.length - ok(base).length)
      samples.add('failed-attack', 'tasks', attacked.length - ok(attacked).length)
      base.splice(0, Infinity, ...ok(base))
      attacked.splice(0, Infinity, ...ok(attacked))
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      samples.add('ratio-attack', '×', median(attacked) / median(base))
      if (failures.size > 0)
        ctx.log(`run ${r}: honest tasks failed: ${JSON.stringify(Object.fromEntries(failures))}`)
      failures.clear()
      ctx.log(`run ${r}/${ctx.runs}: ${median(base).toFixed(2)} ms → ${median(attacked).toFixed(2)} ms`)
    } finally {
      attacker.kill()
      await requester.stop()
      await provider.stop()
    }
  }
  return {
    results: [...samples.values()],
    comparisons: [
      { name: 'honest task under attack vs without', numerator: 'attack', denominator: 'no-attack' },
    ],
  }
}

/** The task's round trip (ms), or NaN when it failed (counted, not thrown: a lost task is a finding). */
/** why honest tasks failed in the current run, by error code */
const failures = new Map<string, number>()
async function task(requester: KithNode, provider: KithNode): Promise<number> {
  const started = performance.now()
  const result = await requester.execution.delegate({
    target: { capability: 'echo' },
    provider: provider.host.peerId.toString(),
    input: { x: 1 },
    timeoutMs: 20_000,
  })
  if (!result.ok)
    failures.set(String(result.error?.code), (failures.get(String(result.error?.code)) ?? 0) + 1)
  return result.ok ? performance.now() - started : NaN
}

/**
 * The attacker process: on `start` on stdin it starts every attack and prints `attacking N`; on `stop` it
 * ends them, closing its extra connections and streams, and prints `idle N`.
 */
async function attackerMain(target: string, dir: string): Promise<void> {
  const on = new Set(ATTACKS)
  const { multiaddr } = await import('@multiformats/multiaddr')
  const addr = multiaddr(target)
  const identity = await createIdentity(join(dir, 'attacker.key'))
  const host = await rawHost(identity)
  await host.dial(addr)
  const crowdIds = await Promise.all(
    Array.from({ length: 20 }, (_, i) => createIdentity(join(dir, `crowd-${i}.key`))),
  )
  process.stdout.write('ready\n')
  let round = 0
  let seq = 1
  let stop: (() => Promise<void>) | undefined
  for await (const line of (await import('node:readline')).createInterface({ input: process.stdin })) {
    if (line === 'start' && stop == null) {
      round++
      const abort = new AbortController()
      const { open } = on.has('abandon') ? await abandonStreams(host, addr, 64) : { open: [] }
      const crowd = on.has('crowd') ? await Promise.all(crowdIds.map((id) => rawHost(id))) : []
      await Promise.all(crowd.map((h) => h.dial(addr).catch(() => undefined)))
      const loris = on.has('loris')
        ? slowLoris(host, addr, { streams: 8, everyMs: 100, signal: abort.signal })
        : []
      const flood = (async () => {
        if (!on.has('flood')) return
        for (; !abort.signal.aborted; seq += 500) await floodAnnounces(host, identity, 500, seq)
      })()
      stop = async () => {
        abort.abort()
        for (const s of open) s.abort(new Error('done'))
        await Promise.all([loris, flood, ...crowd.map(async (h) => h.stop())])
      }
      process.stdout.write(`attacking ${round}\n`)
    } else if (line === 'stop' && stop != null) {
      await stop()
      stop = undefined
      process.stdout.write(`idle ${round}\n`)
    }
  }
}

if (process.argv[1] === import.meta.filename && process.argv[2] === 'attacker') {
  await attackerMain(process.argv[3]!, process.argv[4]!)
}
