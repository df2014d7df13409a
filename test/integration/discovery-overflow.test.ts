/**
 * A node that offers more than its descriptors can carry, on real libp2p nodes over TCP on 127.0.0.1: it
 * starts, keeps announcing what fits (the v2 summary, the fitted v1 copy), counts and logs what was left
 * out, and a body the wire refuses to sign leaves the last one signed in place instead of ending the node.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Capability, MAX_DESCRIPTOR_CAPS, type NodeState } from '../../src/discovery/descriptor.ts'
import { MAX_PAGES } from '../../src/discovery/catalog-page.ts'
import type { LocalState } from '../../src/discovery/local-state.ts'
import type { KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

let root: string
let cleanup: () => Promise<void>
const stops: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-overflow-'))
})
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined)
  await cleanup()
})

const STATE: NodeState = { load: 0.1, memFree: 1e9, queue: 0 }

const cap = (id: string, kind: Capability['kind'], description = ''): Capability => ({
  id,
  title: id,
  description,
  tags: ['overflow'],
  kind,
  risk: 'low',
  input: { type: 'object' },
  output: { type: 'object' },
})

/** A node's state and capabilities as a test sets them; `set` asks for an announce as a reload would. */
function localState(initial: Capability[]): LocalState & { set(caps: Capability[]): void } {
  let caps = initial
  let notify: (() => void) | undefined
  return {
    state: () => STATE,
    capabilities: () => caps,
    watch(onChange) {
      notify = onChange
      return () => {
        notify = undefined
      }
    },
    set(next) {
      caps = next
      notify?.()
    },
  }
}

async function start(
  name: string,
  local?: LocalState,
  bootstrap?: KithNode,
  yaml = ['discovery: { ttl: 6000 }'],
) {
  const node = await startTestNode(join(root, name), {
    yaml,
    ...(local != null ? { local } : {}),
    ...(bootstrap != null ? { bootstrap: [bootstrap.host.getMultiaddrs()[0]!.toString()] } : {}),
  })
  stops.push(() => node.stop())
  return node
}

const peerOf = (n: KithNode) => n.host.peerId.toString()

describe('a node offering more than its descriptors carry', () => {
  it('starts with more script capabilities than a v1 descriptor holds, and announces them all in v2', async () => {
    const many = Array.from({ length: 100 }, (_, i) => cap(`script-${i}`, 'script'))
    const hub = await start('many', localState(many))
    const viewer = await start('viewer-many', undefined, hub)
    await waitFor(
      'the viewer to hold every capability',
      () => (viewer.discovery.store.get(peerOf(hub))?.descriptor.caps.length ?? 0) === 100,
      30_000,
    )
    // the v1 copy offered to v1-only peers carries what fits and counts the rest
    const legacy = hub.discovery.legacy?.current()
    expect(legacy?.descriptor.caps).toHaveLength(MAX_DESCRIPTOR_CAPS)
    expect(hub.discovery.legacy?.counters).toMatchObject({
      capabilitiesLeft: 100 - MAX_DESCRIPTOR_CAPS,
      signRefused: 0,
    })
    expect(hub.discovery.announcer.counters).toMatchObject({ capabilitiesLeft: 0, signRefused: 0 })
  })

  it('counts what is beyond 64 catalog pages and announces the rest', async () => {
    // about seven of these fill a 16 KiB page: 600 need more than 64 pages
    const big = Array.from({ length: 600 }, (_, i) => cap(`dev-${i}.set`, 'device', 'd'.repeat(2000)))
    const hub = await start('pages', localState(big))
    const viewer = await start('viewer-pages', undefined, hub)
    const left = hub.discovery.announcer.counters.capabilitiesLeft
    expect(left).toBeGreaterThan(0)
    expect(hub.discovery.announcer.current()?.pages).toHaveLength(MAX_PAGES)
    await waitFor(
      'the viewer to hold every capability that fits',
      () => (viewer.discovery.store.get(peerOf(hub))?.descriptor.caps.length ?? 0) === 600 - left,
      30_000,
    )
  })

  it('keeps announcing its last body when a change cannot be signed, and signs again once it can', async () => {
    const local = localState([cap('first', 'script')])
    const hub = await start('refused', local, undefined, ['discovery: { ttl: 6000, version: 1 }'])
    const viewer = await start('viewer-refused', undefined, hub, ['discovery: { ttl: 6000, version: 1 }'])
    await waitFor('the first body', () => viewer.discovery.store.get(peerOf(hub)) !== undefined, 30_000)
    const seq = hub.discovery.announcer.current()?.descriptor.seq
    // a title of nothing breaks the descriptor's schema: no fitting makes this body signable
    local.set([{ ...cap('first', 'script'), title: '' }])
    await waitFor('the refusal', () => hub.discovery.announcer.counters.signRefused === 1)
    const announced = hub.discovery.announcer.counters.announced
    await waitFor(
      'a heartbeat of the last body',
      () => hub.discovery.announcer.counters.announced > announced,
    )
    expect(hub.discovery.announcer.current()?.descriptor.seq).toBe(seq)
    expect(hub.discovery.announcer.counters.signRefused).toBe(1)
    local.set([cap('second', 'script')])
    await waitFor(
      'the viewer to see the next body',
      () => viewer.discovery.store.get(peerOf(hub))?.descriptor.caps[0]?.id === 'second',
      30_000,
    )
  })
})
