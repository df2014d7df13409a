/**
 * Resource attacks by hostile peers on real libp2p over TCP, against a real node that an honest requester
 * keeps delegating to throughout: a flood of valid announces (each a new signed version, so nothing is a
 * duplicate), slow-loris task streams, abandoned task streams, and more connections than the node takes.
 * Each is bounded by a limit that shows in a counter, and the honest tasks keep succeeding. (Forged,
 * replayed, stale and oversize messages are in discovery-adversarial.test.ts and task-protocol.test.ts;
 * wrong answers and fake evidence in trust.test.ts; Sybil swarms in the simulator, docs/simulation.md.)
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KithLibp2p } from '../../src/connectivity/host.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { TaskServer } from '../../src/execution/task-server.ts'
import { INTAKE_DEFAULTS } from '../../src/discovery/intake.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import type { KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { abandonStreams, echo, floodAnnounces, rawHost, slowLoris } from '../attackers.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

const MAX_CONNECTIONS = 12

let root: string
let cleanup: () => Promise<void>
let victim: KithNode
let honest: KithNode
const attackers: KithLibp2p[] = []

async function attacker(
  name: string,
): Promise<{ host: KithLibp2p; identity: Awaited<ReturnType<typeof createIdentity>> }> {
  const identity = await createIdentity(join(root, `${name}.key`))
  const host = await rawHost(identity)
  attackers.push(host)
  return { host, identity }
}

/** An honest task from the requester to the victim; resolves with its outcome. */
async function honestTask(): Promise<{ ok: boolean; status: string; error?: { code: string } }> {
  return honest.execution.delegate({
    target: { capability: 'echo' },
    provider: victim.host.peerId.toString(),
    input: { x: 1 },
    timeoutMs: 20_000,
  })
}

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-attacks-'))
  victim = await startTestNode(join(root, 'victim'), {
    network: { maxConnections: MAX_CONNECTIONS, maxIncomingPendingConnections: 4 },
    local: { state: () => ({ load: 0, memFree: 1e9, queue: 0 }), capabilities: () => [echo] },
  })
  victim.execution.registry.register({ capability: echo, run: async (input) => input })
  honest = await startTestNode(join(root, 'honest'), {
    bootstrap: [victim.host.getMultiaddrs()[0]!.toString()],
    local: { state: () => ({ load: 0, memFree: 1e9, queue: 0 }), capabilities: () => [] },
  })
  await waitFor(
    'the requester to know the victim',
    () => honest.discovery.store.get(victim.host.peerId.toString()) != null,
  )
  expect(await honestTask()).toMatchObject({ ok: true })
}, 120_000)

afterAll(async () => {
  await Promise.all(attackers.map(async (a) => a.stop()))
  await honest?.stop()
  await victim?.stop()
  await cleanup?.()
})

