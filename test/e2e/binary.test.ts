/**
 * The single binary: `npm run build:binary`'s output for x64 run end to end, and the arm64 one under qemu-user
 * (with an arm64 C runtime from Debian's packages, scripts/arm64-sysroot.sh) where qemu is installed.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, ROOT, startCli, tempDir, waitFor } from '../helpers.ts'
import { ARM64_SYSROOT, QEMU_AARCH64, skipWithout } from '../system.ts'

const run = promisify(execFile)
const QEMU = QEMU_AARCH64
const SYSROOT = ARM64_SYSROOT
const arm64Runs = !skipWithout('qemu-arm64')

let out: string
let cleanupOut: () => Promise<void>

beforeAll(async () => {
  ;({ dir: out, cleanup: cleanupOut } = await tempDir('kith-dist-'))
  // xz -0: the archive and its sums are what is checked here, and -6 takes a minute of both cores
  await run(process.execPath, [join(ROOT, 'scripts/build-binary.ts'), '--out', out, '--xz-level', '0'], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  })
}, 900_000)
afterAll(async () => cleanupOut?.())

/** Runs the binary (through `prefix`, e.g. qemu) with a clean environment and returns stdout. */
async function kith(binary: string[], args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const [cmd, ...rest] = binary
  const { stdout } = await run(cmd as string, [...rest, ...args], { env: { ...cleanEnv(), ...env } })
  return stdout
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex')
}

describe('build:binary', () => {
  it('writes both binaries, their .xz archives and SHA-256 sums that match', async () => {
    for (const arch of ['x64', 'arm64']) {
      const file = join(out, `kith-linux-${arch}`)
      expect((await stat(file)).mode & 0o111).not.toBe(0)
      expect((await stat(`${file}.xz`)).size).toBeLessThan((await stat(file)).size)
      expect(await readFile(`${file}.sha256`, 'utf8')).toBe(`${await sha256(file)}  kith-linux-${arch}\n`)
      expect(await readFile(`${file}.xz.sha256`, 'utf8')).toBe(
        `${await sha256(`${file}.xz`)}  kith-linux-${arch}.xz\n`,
      )
      const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8')
      expect(sums).toContain(`  kith-linux-${arch}\n`)
      expect(sums).toContain(`  kith-linux-${arch}.xz\n`)
    }
  })
})

describe('the x64 binary', () => {
  it('initialises, starts, serves its API and the embedded dashboard, runs a sandboxed task and a device from a shipped profile, and stops on SIGTERM', async () => {
    const binary = [join(out, 'kith-linux-x64')]
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect((await kith(binary, ['--version'])).trim()).toBe(version)

    const { dir, cleanup } = await tempDir()
    try {
      const peerId = (await kith(binary, ['init', '--dir', dir])).trim()
      expect(peerId).toMatch(/^12D3KooW/)
      await writeFile(join(dir, 'double.js'), 'function run(input) { return { doubled: input.n * 2 } }\n')
      const config = join(dir, 'kith.yaml')
      await writeFile(
        config,
        `${await readFile(config, 'utf8')}
capabilities:
  - id: math.double
    kind: script
    title: Double a number
    tags: [math]
    script: double.js
    deterministic: true
devices:
  - id: desk-plug
    profile: smart-plug
    topic: zigbee2mqtt/desk_plug
`,
      )
      expect((await kith(binary, ['config', 'check', config])).trim()).toBe(`${config}: ok`)

      const node = await startCli(config, {
        command: binary,
        env: { KITH_API: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]' },
      })
      try {
        expect(node.ready).toMatchObject({ event: 'ready', peerId })
        const api = node.ready.api
        expect(await (await fetch(`${api}/healthz`)).json()).toMatchObject({ status: 'ok', peerId })

        const called = JSON.parse(
          await kith(binary, ['call', 'math.double', '--input', '{"n":21}', '--json', '--api', api]),
        ) as { ok: boolean; output: unknown }
        expect(called).toMatchObject({ ok: true, output: { doubled: 42 } })

        type Devices = { devices: Array<{ id: string; capabilities: string[] }> }
        const devices = ((await (await fetch(`${api}/v1/devices`)).json()) as Devices).devices
        expect(devices.map((d) => d.id)).toContain('desk-plug')

        // the dashboard is inside the binary: its page, and the script the page names
        const page = await fetch(`${api}/`)
        expect(page.status).toBe(200)
        const html = await page.text()
        const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
        expect(script, html).toBeDefined()
        const js = await fetch(`${api}${script}`)
        expect(js.status).toBe(200)
        expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
      } finally {
        expect(await node.stop('SIGTERM')).toBe(0)
      }
    } finally {
      await cleanup()
    }
  })
})

describe('the simulator', () => {
  it('is not in the binary: the bundle has none of sim/, and `kith sim` says to run `npm run sim` from a checkout', async () => {
    expect(await readFile(join(out, 'kith.cjs'), 'utf8')).not.toContain('runSybilScenario')
    const failed = await kith([join(out, 'kith-linux-x64')], ['sim', 'sim/scenarios/sybil-small.yaml']).then(
      () => null,
      (err: { code?: number; stderr?: string }) => err,
    )
    expect(failed?.code).toBe(2)
    expect(failed?.stderr).toContain('npm run sim -- <scenario.yaml>')
  })
})

describe.skipIf(!arm64Runs)('the arm64 binary under qemu-user', () => {
  it('prints its version, initialises, starts until ready and serves /healthz', async () => {
    const binary = [QEMU, join(out, 'kith-linux-arm64')]
    const env = { QEMU_LD_PREFIX: SYSROOT }
    expect((await kith(binary, ['--version'], env)).trim()).toMatch(/^\d+\.\d+\.\d+/)
    const { dir, cleanup } = await tempDir()
    try {
      const peerId = (await kith(binary, ['init', '--dir', dir], env)).trim()
      const node = await startCli(join(dir, 'kith.yaml'), {
        command: binary,
        env: { ...env, KITH_API: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]' },
      })
      try {
        expect(node.ready.peerId).toBe(peerId)
        let health: unknown
        await waitFor(
          '/healthz under qemu',
          async () => {
            health = await (await fetch(`${node.ready.api}/healthz`)).json()
            return true
          },
          120_000,
        )
        expect(health).toMatchObject({ status: 'ok', peerId })
      } finally {
        expect(await node.stop('SIGTERM')).toBe(0)
      }
    } finally {
      await cleanup()
    }
    // emulated arm64 runs at a fraction of the host's speed (about 17 s to ready on an idle 2-core machine),
    // and much slower on a busy one: this test checks that it works, not how fast
  }, 600_000)
})
