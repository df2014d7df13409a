/**
 * Descriptor v2 on real parts: a hub with 100 virtual smart plugs (400 capabilities) announced through Home
 * Assistant discovery on its embedded broker, seen in full from a second node over TCP on 127.0.0.1 and
 * driven from there; a page request nobody announced; and a node that speaks only v1 beside v2 nodes.
 */
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startVirtualDevice, type VirtualDevice } from '../../firmware-bridge/virtual-device.ts'
import { pullCatalog } from '../../src/discovery/catalog-exchange.ts'
import type { Capability } from '../../src/discovery/descriptor.ts'
import type { KithNode } from '../../src/node/node.ts'
import { apiJson, tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { sha256 } from '../../src/util/canonical.ts'

const DEVICES = 100
/** a Home Assistant discovered plug: its switch, the switch's state, power and energy */
const CAPS_PER_PLUG = 4
let root: string
let cleanup: () => Promise<void>
const stops: Array<() => Promise<unknown>> = []
let hub: KithNode
let viewer: KithNode
const plugs: VirtualDevice[] = []

const peerOf = (n: KithNode) => n.host.peerId.toString()
const capsSeen = (by: KithNode, of: KithNode): Capability[] =>
  by.discovery.store.get(peerOf(of))?.descriptor.caps ?? []
const deviceCaps = (n: KithNode) => n.devices.bridge.capabilities()

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-catalog-'))
  hub = await startTestNode(join(root, 'hub'), {
    yaml: ['mqtt: { listen: 127.0.0.1:0, discovery: { maxDevices: 500 } }', 'discovery: { ttl: 15000 }'],
  })
  stops.push(() => hub.stop())
  const url = hub.devices.brokerUrl() as string
  for (let i = 0; i < DEVICES; i++) {
    const id = `plug_${String(i).padStart(3, '0')}`
    plugs.push(await startVirtualDevice({ url, kind: 'plug', id, readingIntervalMs: 0 }))
  }
  stops.push(() => Promise.all(plugs.map((p) => p.stop())))
  await waitFor(
    'the hub to import every plug',
    () => deviceCaps(hub).length >= DEVICES * CAPS_PER_PLUG,
    60_000,
  )
  viewer = await startTestNode(join(root, 'viewer'), {
    bootstrap: [hub.host.getMultiaddrs()[0]!.toString()],
    yaml: ['discovery: { ttl: 15000 }'],
  })
  stops.push(() => viewer.stop())
}, 120_000)

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined)
  await cleanup()
})

