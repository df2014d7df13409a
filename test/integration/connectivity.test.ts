/** Real libp2p nodes over TCP on 127.0.0.1, built by the composition root from real config files. */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { freePort, tempDir, waitFor, writeText } from '../helpers.ts'

let root: string
let cleanup: () => Promise<void>
const running: KithNode[] = []
const apis = new Map<KithNode, string>()

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-conn-'))
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop().catch(() => {})))
})
afterAll(() => cleanup())

interface NodeDir {
  dir: string
  port: number
}

async function nodeDir(name: string): Promise<NodeDir> {
  const dir = join(root, name)
  const port = await freePort()
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  return { dir, port }
}

async function start(node: NodeDir, bootstrap: string[] = [], name?: string): Promise<KithNode> {
  const yaml = [
    ...(name != null ? [`name: ${name}`] : []),
    'api: 127.0.0.1:0',
    'log: { level: silent }',
    'network:',
    `  listen: [/ip4/127.0.0.1/tcp/${node.port}]`,
    `  bootstrap: [${bootstrap.join(', ')}]`,
    '  dht: off',
    'mqtt: { listen: 127.0.0.1:0 }',
  ].join('\n')
  const config = await loadConfig(await writeText(node.dir, 'kith.yaml', `${yaml}\n`), { env: {} })
  const kith = await createNode(config, silentLogger())
  apis.set(kith, (await kith.start()).api)
  running.push(kith)
  return kith
}

const addrOf = (n: KithNode) => n.host.getMultiaddrs()[0]!.toString()
const peersOf = (n: KithNode) => n.host.getPeers().map(String)

describe('connectivity', () => {
  it('connects three nodes through bootstrap and pings over TCP', async () => {
    const a = await start(await nodeDir('a'))
    const b = await start(await nodeDir('b'), [addrOf(a)], 'kitchen')
    const c = await start(await nodeDir('c'), [addrOf(a)])
    const id = (n: KithNode) => n.host.peerId.toString()
    await waitFor('a to see b and c', () => peersOf(a).includes(id(b)) && peersOf(a).includes(id(c)))
    const rtt = await b.host.services.ping.ping(a.host.peerId)
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(await c.host.services.ping.ping(a.host.peerId)).toBeGreaterThanOrEqual(0)

    const res = await fetch(`${apis.get(a)}/v1/peers`)
    const listed = (
      (await res.json()) as { peers: Array<{ peerId: string; direction: string; name?: string }> }
    ).peers
    expect(listed.map((p) => p.peerId).sort()).toEqual([id(b), id(c)].sort())
    expect(listed.every((p) => p.direction === 'inbound')).toBe(true)
    // b's config names it; identify carried the name; c has none
    expect(listed.find((p) => p.peerId === id(b))?.name).toBe('kitchen')
    expect(listed.find((p) => p.peerId === id(c))).not.toHaveProperty('name')
    await waitFor('a to hold b’s descriptor', () => a.discovery.store.get(id(b)) != null)
    const { descriptors } = (await (await fetch(`${apis.get(a)}/v1/descriptors`)).json()) as {
      descriptors: Array<{ peer: string; name?: string }>
    }
    expect(descriptors.find((d) => d.peer === id(b))?.name).toBe('kitchen')
  })

  it('reconnects after a restart from its persisted peer list, without bootstrap', async () => {
    const aDir = await nodeDir('ra')
    const bDir = await nodeDir('rb')
    const a = await start(aDir)
    let b = await start(bDir, [addrOf(a)])
    const aId = a.host.peerId.toString()
    await waitFor('b to connect to a', () => peersOf(b).includes(aId))
    // identify has run once the peer is in the cache
    await waitFor('b to cache a', () => b.db.prepare('SELECT count(*) AS n FROM peers').get()!.n === 1)
    await b.stop()
    running.splice(running.indexOf(b), 1)
    await waitFor('a to notice b left', () => peersOf(a).length === 0)

    b = await start(bDir)
    expect(b.config.network.bootstrap).toEqual([])
    await waitFor('b to reconnect to a from its cache', () => peersOf(b).includes(aId))
  })
})
