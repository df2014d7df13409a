/**
 * Access control (issue 10) on real parts: kith nodes over TCP on loopback with a virtual door lock on the
 * embedded broker, the HTTP API bound beyond loopback, and the CLI on files with loose permissions.
 *
 * - A peer not on an allow-list asks for a high-risk action 100 times: every attempt is denied, for the
 *   allow-list's reason, and nothing reaches the device. Both allow-lists: a device's `allow` (high-risk
 *   device actions) and `execution.allowPeers` (every task). test/integration/devices.test.ts shows one
 *   refusal and one allowed peer; this adds the rate over many trials and what the provider recorded.
 * - The API beyond loopback: a config without a token is refused for every non-loopback address form
 *   (test/unit/config.test.ts covers `0.0.0.0`); a node listening on the machine's own address, and on every
 *   interface, answers 401 to every route of its OpenAPI document without a valid token, except the open
 *   ones (`/healthz`, the agent card, the dashboard's static files).
 * - Files with loose permissions: the identity key, group- or world-readable in any way, is refused
 *   (test/e2e/cli.test.ts covers 0644 at `kith start` and 0640 at `kith config check`); a world-readable
 *   config file holding the API token, or a world-readable token file, is refused too.
 */
import { chmod, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startVirtualDevice, type VirtualDevice } from '../../firmware-bridge/virtual-device.ts'
import { ConfigError, loadConfig } from '../../src/config/index.ts'
import { createIdentity, IdentityError, loadIdentity } from '../../src/connectivity/identity.ts'
import { createNode, type KithNode } from '../../src/node/node.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { CONTRACT_ROUTES, runCli, tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { LAN_IP, skipWithout } from '../system.ts'

const TRIALS = 100
const TOKEN = 'a-token-of-well-over-sixteen-characters'

let root: string
let cleanup: () => Promise<void>
const stops: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-access-'))
})

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined)
  await cleanup()
})

async function node(name: string, yaml: string[] = []): Promise<KithNode> {
  const n = await startTestNode(join(root, name), { yaml })
  stops.push(() => n.stop())
  return n
}

const peerOf = (n: KithNode) => n.host.peerId.toString()
const sees = (n: KithNode, capability: string) =>
  [...n.discovery.store.live()].some((e) => e.descriptor.caps.some((c) => c.id === capability))

/** How `n` tasks of `from` on `capability` ended, counted by status and error code. */
async function attempts(from: KithNode, capability: string, n: number, provider: string) {
  const outcomes: Record<string, number> = {}
  const providers = new Set<string>()
  for (let i = 0; i < n; i++) {
    const result = await from.execution.delegate({ target: { capability }, input: {}, timeoutMs: 10_000 })
    const key = `${result.status} ${result.error?.code ?? ''}`.trim()
    outcomes[key] = (outcomes[key] ?? 0) + 1
    for (const a of result.attempts) providers.add(a.peer)
  }
  expect([...providers]).toEqual([provider])
  return outcomes
}

/** What the provider's journal holds of the tasks `peer` sent it for `capability`. */
function journalled(provider: KithNode, peer: string, capability: string) {
  const rows = provider.execution.journal
    .recent(10 * TRIALS)
    .filter((r) => r.peer === peer && r.cap === capability)
  const counts: Record<string, number> = {}
  for (const key of rows.map((r) => `${r.status}: ${r.error ?? ''}`)) counts[key] = (counts[key] ?? 0) + 1
  return counts
}