describe('a hub of 100 devices across the network (descriptor v2)', () => {
  it('is seen in full by another node: every capability in its store, its index and its API', async () => {
    const all = deviceCaps(hub).map((c) => c.id)
    expect(all.length).toBe(DEVICES * CAPS_PER_PLUG)
    await waitFor(
      'all 400 capabilities on the viewer',
      () => {
        const seen = new Set(capsSeen(viewer, hub).map((c) => c.id))
        return all.every((id) => seen.has(id))
      },
      30_000,
    )
    // two v2 nodes: the v1 copy is signed but never gossiped
    expect(hub.discovery.legacy?.counters.announced).toBe(0)
    const own = hub.discovery.announcer.current()!
    expect(own.descriptor.v).toBe(2)
    expect(own.left ?? []).toEqual([])
    expect(own.pages!.length).toBeGreaterThan(1)
    // GET /v1/descriptor: the summary with its catalog, and every capability
    const summary = await apiJson<{ caps: unknown[]; catalog: { count: number; pages: unknown[] } }>(
      hub.apiUrl,
      '/v1/descriptor',
    )
    expect(summary.caps.length).toBe(summary.catalog.count)
    expect(summary.catalog.count).toBe(DEVICES * CAPS_PER_PLUG)
    // GET /v1/descriptors on the viewer lists the hub with every capability
    const held = await apiJson<{ descriptors: Array<{ peer: string; caps: unknown[] }> }>(
      viewer.apiUrl,
      '/v1/descriptors',
    )
    expect(held.descriptors.find((d) => d.peer === peerOf(hub))?.caps.length).toBe(summary.catalog.count)
  })

  it('finds and runs the last device imported from the other node', async () => {
    const last = plugs.at(-1)!
    const action = deviceCaps(hub)
      .filter((c) => c.kind === 'device' && c.id.includes(last.id))
      .at(-1)
    expect(action).toBeDefined()
    const found = await apiJson<{ matches: Array<{ peer: string; capability: { id: string } }> }>(
      viewer.apiUrl,
      `/v1/capabilities?q=${encodeURIComponent(action!.title)}&limit=50`,
    )
    expect(found.matches.some((m) => m.capability.id === action!.id && m.peer === peerOf(hub))).toBe(true)
    const task = await apiJson<{ status: string; provider?: string }>(viewer.apiUrl, '/v1/tasks', {
      capability: action!.id,
      // the switch of a Home Assistant discovered plug takes `{on}` (src/devices/homeassistant-parts.ts)
      input: { on: true },
    })
    expect(task, JSON.stringify(task)).toMatchObject({ status: 'ok', provider: peerOf(hub) })
    await waitFor('the plug to switch on', () => last.state.state === 'ON')
  })

  it('lists a tool for every capability of the hub to an agent on the other node (MCP)', async () => {
    const client = new Client({ name: 'catalog-test', version: '1' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${viewer.apiUrl}/mcp`)))
    try {
      const { tools } = await client.listTools()
      const described = tools.map((t) => `${t.name} ${t.title ?? ''} ${t.description ?? ''}`).join('\n')
      // one tool per remote capability, the last plug's included
      expect(tools.length).toBeGreaterThanOrEqual(DEVICES * CAPS_PER_PLUG)
      expect(described).toContain(`Virtual smart plug ${plugs.at(-1)!.id}`)
    } finally {
      await client.close()
    }
  })

  it('answers a page request for a digest nobody announced with nothing, and counts it', async () => {
    const stats = () =>
      apiJson<{ pages: { pagesUnknown: number } }>(hub.apiUrl, '/v1/discovery/stats').then((s) => s.pages)
    const before = (await stats()).pagesUnknown
    const [answer] = await pullCatalog(viewer.host, hub.host.peerId, {
      pages: [sha256(Uint8Array.of(1, 2, 3))],
    })
    expect(answer).toBeUndefined()
    expect((await stats()).pagesUnknown).toBe(before + 1)
  })
})

describe('mixed versions', () => {
  it('a node that speaks only v1 sees v2 nodes (what a v1 descriptor carries) and is seen by them', async () => {
    const old = await startTestNode(join(root, 'old'), {
      bootstrap: [hub.host.getMultiaddrs()[0]!.toString()],
      yaml: [
        'discovery: { ttl: 15000, version: 1 }',
        'capabilities:',
        '  - { id: old.echo, kind: script, title: Echo on the old node, script: /dev/null }',
      ],
    })
    stops.push(() => old.stop())
    // the hub notices a v1-only peer and gossips its fitted v1 copy for it
    await waitFor('the hub in the old node', () => capsSeen(old, hub).length > 0, 30_000)
    const copy = old.discovery.store.get(peerOf(hub))!
    expect(copy.descriptor.v).toBe(1)
    expect(copy.descriptor.caps.length).toBeLessThan(DEVICES * CAPS_PER_PLUG)
    // the old node may have pulled the copy when it joined; the copy's notices go out while it stays connected
    // (on a loaded machine gossipsub may take a few refreshes to put the old node in the topic's mesh)
    await waitFor(
      'the hub gossips its v1 copy',
      () => (hub.discovery.legacy?.counters.announced ?? 0) > 0,
      60_000,
    )
    // both v2 nodes hold the old node's v1 descriptor in the same store and index
    for (const n of [hub, viewer])
      await waitFor(
        'the old node in a v2 store',
        () => capsSeen(n, old).some((c) => c.id === 'old.echo'),
        30_000,
      )
    expect(viewer.discovery.store.get(peerOf(old))?.descriptor.v).toBe(1)
    const found = await apiJson<{ matches: Array<{ peer: string }> }>(
      viewer.apiUrl,
      '/v1/capabilities?q=echo',
    )
    expect(found.matches.some((m) => m.peer === peerOf(old))).toBe(true)
    // and the v2 node keeps seeing the hub's full catalog, not the v1 copy
    expect(viewer.discovery.store.get(peerOf(hub))?.descriptor.v).toBe(2)
    expect(capsSeen(viewer, hub).length).toBe(DEVICES * CAPS_PER_PLUG)
  }, 180_000)
})
