/**
 * Live config reload through the real CLI: a running `kith start` picks up a new script capability, a new
 * ttl and a new device from its rewritten config without a restart (and drops them again), keeps serving
 * its config when the new one is invalid, and reports a changed API address as needing a restart.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { freePort, type RunningNode, startCli, tempDir, waitFor } from '../helpers.ts'

let dir: string
let config: string
let cleanup: () => Promise<void>

const BASE = ['api: 127.0.0.1:0', 'network:', '  listen: [/ip4/127.0.0.1/tcp/0]', '  dht: off']

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-reload-e2e-'))
  config = join(dir, 'kith.yaml')
  await createIdentity(join(dir, 'identity.key'))
  await writeFile(config, `${BASE.join('\n')}\n`)
})
afterAll(() => cleanup())

interface Status {
  reload: {
    reloads: number
    failed: number
    last?: {
      ok: boolean
      reason: string
      applied?: string[]
      restartRequired?: string[]
      problems?: string[]
    }
  }
}

async function get<T>(node: RunningNode, path: string): Promise<T> {
  return (await (await fetch(`${node.ready.api}${path}`)).json()) as T
}

async function descriptor(node: RunningNode): Promise<{ ttl: number; caps: Array<{ id: string }> }> {
  return get(node, '/v1/descriptor')
}

/** Rewrites the config and waits until the node has taken reload number `count` in. */
async function rewrite(node: RunningNode, lines: string[], count: number): Promise<Status['reload']> {
  await writeFile(config, `${lines.join('\n')}\n`)
  await waitFor(
    `reload ${count}`,
    async () => (await get<Status>(node, '/v1/status')).reload.reloads >= count,
  )
  return (await get<Status>(node, '/v1/status')).reload
}

describe('kith start reloads its config', () => {
  it('applies capabilities, ttl and devices live, keeps the old config on errors, reports restart paths', async () => {
    const node = await startCli(config)
    try {
      expect(await descriptor(node)).toMatchObject({ ttl: 15_000, caps: [] })

      await writeFile(join(dir, 'double.js'), 'function run(input) { return input.x * 2 }\n')
      const live = [
        ...BASE,
        'discovery: { ttl: 6000 }',
        'capabilities:',
        '  - { id: double, kind: script, title: Double a number, script: double.js }',
        'devices:',
        '  - { id: plug1, profile: smart-plug }',
      ]
      const first = await rewrite(node, live, 1)
      expect(first.last).toMatchObject({
        ok: true,
        reason: 'watch',
        applied: ['discovery.ttl', 'capabilities', 'devices'],
        restartRequired: [],
      })
      await waitFor('the new descriptor', async () => {
        const d = await descriptor(node)
        return d.ttl === 6000 && d.caps.length > 0
      })
      const signed = await descriptor(node)
      expect(signed.ttl).toBe(6000)
      expect(signed.caps.map((c) => c.id)).toEqual(['double'])
      const devices = await get<{ devices: Array<{ id: string }> }>(node, '/v1/devices')
      expect(devices.devices.map((d) => d.id)).toEqual(['plug1'])
      const task = await fetch(`${node.ready.api}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ capability: 'double', input: { x: 21 } }),
      })
      expect(await task.json()).toMatchObject({ ok: true, output: 42 })

      const invalid = await rewrite(node, [...live, 'discovery: { ttl: 1 }', 'bogus: true'], 2)
      expect(invalid).toMatchObject({ reloads: 2, failed: 1, last: { ok: false } })
      expect(invalid.last?.problems).toEqual([
        expect.stringMatching(new RegExp(`^${config}:\\d+: \\(yaml\\): .*`)),
      ])
      const short = [...live.filter((l) => !l.startsWith('discovery')), 'discovery: { ttl: 1 }']
      const rejected = await rewrite(node, short, 3)
      expect(rejected).toMatchObject({ reloads: 3, failed: 2 })
      expect(rejected.last?.problems).toEqual([
        `${config}:${short.length}: discovery.ttl: Too small: expected number to be >=3000`,
      ])
      expect(await descriptor(node)).toMatchObject({ ttl: 6000, caps: [{ id: 'double' }] })
      expect(node.stderr()).toMatch(/config reload rejected: the running config stays in effect/)

      const port = await freePort()
      const moved = await rewrite(
        node,
        [...live.map((l) => l.replace('127.0.0.1:0', `127.0.0.1:${port}`))],
        4,
      )
      expect(moved.last).toMatchObject({ ok: true, applied: [], restartRequired: ['api.listen'] })
      expect(node.stderr()).toContain('"restartRequired":["api.listen"]')
      // still on the address it started with
      expect((await fetch(`${node.ready.api}/healthz`)).status).toBe(200)

      const bare = [...BASE.map((l) => l.replace('127.0.0.1:0', `127.0.0.1:${port}`))]
      const removed = await rewrite(node, bare, 5)
      expect(removed.last).toMatchObject({
        ok: true,
        applied: ['discovery.ttl', 'capabilities', 'devices'],
        restartRequired: ['api.listen'],
      })
      await waitFor('the capability to leave', async () => (await descriptor(node)).caps.length === 0)
      expect((await get<{ devices: unknown[] }>(node, '/v1/devices')).devices).toEqual([])

      node.child.kill('SIGHUP')
      await waitFor(
        'the SIGHUP reload',
        async () => (await get<Status>(node, '/v1/status')).reload.reloads >= 6,
      )
      expect((await get<Status>(node, '/v1/status')).reload.last).toMatchObject({
        ok: true,
        reason: 'SIGHUP',
        applied: [],
        restartRequired: ['api.listen'],
      })
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })

  it('survives a reload that adds more script capabilities than a v1 descriptor holds', async () => {
    const own = join(dir, 'many')
    await mkdir(own, { recursive: true })
    await createIdentity(join(own, 'identity.key'))
    await writeFile(join(own, 'double.js'), 'function run(input) { return input.x * 2 }\n')
    const file = join(own, 'kith.yaml')
    await writeFile(file, `${BASE.join('\n')}\n`)
    const node = await startCli(file)
    try {
      const many = [
        ...BASE,
        'capabilities:',
        ...Array.from(
          { length: 100 },
          (_, i) => `  - { id: double-${i}, kind: script, title: Double ${i}, script: double.js }`,
        ),
      ]
      await writeFile(file, `${many.join('\n')}\n`)
      await waitFor('the reload', async () => (await get<Status>(node, '/v1/status')).reload.reloads >= 1)
      await waitFor(
        'every capability in the descriptor',
        async () => (await descriptor(node)).caps.length === 100,
      )
      // the v1 copy for v1-only peers carries what fits and counts the rest; the process is still up
      const stats = await get<{ legacy: { capabilitiesLeft: number; signRefused: number } }>(
        node,
        '/v1/discovery/stats',
      )
      expect(stats.legacy).toMatchObject({ capabilitiesLeft: 36, signRefused: 0 })
      expect(node.child.exitCode).toBeNull()
      expect((await fetch(`${node.ready.api}/healthz`)).status).toBe(200)
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })
})