describe('a peer not on the allow-list asking for a high-risk action', () => {
  let friend: KithNode
  let stranger: KithNode

  beforeAll(async () => {
    friend = await node('friend')
    stranger = await node('stranger')
  })

  it(`is denied ${TRIALS} times out of ${TRIALS} by the device allow-list, and the lock gets no command`, async () => {
    const hub = await node('lock-hub', [
      // every attempt reaches the allow-list instead of being throttled first (the default is 10 a second)
      'execution: { perPeer: { ratePerSec: 10000, burst: 10000 } }',
      'devices:',
      '  - id: front',
      '    profile: door-lock',
      `    allow: [${peerOf(friend)}]`,
    ])
    const lock: VirtualDevice = await startVirtualDevice({
      url: hub.devices.brokerUrl() as string,
      kind: 'lock',
      id: 'front',
      announce: 'none',
      readingIntervalMs: 0,
    })
    stops.push(() => lock.stop())
    await waitFor('the lock offered', () => hub.execution.registry.get('front.unlock') != null)
    expect(hub.execution.registry.get('front.unlock')?.capability.risk).toBe('high')
    await stranger.host.dial(hub.host.getMultiaddrs()[0] as never)
    await friend.host.dial(hub.host.getMultiaddrs()[0] as never)
    await waitFor(
      'both peers see the lock',
      () => sees(stranger, 'front.unlock') && sees(friend, 'front.lock'),
    )

    expect(await attempts(stranger, 'front.unlock', TRIALS, peerOf(hub))).toEqual({
      'error not_allowed': TRIALS,
    })
    expect(journalled(hub, peerOf(stranger), 'front.unlock')).toEqual({
      [`error: front.unlock is high risk and ${peerOf(stranger)} is not on its allow-list`]: TRIALS,
    })
    expect(lock.received).toHaveLength(0)
    expect(lock.state).toMatchObject({ lock_state: 'locked' })

    // the other high-risk action is refused alike; the peer on the list gets through, so the denials were
    // the list's, not a broken lock
    expect(
      await stranger.execution.delegate({
        target: { capability: 'front.lock' },
        input: {},
        timeoutMs: 10_000,
      }),
    ).toMatchObject({ ok: false, error: { code: 'not_allowed' } })
    expect(
      await friend.execution.delegate({ target: { capability: 'front.lock' }, input: {}, timeoutMs: 10_000 }),
    ).toMatchObject({ ok: true, output: { confirmed: true } })
    expect(lock.received).toHaveLength(1)
  })

  it(`is denied ${TRIALS} times out of ${TRIALS} by execution.allowPeers, and the script never runs`, async () => {
    const script = await writeText(root, 'open-garage.js', 'function run() { return "opened" }\n')
    const hub = await node('garage-hub', [
      `execution: { allowPeers: [${peerOf(friend)}] }`,
      'capabilities:',
      `  - { id: garage.open, kind: script, title: Open the garage, risk: high, script: ${script} }`,
    ])
    await stranger.host.dial(hub.host.getMultiaddrs()[0] as never)
    await friend.host.dial(hub.host.getMultiaddrs()[0] as never)
    await waitFor(
      'both peers see the garage',
      () => sees(stranger, 'garage.open') && sees(friend, 'garage.open'),
    )

    expect(await attempts(stranger, 'garage.open', TRIALS, peerOf(hub))).toEqual({
      'denied not-allowed': TRIALS,
    })
    // refused before it took a slot: no row of the stranger's ever started
    expect(journalled(hub, peerOf(stranger), 'garage.open')).toEqual({
      'denied: this node serves only the peers on its allow-list': TRIALS,
    })
    expect(
      hub.execution.journal
        .recent(10 * TRIALS)
        .filter((r) => r.startedAt != null && r.peer !== peerOf(friend)),
    ).toHaveLength(0)
    expect(
      await friend.execution.delegate({
        target: { capability: 'garage.open' },
        input: {},
        timeoutMs: 10_000,
      }),
    ).toMatchObject({ ok: true, output: 'opened' })
  })
})

