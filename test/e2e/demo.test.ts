/**
 * `kith start --init --demo` (what `npm start` runs) on a fresh directory: the node, its virtual devices and a
 * second node with script capabilities in the same process; the "try this" block on stderr once they are
 * live, and every command in it working; the CLI, MCP and the agent card seeing both nodes; a clean stop.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, CLI, ROOT, runCli, type RunningNode, startCli, tempDir, waitFor } from '../helpers.ts'

const sh = promisify(execFile)
const TRY_THIS = 'Try this, in another terminal:'
/** The issue asks for the block within 10 s; a loaded CI machine gets twice that. */
const BLOCK_TIMEOUT_MS = 20_000
const ENV = { KITH_API: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]' }

let dir: string
let cleanup: () => Promise<void>
let node: RunningNode
let api: string
let laterStdout = ''
let demoPeerId: string

/** The peer id the `demo peer running` log line names. */
function demoPeerOf(stderr: string): string | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { msg?: string; peerId?: string }
    if (entry.msg === 'demo peer running') return entry.peerId
  }
  return undefined
}

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-demo-'))
  node = await startCli(join(dir, 'kith.yaml'), { args: ['--init', '--demo'], env: ENV })
  node.child.stdout?.on('data', (d) => {
    laterStdout += d
  })
  api = node.ready.api
  await waitFor('the try-this block', () => node.stderr().includes(TRY_THIS), BLOCK_TIMEOUT_MS)
  demoPeerId = demoPeerOf(node.stderr()) as string
}, 60_000)

afterAll(async () => {
  if (node?.child.exitCode == null) await node?.stop()
  await cleanup?.()
})

