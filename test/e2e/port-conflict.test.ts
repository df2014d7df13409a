/**
 * A second `kith start` on the ports of a running node: one line naming the port, exit 1, no stack trace
 * (issue 23). Before the fix the clean-up after the failed start threw `Pubsub is not started` over the cause.
 */
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type RunningNode, runCli, startCli, tempDir } from '../helpers.ts'

let root: string
let cleanup: () => Promise<void>
let first: RunningNode | undefined
const ports = { api: 0, libp2p: 0, mqtt: 0 }

async function init(name: string, api: number, libp2p: number): Promise<string> {
  const dir = join(root, name)
  const res = await runCli([
    'init',
    '--dir',
    dir,
    '--api',
    `127.0.0.1:${api}`,
    '--listen',
    `/ip4/127.0.0.1/tcp/${libp2p}`,
  ])
  expect(res.code).toBe(0)
  return join(dir, 'kith.yaml')
}

/** The lines of stderr that are not the node's JSON log lines. */
const userLines = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'))

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-ports-'))
  ports.api = await freePort()
  ports.libp2p = await freePort()
  ports.mqtt = await freePort()
  const config = await init('first', ports.api, ports.libp2p)
  first = await startCli(config, { env: { KITH_MQTT_LISTEN: `127.0.0.1:${ports.mqtt}` } })
}, 60_000)

afterAll(async () => {
  await first?.stop()
  await cleanup()
})

describe('kith start on ports already taken', () => {
  const cases = [
    { taken: 'libp2p', key: 'network.listen' },
    { taken: 'api', key: 'api.listen' },
    { taken: 'mqtt', key: 'MQTT broker' },
  ] as const

  for (const { taken, key } of cases) {
    it(`prints one line naming the ${taken} port and no stack trace`, { timeout: 60_000 }, async () => {
      const api = taken === 'api' ? ports.api : await freePort()
      const libp2p = taken === 'libp2p' ? ports.libp2p : await freePort()
      const mqtt = taken === 'mqtt' ? ports.mqtt : await freePort()
      const config = await init(`second-${taken}`, api, libp2p)
      const res = await runCli(['start', '--config', config], {
        env: { KITH_MQTT_LISTEN: `127.0.0.1:${mqtt}` },
      })
      expect(res.code).toBe(1)
      expect(res.stdout).toBe('')
      expect(res.stderr).not.toMatch(/^\s*at /m)
      const lines = userLines(res.stderr)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^kith: address_in_use: /)
      expect(lines[0]).toContain(key)
      expect(lines[0]).toContain(String(ports[taken]))
    })
  }

  it('prints the stack under --debug', { timeout: 60_000 }, async () => {
    const config = await init('second-debug', await freePort(), ports.libp2p)
    const res = await runCli(['start', '--debug', '--config', config], {
      env: { KITH_MQTT_LISTEN: `127.0.0.1:${await freePort()}` },
    })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^kith: address_in_use: network\.listen: /m)
    expect(res.stderr).toMatch(/^\s+at /m)
  })

  it(
    'logs the whole error under log.level debug, the user line staying one line',
    { timeout: 60_000 },
    async () => {
      const config = await init('second-log-debug', await freePort(), ports.libp2p)
      await appendFile(config, 'log:\n  level: debug\n')
      const res = await runCli(['start', '--config', config], {
        env: { KITH_MQTT_LISTEN: `127.0.0.1:${await freePort()}` },
      })
      expect(res.code).toBe(1)
      expect(userLines(res.stderr)).toEqual([
        expect.stringMatching(/^kith: address_in_use: network\.listen: /),
      ])
      const failed = res.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; err?: { stack?: string } })
        .find((entry) => entry.msg === 'start failed')
      expect(failed?.err?.stack).toMatch(/EADDRINUSE/)
    },
  )

  it('still serves after the failed starts', async () => {
    const health = await fetch(`${first!.ready.api}/healthz`)
    expect(health.status).toBe(200)
  })
})
