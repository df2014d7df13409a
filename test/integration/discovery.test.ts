/** Five real nodes in one process, over TCP on 127.0.0.1: bodyless gossip, pulls, gating, expiry. */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CapabilityConfig } from '../../src/config/index.ts'
import type { Capability, NodeState } from '../../src/discovery/descriptor.ts'
import { type Reading, StateSampler } from '../../src/discovery/sampler.ts'
import { type LocalState, SampledLocalState } from '../../src/discovery/local-state.ts'
import { type KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

interface TestNode {
  node: KithNode
  caps: Capability[]
  state: NodeState
}

let root: string
let cleanup: () => Promise<void>
const nodes: TestNode[] = []
const TTL = 3_000

const cap = (id: string, title: string, tags: string[] = []): Capability => ({
  id,
  title,
  description: title,
  tags,
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
})

const configCap = (id: string, title: string, extra: Partial<CapabilityConfig> = {}): CapabilityConfig => ({
  ...cap(id, title),
  kind: 'script',
  script: '/dev/null',
  deterministic: false,
  sensors: [],
  ...extra,
})

/** A battery the test can drain; node n2 reads it through the real sampler and capability gate. */
const battery = {
  reading: { battery: 80, charging: false, load: 0.1, memFree: 1e9 } as Reading,
  read: async () => ({ ...battery.reading }),
}
const n2Sampler = new StateSampler(battery, { queue: () => 0, intervalMs: 60_000 })

async function startNode(name: string, bootstrap: string[]): Promise<TestNode> {
  const t = {
    caps: [cap(`${name}.echo`, `Echo on ${name}`)],
    state: { load: 0.1, memFree: 1e9, queue: 0 },
  } as TestNode
  const local: LocalState =
    name === 'n2'
      ? new SampledLocalState(n2Sampler, [
          configCap('n2.echo', 'Echo on n2'),
          configCap('n2.transcode', 'Transcode video', { minBattery: 30 }),
          configCap('n2.temperature', 'Hall temperature'),
        ])
      : { state: () => t.state, capabilities: () => t.caps }
  t.node = await startTestNode(join(root, name), { bootstrap, yaml: [`discovery: { ttl: ${TTL} }`], local })
  nodes.push(t)
  return t
}

const peerOf = (t: TestNode) => t.node.host.peerId.toString()

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-disc-'))
  const hub = await startNode('n0', [])
  const addr = hub.node.host.getMultiaddrs()[0]!.toString()
  for (let i = 1; i < 5; i++) await startNode(`n${i}`, [addr])
})

afterAll(async () => {
  await Promise.all(nodes.map((t) => t.node.stop().catch(() => {})))
  await cleanup()
})