describe('kith start --init --demo', () => {
  it('prints one ready line on stdout and the try-this block on stderr, whose commands all work', async () => {
    expect(node.ready).toMatchObject({
      event: 'ready',
      api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
    })
    expect(demoPeerId).toMatch(/^12D3KooW/)
    const stderr = node.stderr()
    const block = stderr.slice(stderr.indexOf(TRY_THIS))
    // the block comes after the household started
    expect(stderr.indexOf('"demo peer running"')).toBeLessThan(stderr.indexOf(TRY_THIS))
    expect(block).toContain(`npm run --silent kith -- call math.stats`)
    expect(block).toContain('run examples/evening.yaml')
    // the config is not ./.kith/kith.yaml and the port was the OS's choice, so every command names the API
    expect(block).toContain(`--api ${api}`)
    // and the dashboard, at the API's address
    expect(block).toContain(`Dashboard, in a browser: ${api}/`)
    expect((await fetch(`${api}/`)).headers.get('content-type')).toMatch(/^text\/html/)
    const mcp = block
      .split('\n')
      .filter((l) => l.trim().startsWith('{"mcpServers"'))
      .map((l) => JSON.parse(l) as { mcpServers: { kith: { command: string; args: string[] } } })
    expect(mcp.map((m) => m.mcpServers.kith)).toEqual([
      { command: 'npm', args: ['run', '--silent', '--prefix', ROOT, 'kith', '--', 'mcp', '--api', api] },
      { command: '/usr/local/bin/kith', args: ['mcp', '--api', api] },
    ])

    const commands = block
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('npm run --silent kith -- '))
    expect(commands.length).toBeGreaterThanOrEqual(3)
    expect(commands.length).toBeLessThanOrEqual(5)
    for (const command of commands) {
      // as the user would paste it, with the checkout's CLI instead of npm (same program, no npm start-up)
      const line = command.replace('npm run --silent kith -- ', `"${process.execPath}" "${CLI}" `)
      const res = await sh('/bin/sh', ['-c', line], { cwd: ROOT, env: cleanEnv() }).catch((err) => err)
      expect({ command, code: res.code ?? 0, stderr: res.stderr }).toEqual({ command, code: 0, stderr: '' })
    }
  })

  it('lets kith find see the demo peer’s script capability and the demo devices', async () => {
    type Found = { matches: Array<{ peer: string; local: boolean; capability: { id: string } }> }
    const stats = await runCli(['find', 'statistics of a list of numbers', '--json', '--api', api])
    expect(stats.code).toBe(0)
    expect((JSON.parse(stats.stdout) as Found).matches).toContainEqual(
      expect.objectContaining({
        peer: demoPeerId,
        local: false,
        capability: expect.objectContaining({ id: 'math.stats' }),
      }),
    )
    const plug = await runCli(['find', 'switch the desk plug', '--json', '--api', api])
    expect((JSON.parse(plug.stdout) as Found).matches[0]).toMatchObject({
      local: true,
      capability: { id: 'kith_desk_plug.switch' },
    })
    const table = await runCli(['find', 'summarize a text', '--api', api])
    expect(table.stdout).toMatch(/text\.summarize\s+Summarize a text\s+script\s+low\s+…\w{8}/)
    expect(table.stdout).not.toContain('\x1b[')
  })

  it('runs the demo peer’s capability end to end, checked with the demo canary at Tier 2', async () => {
    const res = await runCli([
      'call',
      'math.stats',
      '--input',
      '{"values":[3,1,4,1,5,9,2,6]}',
      '--tier',
      '2',
      '--json',
      '--api',
      api,
    ])
    expect(res.code).toBe(0)
    const task = JSON.parse(res.stdout) as { checks: Array<{ name: string; result: string }> }
    expect(task).toMatchObject({
      ok: true,
      provider: demoPeerId,
      tier: 2,
      output: { count: 8, sum: 31, min: 1, max: 9, mean: 3.875, median: 3.5 },
    })
    expect(task.checks).toContainEqual(expect.objectContaining({ name: 'canary', result: 'pass' }))

    const summary = await runCli(
      [
        'call',
        'text.summarize',
        '--input',
        JSON.stringify({ text: 'Pumps pump. Lamps glow. Pumps hum.', sentences: 1 }),
      ],
      { env: { KITH_API_URL: api } },
    )
    expect(summary.code).toBe(0)
    expect(summary.stdout).toMatch(/"summary": "Pumps pump\."/)
  })

  it('lists both nodes’ capabilities as MCP tools through kith mcp', async () => {
    const client = new Client({ name: 'kith-demo-test', version: '1.0.0' })
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', '--api', api],
        env: cleanEnv() as Record<string, string>,
        stderr: 'pipe',
      }),
    )
    try {
      const { tools } = await client.listTools()
      const stats = tools.find((t) => /math[._-]?stats/.test(t.name))
      expect(stats?.description).toContain(demoPeerId)
      expect(tools.some((t) => /desk_plug.*switch/.test(t.name))).toBe(true)
      expect(tools.some((t) => /text[._-]?summarize/.test(t.name))).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('serves the demo devices in the agent card', async () => {
    const res = await fetch(`${api}/.well-known/agent-card.json`)
    expect(res.status).toBe(200)
    const card = (await res.json()) as { skills: Array<{ id: string }> }
    expect(card.skills.map((s) => s.id)).toContain('kith_desk_plug.switch')
  })

  it('stops both nodes and the devices on SIGTERM, and the demo peer keeps its identity', async () => {
    type Descriptors = { descriptors: Array<{ peer: string; addrs: string[] }> }
    const held = ((await (await fetch(`${api}/v1/descriptors`)).json()) as Descriptors).descriptors
    const port = Number(/\/tcp\/(\d+)/.exec(held.find((d) => d.peer === demoPeerId)?.addrs[0] ?? '')?.[1])
    expect(port).toBeGreaterThan(0)

    expect(await node.stop()).toBe(0)
    expect(laterStdout).toBe('')
    expect(node.stderr()).toContain('"msg":"demo household stopped"')
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve('connected')
      })
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
    const peerDir = join(dir, 'demo-peer')
    // the database was closed cleanly: SQLite folds its write-ahead log back in and removes it
    expect(existsSync(join(peerDir, 'kith.db-wal'))).toBe(false)
    expect((await stat(join(peerDir, 'identity.key'))).mode & 0o777).toBe(0o600)

    const again = await startCli(join(dir, 'kith.yaml'), { args: ['--init', '--demo'], env: ENV })
    try {
      await waitFor('the demo peer', () => demoPeerOf(again.stderr()) != null)
      expect(demoPeerOf(again.stderr())).toBe(demoPeerId)
    } finally {
      expect(await again.stop()).toBe(0)
    }
  })
})