describe('resource attacks on a node', () => {
  it('checks a flood of valid announces within the sender’s verification budget', async () => {
    const { host, identity } = await attacker('flooder')
    await host.dial(victim.host.getMultiaddrs()[0]!)
    // the flood is of v1 notices: the v1 announcer of this v2 node takes them
    const intake = () => (victim.discovery.legacy ?? victim.discovery.announcer).intake.counters
    const before = { ...intake() }
    const started = performance.now()
    const flood = floodAnnounces(host, identity, 3_000)
    // 20 honest tasks, at most 4 at once: the victim's per-peer limit (execution.perPeer.maxConcurrent)
    // answers `busy` beyond it, attack or not
    const during: Array<Awaited<ReturnType<typeof honestTask>>> = []
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (during.length < 20) {
          const slot = during.length
          during.push({ ok: false, status: 'pending' })
          during[slot] = await honestTask()
        }
      }),
    )
    await flood
    const seconds = (performance.now() - started) / 1000
    await waitFor(
      'the flood to be taken in',
      () => intake().verified + intake().limited > before.verified + before.limited + 10,
    )
    // no honest task is lost to the flood: each one answered ok (a loss would show its status and error here)
    const failed = during.filter((r) => !r.ok).map((r) => ({ status: r.status, error: r.error }))
    expect(failed).toEqual([])
    // a burst, then a steady rate (INTAKE_DEFAULTS): whatever the flood's size
    const { verifyBurst, verifyRatePerSec } = INTAKE_DEFAULTS
    const verified = intake().verified - before.verified
    expect(verified).toBeLessThanOrEqual(verifyBurst + Math.ceil(verifyRatePerSec * (seconds + 5)) + 20)
    expect(await honestTask()).toMatchObject({ ok: true })
  })

  it('refuses task streams past the per-connection limit, and serves the honest peer meanwhile', async () => {
    const { host } = await attacker('hoarder')
    const { open, refused } = await abandonStreams(host, victim.host.peerId, 80)
    try {
      // 8 per connection (TaskServer maxStreams; a requester multiplexes over one); the rest are refused
      expect(open.length).toBeLessThanOrEqual(8)
      expect(refused).toBeGreaterThanOrEqual(72)
      expect(await honestTask()).toMatchObject({ ok: true })
    } finally {
      for (const s of open) s.abort(new Error('done'))
    }
  })

  it('keeps no more connections than network.maxConnections, and the honest peer keeps its own', async () => {
    const crowd = await Promise.all(Array.from({ length: 30 }, (_, i) => attacker(`crowd-${i}`)))
    await Promise.all(
      crowd.map(async ({ host }) => {
        try {
          await host.dial(victim.host.getMultiaddrs()[0]!)
        } catch {
          // refused at the limit: what this test is about
        }
      }),
    )
    await waitFor(
      'the victim to settle at its limit',
      () => victim.host.getConnections().length <= MAX_CONNECTIONS,
    )
    expect(victim.host.getConnections().length).toBeLessThanOrEqual(MAX_CONNECTIONS)
    expect(await honestTask()).toMatchObject({ ok: true })
    await Promise.all(crowd.map(({ host }) => host.stop()))
  })
})

describe('slow-loris task streams', () => {
  it('holds no more task streams over all connections than its total limit', async () => {
    const provider = await attacker('capped')
    const server = new TaskServer(
      provider.host,
      async (req) => ({ status: 'ok', output: req.input }),
      createVerifier(),
      silentLogger(),
      { maxTotalStreams: 6 },
    )
    await server.start()
    try {
      const crowd = await Promise.all([attacker('holder-1'), attacker('holder-2')])
      const held = await Promise.all(
        crowd.map(({ host }) => abandonStreams(host, provider.host.getMultiaddrs()[0]!, 5)),
      )
      await waitFor(
        'the server to refuse the streams past 6',
        () => server.counters.rejected.too_many_streams === 4,
      )
      expect(server.counters.streams).toBe(6)
      for (const { open } of held) for (const s of open) s.abort(new Error('done'))
    } finally {
      await server.stop()
    }
  })

  it('cuts a stream that trickles a frame at the idle timeout, and serves a full request meanwhile', async () => {
    const provider = await attacker('provider')
    const server = new TaskServer(
      provider.host,
      async (req) => ({ status: 'ok', output: req.input }),
      createVerifier(),
      silentLogger(),
      {
        idleTimeoutMs: 1_000,
      },
    )
    await server.start()
    const { host } = await attacker('loris')
    try {
      // 4 KiB at one byte per 100 ms would take 7 minutes; the idle timeout (1 s here, 60 s in a node) ends it
      const lasted = await slowLoris(host, provider.host.getMultiaddrs()[0]!, {
        streams: 8,
        frameBytes: 4096,
        everyMs: 100,
      })
      expect(lasted.every((ms) => ms > 900 && ms < 30_000)).toBe(true)
    } finally {
      await server.stop()
    }
  })
})
