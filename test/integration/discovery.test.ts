/** Five real nodes in one process, over TCP on 127.0.0.1: bodyless gossip, pulls, expiry. */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import type { Capability, NodeState } from '../../src/discovery/descriptor.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'

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

async function startNode(name: string, bootstrap: string[]): Promise<TestNode> {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  const yaml = [
    'api: 127.0.0.1:0',
    'network:',
    '  listen: [/ip4/127.0.0.1/tcp/0]',
    `  bootstrap: [${bootstrap.join(', ')}]`,
    '  dht: off',
    `discovery: { ttl: ${TTL} }`,
  ].join('\n')
  const config = await loadConfig(await writeText(dir, 'kith.yaml', `${yaml}\n`), { env: {} })
  const t: TestNode = {
    node: undefined as unknown as KithNode,
    caps: [cap(`${name}.echo`, `Echo on ${name}`)],
    state: { load: 0.1, memFree: 1e9, queue: 0 },
  }
  t.node = await createNode(config, silentLogger(), {
    local: { state: () => t.state, capabilities: () => t.caps },
  })
  await t.node.start()
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
      expect(ids.sort()).toEqual(['n0.echo', 'n1.echo', 'n2.echo', 'n3.echo', 'n4.echo'])
    }
  })

  it('a capability added on one node becomes visible on all', async () => {
    const n3 = nodes[3]!
    n3.caps = [...n3.caps, cap('n3.lamp', 'Living room lamp', ['light'])]
    const started = Date.now()
    await n3.node.discovery.announcer.announce()
    await waitFor('the new capability everywhere', () =>
      nodes.every(
        (t) =>
          t.node.discovery.store.get(peerOf(n3))?.descriptor.caps.some((c) => c.id === 'n3.lamp') === true,
      ),
    )
    // informative only; BENCHMARKS.md holds the measured propagation figures
    expect(Date.now() - started).toBeGreaterThanOrEqual(0)
  })

  it('a stopped node disappears from every store once its TTL runs out', async () => {
    const gone = nodes.pop()!
    const id = peerOf(gone)
    await gone.node.stop()
    await waitFor(
      'the stopped node to expire everywhere',
      () => nodes.every((t) => t.node.discovery.store.get(id) == null),
      TTL * 4,
    )
    for (const t of nodes) expect(t.node.discovery.store.counters.expired).toBeGreaterThanOrEqual(1)
  })

  it('serves its own and the held descriptors over the HTTP API', async () => {
    const t = nodes[0]!
    const own = (await (await fetch(`${t.node.apiUrl}/v1/descriptor`)).json()) as Record<string, unknown>
    expect(own).toMatchObject({ v: 1, peer: peerOf(t), ttl: TTL, attest: { tpm: false } })
    expect(own.sig).toMatch(/^[\w-]{86}$/)
    expect(own.digest).toMatch(/^[0-9a-f]{64}$/)
    const all = (await (await fetch(`${t.node.apiUrl}/v1/descriptors`)).json()) as {
      descriptors: Array<{ peer: string; caps: unknown[] }>
    }
    expect(all.descriptors.map((d) => d.peer).sort()).toEqual(nodes.map(peerOf).sort())
  })
})