describe('the HTTP API beyond loopback', () => {
  const refused = [
    `${LAN_IP ?? '192.0.2.2'}:7700`,
    '[::]:7700',
    '[fd00::2]:7700',
    // an IPv4-mapped loopback is not taken for loopback: the safe side
    '[::ffff:127.0.0.1]:7700',
    'hub.local:7700',
    '0:7700',
  ]
  const accepted = ['127.0.0.1:7700', '127.8.9.10:7700', '[::1]:7700', 'localhost:7700']

  it('refuses a config without a token for every non-loopback address form, and takes loopback ones', async () => {
    for (const [i, bind] of [...refused, ...accepted].entries()) {
      const file = await writeText(root, `bind-${i}.yaml`, `api: '${bind}'\n`)
      const problem = await loadConfig(file, { env: {} }).then(
        () => 'accepted',
        (err: unknown) =>
          err instanceof ConfigError ? err.problems.map((p) => p.message).join('; ') : String(err),
      )
      expect(`${bind}: ${problem}`).toBe(
        `${bind}: ${
          refused.includes(bind)
            ? 'the API listens beyond loopback, so api.token or api.tokenFile is required'
            : 'accepted'
        }`,
      )
    }
  })

  /** Builds and starts a node whose API listens on `listen` with the test token. */
  async function apiNode(name: string, listen: string): Promise<KithNode> {
    const dir = join(root, name)
    await mkdir(dir, { recursive: true })
    await createIdentity(join(dir, 'identity.key'))
    const file = await writeText(
      dir,
      'kith.yaml',
      [
        'api:',
        `  listen: '${listen}'`,
        `  token: ${TOKEN}`,
        'network:',
        '  listen: [/ip4/127.0.0.1/tcp/0]',
        '  dht: off',
        'mqtt: { listen: 127.0.0.1:0 }',
      ].join('\n'),
    )
    // it holds the token: readable by others, the node would refuse it (see the last tests)
    await chmod(file, 0o600)
    const n = await createNode(await loadConfig(file, { env: {} }), silentLogger())
    await n.start()
    stops.push(() => n.stop())
    return n
  }

  /** Every route of the node's OpenAPI document, asked without a token, with a wrong one, and with the token. */
  async function statuses(base: string): Promise<Record<string, [number, number, number]>> {
    const auth = (token?: string) => (token != null ? { authorization: `Bearer ${token}` } : undefined)
    const doc = (await (await fetch(`${base}/openapi.json`, { headers: auth(TOKEN) })).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    const out: Record<string, [number, number, number]> = {}
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const url = `${base}${path.replace(/\{[^}]+\}/g, 'no-such-task')}`
        const ask = async (token?: string) => {
          const res = await fetch(url, {
            method: method.toUpperCase(),
            headers: {
              ...auth(token),
              ...(method === 'post' ? { 'content-type': 'application/json' } : {}),
              // MCP wants both; without them an authorised request is refused for its headers, not its token
              accept: 'application/json, text/event-stream',
            },
            ...(method === 'post' ? { body: '{}' } : {}),
            signal: AbortSignal.timeout(10_000),
          })
          if (res.status === 401) {
            expect(res.headers.get('www-authenticate')).toBe('Bearer')
            expect(await res.json()).toEqual({
              error: { code: 'unauthorized', message: 'a valid bearer token is required' },
            })
          } else await res.body?.cancel()
          return res.status
        }
        out[`${method.toUpperCase()} ${path}`] = [
          await ask(),
          await ask('not-the-token-at-all'),
          await ask(TOKEN),
        ]
      }
    }
    return out
  }

  function expectOnlyOpenRoutes(found: Record<string, [number, number, number]>) {
    const open = Object.entries(found).filter(([, [none]]) => none !== 401)
    // the dashboard's files hold no data (the page asks for the token): `/` is 503 where it is not built,
    // and `/assets/x` names no file
    const page = found['GET /']?.[0] === 503 ? 503 : 200
    expect(Object.fromEntries(open)).toEqual({
      'GET /healthz': [200, 200, 200],
      'GET /.well-known/agent-card.json': [200, 200, 200],
      'GET /': [page, page, page],
      'GET /assets/{file}': [404, 404, 404],
    })
    // the token opens every other route: the 401s were the token check's, not broken routes
    for (const [route, [none, wrong, right]] of Object.entries(found)) {
      if (open.some(([r]) => r === route)) continue
      expect(`${route}: ${none} ${wrong}`).toBe(`${route}: 401 401`)
      expect(right, route).not.toBe(401)
    }
    // the document lists at least every endpoint of the Contract (DESIGN.md)
    expect(Object.keys(found)).toEqual(expect.arrayContaining(CONTRACT_ROUTES))
  }

  it.skipIf(skipWithout('lan-address'))(
    `answers 401 to every route but the open ones without the token, on this machine's own address (${LAN_IP ?? 'none'})`,
    async () => {
      const n = await apiNode('api-lan', `${LAN_IP}:0`)
      expect(n.apiUrl).toMatch(new RegExp(`^http://${LAN_IP?.replace(/\./g, '\\.')}:\\d+$`))
      expectOnlyOpenRoutes(await statuses(n.apiUrl))
    },
  )

  it('answers 401 to every route but the open ones without the token, bound to every interface, loopback included', async () => {
    const n = await apiNode('api-any', '0.0.0.0:0')
    const port = new URL(n.apiUrl).port
    expectOnlyOpenRoutes(await statuses(`http://127.0.0.1:${port}`))
    if (LAN_IP !== undefined) expectOnlyOpenRoutes(await statuses(`http://${LAN_IP}:${port}`))
  })
})

