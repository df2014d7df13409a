/**
 * Reputation across five real nodes over TCP on 127.0.0.1: delegation outcomes become local records, opinions
 * travel over gossipsub (`kith/trust/1`), and a node that never used a provider trusts it because the
 * household's nodes vouch for it, while an equal provider nobody vouches for stays at the newcomer prior.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Capability, NodeState } from '../../src/discovery/descriptor.ts'
import { type KithNode } from '../../src/node/node.ts'
import { REPUTATION_DEFAULTS } from '../../src/trust/reputation/index.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

const TOPIC = 'script.compute'
const FAST = 'reputation: { opinionInterval: 1000, recomputeInterval: 1000 }'

const cap = (id: string): Capability => ({
  id,
  title: 'Echo',
  description: 'Answers with its input',
  tags: ['echo'],
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
})

let root: string
let cleanup: () => Promise<void>
const nodes = new Map<string, KithNode>()
const node = (name: string) => nodes.get(name)!
const peer = (name: string) => node(name).host.peerId.toString()

async function start(name: string, opts: { caps?: string[]; bootstrap?: string; trust?: string } = {}) {
  const state: NodeState = { load: 0.1, memFree: 1e9, queue: 0 }
  const caps = (opts.caps ?? []).map(cap)
  const n = await startTestNode(join(root, name), {
    ...(opts.bootstrap != null ? { bootstrap: [opts.bootstrap] } : {}),
    yaml: [`trust: { ${opts.trust ?? ''}${opts.trust != null ? ', ' : ''}${FAST} }`],
    local: { state: () => state, capabilities: () => caps },
  })
  for (const capability of caps) n.execution.registry.register({ capability, run: async (input) => input })
  nodes.set(name, n)
  return n
}

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-rep-'))
  const hub = (await start('a')).host.getMultiaddrs()[0]!.toString()
  await start('b', { bootstrap: hub })
  await start('x', { caps: ['x.echo'], bootstrap: hub })
  await start('y', { caps: ['y.echo'], bootstrap: hub })
  await start('c', { bootstrap: hub, trust: `pretrusted: [${peer('a')}, ${peer('b')}]` })
  // delegation dials the provider: b and c know x and y only through the hub until they connect
  for (const from of ['b', 'c'])
    for (const to of ['x', 'y']) await node(from).host.dial(node(to).host.getMultiaddrs()[0]!)
  await waitFor('every node to hold every descriptor', () =>
    [...nodes.values()].every((n) => n.discovery.store.size === nodes.size),
  )
})

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop().catch(() => {})))
  await cleanup()
})

describe('reputation between real nodes', () => {
  it('records delegation outcomes against the provider, on the capability’s topic', async () => {
    for (const name of ['a', 'b']) {
      for (let i = 0; i < 3; i++) {
        const result = await node(name).execution.delegate({
          target: { capability: 'x.echo' },
          input: { i },
          timeoutMs: 5_000,
        })
        expect(result).toMatchObject({ ok: true, provider: peer('x'), output: { i } })
      }
      const [explained] = node(name).reputation.explain(peer('x')).topics
      expect(explained).toMatchObject({ topic: TOPIC })
      expect(explained!.counts!.success.count).toBe(3)
    }
  })

  it('lets a third node trust a provider the household vouches for, and no other', async () => {
    const c = node('c').reputation
    // an opinion published after the first success says 1 / (1 + 2); wait for the one after all three
    await waitFor('the opinions of a and b about x, after their three successes, to reach c', () =>
      ['a', 'b'].every(
        (from) => Math.abs((c.book.opinionOf(peer(from), TOPIC, peer('x')) ?? 0) - 3 / 5) < 1e-3,
      ),
    )
    c.recompute()
    expect(c.trust(peer('x'), TOPIC)).toBeGreaterThan(0.5)
    // c never used x: all it knows is what a and b said
    const onTopic = c.explain(peer('x')).topics.find((t) => t.topic === TOPIC)!
    expect(onTopic.counts).toBeUndefined()
    expect(onTopic.global).toBeGreaterThan(0)
    // three successes (decayed by the seconds since), confidence 2: 3 / (3 + 2)
    expect(c.book.opinionOf(peer('a'), TOPIC, peer('x'))).toBeCloseTo(3 / 5, 5)
    expect(c.book.opinionOf(peer('b'), TOPIC, peer('x'))).toBeCloseTo(3 / 5, 5)
    // y offers the same, and nobody vouches for it
    expect(c.trust(peer('y'), TOPIC)).toBe(REPUTATION_DEFAULTS.newcomer)
    // nor does the trust carry over to another topic
    expect(c.trust(peer('x'), 'device.access.high')).toBe(REPUTATION_DEFAULTS.newcomer)
  })

  it('ranks the vouched provider first in the third node’s matcher and delegation', async () => {
    const c = node('c')
    const [first, second] = c.discovery.index.query({ text: 'echo' })
    expect(first!.peer).toBe(peer('x'))
    expect(second!.peer).toBe(peer('y'))
    expect(first!.parts.trust).toBeGreaterThan(second!.parts.trust)
    const result = await c.execution.delegate({
      target: { intent: { text: 'echo' } },
      input: 1,
      timeoutMs: 5_000,
    })
    expect(result).toMatchObject({ ok: true, provider: peer('x') })
  })

  it('counts the opinions it took and refused', () => {
    const counters = node('c').reputation.counters.opinions
    expect(counters.accepted).toBeGreaterThanOrEqual(2)
    expect(counters.held).toBeGreaterThanOrEqual(2)
    expect(node('a').reputation.counters.opinions.published).toBeGreaterThan(0)
    expect(Object.values(counters.rejected).reduce((s, n) => s + n, 0)).toBe(0)
  })
})
