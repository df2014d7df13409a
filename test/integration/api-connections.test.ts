/**
 * The API's connection limits (issue 23) on a real node: idle TCP sockets that never send a byte used to
 * fill `api.maxConnections` and lock out every client, the dashboard and agents included, until Node's
 * headers timeout swept them 10–40 s later. Other hosts are played by other loopback source addresses
 * (127.0.0.2…); this machine's own clients come from 127.0.0.1. The first-byte bound is short here so the
 * test can watch the server close the sockets; the waits are generous but below Node's own 10 s sweep, the
 * behaviour the fix replaces.
 */
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { localReserve } from '../../src/api/connection-guard.ts'
import { loadConfig } from '../../src/config/index.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'
import { openIdle, openIdleFrom, type IdleSocket } from '../idle-sockets.ts'

const MAX_CONNECTIONS = 64
const PER_ADDRESS = 16
const FIRST_BYTE_MS = 3_000
/** below Node's headers timeout (10 s), which closed idle sockets before the fix */
const CLOSED_WITHIN_MS = 8_000

let cleanup: () => Promise<void>
let node: KithNode
let base: string
let port: number
const idle: IdleSocket[] = []

beforeAll(async () => {
  let dir: string
  ;({ dir, cleanup } = await tempDir('kith-api-conn-'))
  await createIdentity(join(dir, 'identity.key'))
  const yaml = [
    'api:',
    '  listen: 127.0.0.1:0',
    `  maxConnections: ${MAX_CONNECTIONS}`,
    `  maxConnectionsPerAddress: ${PER_ADDRESS}`,
    `  firstByteTimeoutMs: ${FIRST_BYTE_MS}`,
    'network: { listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: off }',
    'mqtt: { listen: 127.0.0.1:0 }',
  ]
  const config = await loadConfig(await writeText(dir, 'kith.yaml', `${yaml.join('\n')}\n`), { env: {} })
  node = await createNode(config, silentLogger())
  await node.start()
  base = node.apiUrl
  port = Number(new URL(base).port)
})

afterEach(() => {
  for (const s of idle.splice(0)) s.socket.destroy()
})

afterAll(async () => {
  await node?.stop()
  await cleanup()
})

const closedCount = () => idle.filter((s) => s.isClosed()).length
const healthy = async () => ((await (await fetch(`${base}/healthz`)).json()) as { status: string }).status

describe('API connection limits', () => {
  it('80 idle sockets from ten other hosts leave room for this machine, and are closed after the first-byte bound', async () => {
    idle.push(...(await openIdleFrom(port, 10, 8)))
    // the dashboard's and an agent's requests from this machine still get in while the idle sockets are open
    expect(await healthy()).toBe('ok')
    const status = await fetch(`${base}/v1/status`)
    expect(status.status).toBe(200)

    const held = MAX_CONNECTIONS - localReserve(MAX_CONNECTIONS)
    await waitFor('the sockets over the other hosts’ share to be refused', () => closedCount() >= 80 - held)
    const refused = idle.slice(held)
    expect(refused.every((s) => s.isClosed() && s.received().includes('"too_many_connections"'))).toBe(true)

    await waitFor('the server to close every idle socket', () => closedCount() === 80, CLOSED_WITHIN_MS)
    expect(idle.filter((s) => s.received().includes(' 408 ')).length).toBe(held)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain(`kith_api_connections_refused_total{reason="reserved"} ${80 - held}`)
    expect(metrics).toContain(`kith_api_connections_refused_total{reason="first_byte_timeout"} ${held}`)
  })

  it('caps the sockets of one other host', async () => {
    idle.push(...(await openIdleFrom(port, 1, PER_ADDRESS + 10)))
    await waitFor('the sockets over the per-address cap to be refused', () => closedCount() === 10)
    expect(idle.slice(PER_ADDRESS).every((s) => s.isClosed())).toBe(true)
    expect(await healthy()).toBe('ok')
  })

  it('70 idle sockets from this machine are closed after the first-byte bound, then every client gets in', async () => {
    for (let i = 0; i < 70; i++) idle.push(await openIdle(port))
    await waitFor('the server to close every idle socket', () => closedCount() === 70, CLOSED_WITHIN_MS)
    expect(await healthy()).toBe('ok')
    // the sockets over the cap (less what earlier fetches keep alive) were closed by Node at once, unanswered;
    // the others timed out with a 408
    expect(idle.every((s) => s.received() === '' || s.received().startsWith('HTTP/1.1 408 '))).toBe(true)
    expect(idle.filter((s) => s.received() !== '').length).toBeGreaterThan(MAX_CONNECTIONS / 2)
  })
})