describe('files with loose permissions', () => {
  const LOOSE = [0o640, 0o604, 0o660, 0o606, 0o644, 0o666, 0o620, 0o602]

  it('refuses an identity key readable or writable by group or others, in every mode, and takes 0600 and 0400', async () => {
    const file = join(root, 'modes.key')
    await createIdentity(file)
    for (const mode of LOOSE) {
      await chmod(file, mode)
      const err = await loadIdentity(file).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err, mode.toString(8)).toBeInstanceOf(IdentityError)
      expect((err as Error).message).toBe(
        `${file}: readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
      )
    }
    for (const mode of [0o600, 0o400]) {
      await chmod(file, mode)
      await expect(loadIdentity(file)).resolves.toBeDefined()
    }
  })

  it('refuses to start with a world-readable identity key that the group cannot read (exit 78)', async () => {
    const dir = join(root, 'world-key')
    await mkdir(dir, { recursive: true })
    await createIdentity(join(dir, 'identity.key'))
    await writeText(dir, 'kith.yaml', 'api: 127.0.0.1:0\nnetwork: { listen: [/ip4/127.0.0.1/tcp/0] }\n')
    await chmod(join(dir, 'identity.key'), 0o604)
    const res = await runCli(['start', '--config', join(dir, 'kith.yaml')])
    expect(res.code).toBe(78)
    expect(res.stderr).toMatch(/identity\.key: readable by others \(mode 604\); run chmod 600 on it/)
  })

  // `kith init` writes kith.yaml 0644 in a 0700 directory, and `kith install` a token file 0640 for the
  // service's group: what must not be readable is a secret readable by everyone
  it('refuses a world-readable config file that holds the API token (exit 78)', async () => {
    const dir = join(root, 'world-config')
    await mkdir(dir, { recursive: true })
    await createIdentity(join(dir, 'identity.key'))
    const config = await writeText(dir, 'kith.yaml', `api:\n  listen: 0.0.0.0:0\n  token: ${TOKEN}\n`)
    await chmod(config, 0o644)
    const res = await runCli(['config', 'check', config])
    expect(res.stderr).toMatch(/kith\.yaml:\d+: .*readable by others/)
    expect(res.code).toBe(78)
  })

  it('refuses a world-readable API token file (exit 78)', async () => {
    const dir = join(root, 'world-token')
    await mkdir(dir, { recursive: true })
    await createIdentity(join(dir, 'identity.key'))
    const token = await writeText(dir, 'api.token', `${TOKEN}\n`)
    await chmod(token, 0o644)
    const config = await writeText(dir, 'kith.yaml', 'api:\n  listen: 0.0.0.0:0\n  tokenFile: api.token\n')
    await chmod(config, 0o600)
    const res = await runCli(['config', 'check', config])
    expect(res.stderr).toMatch(/kith\.yaml:3: api\.tokenFile: .*readable by others/)
    expect(res.code).toBe(78)
  })
})