describe('discovery across five nodes', () => {
  it('every node comes to hold every descriptor, pulled hop by hop through the hub', async () => {
    await waitFor('all descriptors everywhere', () => nodes.every((t) => t.node.discovery.store.size === 5))
    for (const t of nodes) {
      const ids = [...t.node.discovery.store.live()].flatMap((e) => e.descriptor.caps.map((c) => c.id))
      expect(ids).toEqual(expect.arrayContaining(['n0.echo', 'n1.echo', 'n2.echo', 'n3.echo', 'n4.echo']))
    }
  })

  it('a capability added on one node becomes visible on all', async () => {
    const n3 = nodes[3]!
    n3.caps = [...n3.caps, cap('n3.lamp', 'Living room lamp', ['light'])]
    await n3.node.discovery.announcer.announce()
    await waitFor('the new capability everywhere', () =>
      nodes.every(
        (t) =>
          t.node.discovery.store.get(peerOf(n3))?.descriptor.caps.some((c) => c.id === 'n3.lamp') === true,
      ),
    )
  })

  it('refreshes an unchanged descriptor with heartbeats: it stays live past its TTL without a new signature', async () => {
    const n1 = nodes[1]!
    const seqAt = (t: TestNode) => t.node.discovery.store.get(peerOf(n1))?.descriptor.seq
    const before = seqAt(nodes[0]!)
    const beats = n1.node.discovery.announcer.counters.heartbeats
    const since = Date.now()
    // every node holds it at every look until a full ttl (and a margin) has passed and heartbeats went out
    const lost: string[] = []
    await waitFor(
      'a ttl to pass with heartbeats',
      () => {
        for (const t of nodes) if (t.node.discovery.store.get(peerOf(n1)) == null) lost.push(peerOf(t))
        return Date.now() - since > TTL + 1_000 && n1.node.discovery.announcer.counters.heartbeats > beats
      },
      TTL * 4,
    )
    expect(lost).toEqual([])
    expect(seqAt(nodes[0]!)).toBe(before)
  })

  it('a state-only change reaches every other node in a notice: no new body, no pull, no signature check', async () => {
    const n4 = nodes[4]!
    const others = nodes.filter((t) => t !== n4)
    const heldBy = (t: TestNode) => t.node.discovery.store.get(peerOf(n4))
    await waitFor('n4 everywhere', () => others.every((t) => heldBy(t) != null))
    const seq = heldBy(others[0]!)?.descriptor.seq
    const sum = (pick: (t: TestNode) => number) => others.reduce((acc, t) => acc + pick(t), 0)
    const pulls = () => sum((t) => t.node.discovery.announcer.counters.pulls)
    const verified = () => sum((t) => t.node.discovery.announcer.intake.counters.verified)
    const [pullsBefore, verifiedBefore] = [pulls(), verified()]
    const availabilityAt = (t: TestNode) =>
      t.node.discovery.index.query({ text: 'echo on n4' }).find((m) => m.peer === peerOf(n4))?.parts
        .availability
    const idle = availabilityAt(others[0]!)!

    n4.state = { load: 0.97, memFree: 5e8, queue: 6 }
    await n4.node.discovery.announcer.announce()
    await waitFor('the new state everywhere', () =>
      others.every((t) => heldBy(t)?.descriptor.state.queue === 6),
    )

    for (const t of others) expect(heldBy(t)?.descriptor.seq).toBe(seq)
    expect(pulls()).toBe(pullsBefore)
    expect(verified()).toBe(verifiedBefore)
    // what the ranking and the API read follows the new state
    expect(availabilityAt(others[0]!)).toBeLessThan(idle)
    const all = (await (await fetch(`${others[0]!.node.apiUrl}/v1/descriptors`)).json()) as {
      descriptors: Array<{ peer: string; state: unknown }>
    }
    expect(all.descriptors.find((d) => d.peer === peerOf(n4))?.state).toEqual(n4.state)
  })

  it('a battery drop withdraws a heavy capability everywhere and keeps the sensor', async () => {
    const n2 = nodes[2]!
    const capsOf = (t: TestNode) =>
      t.node.discovery.store.get(peerOf(n2))?.descriptor.caps.map((c) => c.id) ?? []
    await waitFor('the heavy capability everywhere', () =>
      nodes.every((t) => capsOf(t).includes('n2.transcode')),
    )
    battery.reading = { ...battery.reading, battery: 15 }
    await n2Sampler.sampleNow()
    await waitFor('the heavy capability withdrawn everywhere', () =>
      nodes.every((t) => !capsOf(t).includes('n2.transcode') && capsOf(t).includes('n2.temperature')),
    )
    expect(nodes[0]!.node.discovery.store.get(peerOf(n2))?.descriptor.state).toMatchObject({
      battery: 15,
      charging: false,
    })
  })

  it('serves its own and the held descriptors over the HTTP API', async () => {
    const t = nodes[0]!
    const own = (await (await fetch(`${t.node.apiUrl}/v1/descriptor`)).json()) as Record<string, unknown>
    // descriptor v2: the signed summary, its catalog, and every capability its pages hold
    expect(own).toMatchObject({
      v: 2,
      peer: peerOf(t),
      ttl: TTL,
      attest: { tpm: false },
      catalog: { count: 1, pages: [{ count: 1 }] },
      caps: [{ id: 'n0.echo' }],
    })
    expect((own.catalog as { pages: Array<{ digest: string }> }).pages[0]?.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(own.sig).toMatch(/^[\w-]{86}$/)
    expect(own.digest).toMatch(/^[0-9a-f]{64}$/)
    const all = (await (await fetch(`${t.node.apiUrl}/v1/descriptors`)).json()) as {
      descriptors: Array<{ peer: string }>
    }
    expect(all.descriptors.map((d) => d.peer).sort()).toEqual(nodes.map(peerOf).sort())
  })

  it('a stopped node disappears from every store once its TTL runs out', async () => {
    const gone = nodes.pop()!
    const id = peerOf(gone)
    await gone.node.stop()
    // get() hides an entry the moment it expires; the sweep that drops it (and counts it) runs a little later
    await waitFor(
      'the stopped node to expire everywhere',
      () =>
        nodes.every(
          (t) => t.node.discovery.store.get(id) == null && t.node.discovery.store.counters.expired >= 1,
        ),
      TTL * 4,
    )
    for (const t of nodes)
      expect([...t.node.discovery.store.live()].some((e) => e.descriptor.peer === id)).toBe(false)
  })
})
