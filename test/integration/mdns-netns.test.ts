/**
 * Two kith nodes find each other through mDNS alone. Each runs in its own network namespace; a veth pair
 * joins the two namespaces and nothing else, so the multicast never reaches the host's real interfaces.
 * Needs root and iproute2 (`ip netns`); `.ci/run` installs iproute2.
 */
import { execFile } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, cleanEnv, ROOT, type RunningNode, runCli, startCli, tempDir } from '../helpers.ts'
import { deleteNamespaces, ip, joinNamespaces } from '../netns.ts'
import { skipWithout } from '../system.ts'

const execFileAsync = promisify(execFile)

// in CI a skipped test would hide that mDNS is not tested at all: there it fails instead
const skip = skipWithout('netns')

/** How long mDNS may take: the first query goes out at start, the next ones every 10 s. */
const DISCOVERY_DEADLINE_MS = 30_000

// Names and subnet are random per run, so parallel or crashed runs never clash; namespaces of other runs
// are never touched, because another run may still be using them.
const run = randomBytes(3).toString('hex')
const subnet = `10.231.${randomInt(1, 255)}`

interface Side {
  ns: string
  /** the veth end inside `ns` (at most 15 characters) */
  veth: string
  ip: string
  dir: string
  cleanup?: () => Promise<void>
  peerId?: string
  node?: RunningNode
}

const sides: [Side, Side] = [
  { ns: `kith-mdns-a-${run}`, veth: `kma${run}`, ip: `${subnet}.1`, dir: '' },
  { ns: `kith-mdns-b-${run}`, veth: `kmb${run}`, ip: `${subnet}.2`, dir: '' },
]
const createdNamespaces: string[] = []

/** Runs a client verb of the CLI inside `ns`, where the node's loopback API is. */
async function cliInNamespace(ns: string, args: string[]): Promise<unknown> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], {
    cwd: ROOT,
    env: cleanEnv(),
  })
  return JSON.parse(stdout)
}

/** Resolves once `node` logs that `peer` connected; rejects after the deadline with the node's log. */
async function waitForPeerConnected(node: RunningNode, peer: string): Promise<void> {
  const deadline = Date.now() + DISCOVERY_DEADLINE_MS
  while (Date.now() < deadline) {
    const found = node
      .stderr()
      .split('\n')
      .some((line) => {
        if (!line.startsWith('{')) return false
        try {
          const entry = JSON.parse(line) as { msg?: string; peer?: string }
          return entry.msg === 'peer connected' && entry.peer === peer
        } catch {
          return false
        }
      })
    if (found) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`no "peer connected" for ${peer} within ${DISCOVERY_DEADLINE_MS} ms:\n${node.stderr()}`)
}

async function setUpNetwork(): Promise<void> {
  const links = await joinNamespaces(sides, createdNamespaces)
  for (const side of sides) {
    // a fresh namespace has no default route, so without this the mDNS query to 224.0.0.251 is unroutable
    await ip('-n', side.ns, 'route', 'add', '224.0.0.0/4', 'dev', side.veth)
  }
  sides.forEach((side, i) => expect(links[i]).toEqual([side.veth, 'lo'].sort()))
}

async function tearDown(): Promise<void> {
  const errors: unknown[] = []
  for (const side of sides) {
    // a node still running holds its namespace alive after `ip netns del`; kill it first
    if (side.node != null && side.node.child.exitCode == null && side.node.child.signalCode == null) {
      await side.node.stop('SIGKILL').catch((err: unknown) => errors.push(err))
    }
  }
  await deleteNamespaces(createdNamespaces, errors)
  for (const side of sides) await side.cleanup?.().catch((err: unknown) => errors.push(err))
  if (errors.length > 0) throw new AggregateError(errors, 'mdns-netns clean-up failed')
}

describe.skipIf(skip)(
  `mDNS between two network namespaces${skip ? ' (skipped: no `ip netns` here)' : ''}`,
  () => {
    beforeAll(async () => {
      try {
        await setUpNetwork()
        for (const side of sides) {
          const { dir, cleanup } = await tempDir('kith-mdns-')
          side.cleanup = cleanup
          side.dir = join(dir, 'node')
          // a non-loopback listen address turns mDNS on; no --bootstrap, so only mDNS can connect the two
          const init = await runCli(['init', '--dir', side.dir, '--listen', '/ip4/0.0.0.0/tcp/7701'])
          expect(init.code, init.stderr).toBe(0)
          side.peerId = init.stdout.trim()
        }
      } catch (err) {
        await tearDown()
        throw err
      }
    })

    afterAll(tearDown)

    it('connects two nodes that know nothing of each other but the LAN', async () => {
      const [a, b] = sides
      const started = Date.now()
      for (const side of sides) {
        side.node = await startCli(join(side.dir, 'kith.yaml'), { prefix: ['ip', 'netns', 'exec', side.ns] })
        expect(side.node.ready.peerId).toBe(side.peerId)
      }
      for (const side of sides) {
        const status = (await cliInNamespace(side.ns, [
          'status',
          '--json',
          '--config',
          join(side.dir, 'kith.yaml'),
        ])) as { mdns: boolean; connections: number }
        expect(status.mdns).toBe(true)
      }

      await Promise.all([waitForPeerConnected(a.node!, b.peerId!), waitForPeerConnected(b.node!, a.peerId!)])
      console.log(`mdns-netns: both nodes connected ${Date.now() - started} ms after the first start`)

      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const { peers } = (await cliInNamespace(self.ns, [
          'peers',
          '--json',
          '--config',
          join(self.dir, 'kith.yaml'),
        ])) as { peers: { peerId: string; addrs: string[] }[] }
        const entry = peers.find((p) => p.peerId === other.peerId)
        expect(entry, JSON.stringify(peers)).toBeDefined()
        // the connection runs over the veth pair, the only link between the namespaces
        expect(entry!.addrs.some((addr) => addr.startsWith(`/ip4/${other.ip}/tcp/`))).toBe(true)
      }

      for (const side of sides) {
        const node = side.node!
        expect(await node.stop('SIGTERM'), node.stderr()).toBe(0)
      }
    })
  },
)
