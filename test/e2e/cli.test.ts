/** The CLI as users run it: a child process, real files, real sockets, real signals. */
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pkg from '../../package.json' with { type: 'json' }
import { runCli, startCli, tempDir } from '../helpers.ts'

let root: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-cli-'))
})
afterAll(() => cleanup())

const EPHEMERAL = ['--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0']

async function init(
  name: string,
  extra: string[] = EPHEMERAL,
): Promise<{ dir: string; config: string; peerId: string }> {
  const dir = join(root, name)
  const res = await runCli(['init', '--dir', dir, '--name', name, ...extra])
  expect(res.stderr).toBe('')
  expect(res.code).toBe(0)
  return { dir, config: join(dir, 'kith.yaml'), peerId: res.stdout.trim() }
}

describe('kith CLI', () => {
  it('prints its version', async () => {
    const res = await runCli(['--version'])
    expect(res.code).toBe(0)
    expect(res.stdout.trim()).toBe(pkg.version)
  })

  it('init writes a config and a mode-0600 identity and prints the peer id', async () => {
    const { dir, config, peerId } = await init('one')
    expect(peerId).toMatch(/^12D3KooW\w+$/)
    const { stat } = await import('node:fs/promises')
    expect((await stat(join(dir, 'identity.key'))).mode & 0o777).toBe(0o600)
    expect(await readFile(config, 'utf8')).toContain('name: one')
    const again = await runCli(['init', '--dir', dir])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/)
  })

  it('starts, serves /healthz, stops cleanly on SIGTERM and SIGINT, and keeps its identity', async () => {
    const { dir, config, peerId } = await init('two')
    const keyBefore = await readFile(join(dir, 'identity.key'), 'utf8')
    const node = await startCli(config)
    expect(node.ready.event).toBe('ready')
    expect(node.ready.peerId).toBe(peerId)
    expect(node.ready.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(node.ready.listen[0]).toMatch(new RegExp(`^/ip4/127.0.0.1/tcp/\\d+/p2p/${peerId}$`))
    const health = (await (await fetch(`${node.ready.api}/healthz`)).json()) as {
      status: string
      peerId: string
    }
    expect(health).toMatchObject({ status: 'ok', peerId })

    const status = await runCli(['status', '--api', node.ready.api, '--json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ peerId, name: 'two', mdns: false })
    const peers = await runCli(['peers', '--api', node.ready.api])
    expect(peers.stdout.trim()).toBe('no peers connected')

    expect(await node.stop('SIGTERM')).toBe(0)
    expect(node.stderr()).toContain('"msg":"node stopped"')

    const again = await startCli(config)
    expect(again.ready.peerId).toBe(peerId)
    expect(await again.stop('SIGINT')).toBe(0)
    expect(await readFile(join(dir, 'identity.key'), 'utf8')).toBe(keyBefore)
  })

  it('start --init creates the node directory first, as npm start does', async () => {
    const config = join(root, 'fresh', '.kith', 'kith.yaml')
    const node = await startCli(config, {
      env: { KITH_API_LISTEN: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]' },
      args: ['--init'],
    })
    expect(node.ready.peerId).toMatch(/^12D3KooW/)
    expect(await node.stop()).toBe(0)
  })

  it('refuses to start with an exposed identity key (exit 78)', async () => {
    const { dir, config } = await init('exposed')
    await chmod(join(dir, 'identity.key'), 0o644)
    const res = await runCli(['start', '--config', config])
    expect(res.code).toBe(78)
    expect(res.stderr).toMatch(/readable by others/)
  })

  it('refuses to start with the API token in a config readable by others, as it does the key (exit 78)', async () => {
    const { config } = await init('exposed-token')
    // init wrote kith.yaml 0644, fine without a secret; a token added to it is readable by everyone
    const text = await readFile(config, 'utf8')
    await writeFile(
      config,
      text.replace(
        'api: 127.0.0.1:0',
        'api: { listen: 127.0.0.1:0, token: a-token-of-well-over-sixteen-chars }',
      ),
    )
    const res = await runCli(['start', '--config', config])
    expect(res.code).toBe(78)
    expect(res.stderr).toContain(
      `api.token: ${config} holds this secret and is readable by others (mode 644); run chmod o-r ${config}`,
    )
  })
})

describe('kith config check', () => {
  const check = (file: string) => runCli(['config', 'check', file])

  it('accepts a valid config', async () => {
    const { config } = await init('valid')
    const res = await check(config)
    expect(res.code).toBe(0)
    expect(res.stdout.trim()).toBe(`${config}: ok`)
  })

  const cases: Array<[string, string, RegExp]> = [
    ['syntax error', 'name: x\nnetwork:\n  listen: [\n', /kith.yaml:\d+: \(yaml\): /],
    ['unknown key', 'name: x\nnetwrok: {}\n', /kith.yaml:2: netwrok: unknown key/],
    ['wrong type', 'network:\n  mdns: maybe\n', /kith.yaml:2: network.mdns: .*expected boolean/],
    [
      'bad multiaddr',
      'network:\n  listen: [/ip4/1.2.3/tcp/1]\n',
      /kith.yaml:2: network.listen.0: not a valid multiaddr/,
    ],
    [
      'bad bootstrap',
      'network:\n  bootstrap:\n    - /ip4/127.0.0.1/tcp/1\n',
      /kith.yaml:3: network.bootstrap.0: a bootstrap address must end in \/p2p/,
    ],
    [
      'device with an unknown profile',
      'devices:\n  - id: hall\n    profile: smart-toaster\n',
      /kith.yaml:3: devices.0.profile: unknown profile "smart-toaster"/,
    ],
    [
      'device with an unknown override',
      'devices:\n  - id: hall\n    profile: smart-plug\n    actions: { set: { risc: high } }\n',
      /kith.yaml:4: devices.0.actions.set.risc: unknown key/,
    ],
    [
      'embedded broker opened without credentials',
      'mqtt:\n  listen: 0.0.0.0:1883\n',
      /kith.yaml:2: mqtt.listen: .*username and mqtt.password/,
    ],
  ]
  for (const [what, yaml, expected] of cases) {
    it(`reports a ${what} with its line and exits 78`, async () => {
      const { config } = await init(`bad-${what.replace(/ /g, '-')}`)
      await writeFile(config, yaml)
      const res = await check(config)
      expect(res.code).toBe(78)
      expect(res.stderr).toMatch(expected)
      expect(res.stderr.startsWith(config)).toBe(true)
    })
  }

  it('reports an unreadable key file at the identity line and exits 78', async () => {
    const { dir, config } = await init('badkey')
    await writeFile(config, `name: badkey\nidentity: ${join(dir, 'other.key')}\n`)
    await writeFile(join(dir, 'other.key'), 'garbage', { mode: 0o600 })
    const res = await check(config)
    expect(res.code).toBe(78)
    expect(res.stderr.trim()).toBe(
      `${config}:2: identity: ${join(dir, 'other.key')}: not a PEM private key (corrupt?)`,
    )
    await chmod(join(dir, 'other.key'), 0o640)
    expect((await check(config)).stderr).toMatch(/kith.yaml:2: identity: .*readable by others/)
  })

  it('reports a missing key file at line 1 when the default path is used', async () => {
    const { dir, config } = await init('nokey')
    const { rm } = await import('node:fs/promises')
    await rm(join(dir, 'identity.key'))
    const res = await check(config)
    expect(res.code).toBe(78)
    expect(res.stderr).toMatch(new RegExp(`^${config}:1: identity: .*no identity key here`))
  })
})
