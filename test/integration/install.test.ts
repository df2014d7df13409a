/**
 * `kith install --systemd`, run as users run it (the CLI as a child process), into a staging root (`--root`) so
 * that nothing outside a temp directory is touched: no user is created and systemctl is never called there.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../src/config/index.ts'
import { loadIdentity } from '../../src/connectivity/identity.ts'
import { systemdUnit } from '../../src/cli/systemd-unit.ts'
import { type CliResult, cleanEnv, CLI, ROOT, runCli, tempDir } from '../helpers.ts'
import { NOBODY, skipWithout } from '../system.ts'

/** The CLI as another user (nobody), to see what it does without root. */
function runCliAs(uid: number, args: string[]): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(), uid, gid: uid })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

/** Runs the CLI without root: as it is when the tests are not root, else as nobody. */
const runCliUnprivileged = (args: string[]) =>
  process.getuid?.() === 0 ? runCliAs(NOBODY, args) : runCli(args)

const mode = async (path: string) => (await stat(path)).mode & 0o777

let dir: string
let cleanup: () => Promise<void>
let dummy: string
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-install-'))
  // world-readable, so the runs as nobody can read it too
  await chmod(dir, 0o755)
  dummy = join(dir, 'kith-dummy')
  await writeFile(dummy, '#!/bin/sh\necho "not really kith"\n', { mode: 0o644 })
})
afterAll(() => cleanup())

async function stage(name: string, extra: string[] = []): Promise<{ root: string; result: CliResult }> {
  const root = join(dir, name)
  const result = await runCli([
    'install',
    '--systemd',
    '--root',
    root,
    '--binary',
    dummy,
    '--no-start',
    ...extra,
  ])
  return { root, result }
}

describe('kith install --systemd --root', () => {
  it('lays out the binary, config, identity and unit', async () => {
    const { root, result } = await stage('layout', ['--name', 'hall-hub'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)

    const binary = join(root, 'usr/local/bin/kith')
    expect(await readFile(binary, 'utf8')).toBe(await readFile(dummy, 'utf8'))
    expect(await mode(binary)).toBe(0o755)

    expect(await mode(join(root, 'etc/kith'))).toBe(0o750)
    expect(await mode(join(root, 'var/lib/kith'))).toBe(0o750)
    const configFile = join(root, 'etc/kith/kith.yaml')
    expect(await mode(configFile)).toBe(0o640)
    const written = parse(await readFile(configFile, 'utf8')) as Record<string, unknown>
    // the paths the service will see, not the staging ones
    expect(written).toMatchObject({
      name: 'hall-hub',
      dataDir: '/var/lib/kith',
      identity: '/var/lib/kith/identity.key',
    })
    const config = await loadConfig(configFile, { env: {} })
    expect(config.api.listen).toBe('127.0.0.1:7700')

    const key = join(root, 'var/lib/kith/identity.key')
    expect(await mode(key)).toBe(0o600)
    const { peerId } = await loadIdentity(key)
    expect(result.stdout).toContain(`peer id ${peerId.toString()}`)

    // no tss group in the staged /etc/group, so no SupplementaryGroups: the default unit, as in the repository
    const unit = await readFile(join(root, 'etc/systemd/system/kith.service'), 'utf8')
    expect(unit).toBe(systemdUnit())
    expect(unit).toBe(await readFile(join(ROOT, 'scripts/kith.service'), 'utf8'))
  })

  it('run twice, keeps the config and the identity', async () => {
    const first = await stage('twice')
    expect(first.result.code).toBe(0)
    const key = join(first.root, 'var/lib/kith/identity.key')
    const configFile = join(first.root, 'etc/kith/kith.yaml')
    const keyBefore = await readFile(key, 'utf8')
    const configBefore = await readFile(configFile, 'utf8')

    const second = await stage('twice', ['--api', '127.0.0.1:7800', '--name', 'other'])
    expect(second.result.stderr).toBe('')
    expect(second.result.code).toBe(0)
    expect(second.result.stdout).toMatch(/kith\.yaml exists; kept/)
    expect(second.result.stdout).toMatch(/--api, --name not applied/)
    expect(second.result.stdout).toMatch(/identity .* exists; kept/)
    expect(second.result.stdout).not.toMatch(/^\+ /m)
    expect(await readFile(key, 'utf8')).toBe(keyBefore)
    expect(await readFile(configFile, 'utf8')).toBe(configBefore)
  })

  it('adds SupplementaryGroups=tss when the target has a tss group', async () => {
    const root = join(dir, 'tss')
    await mkdir(join(root, 'etc'), { recursive: true })
    await writeFile(join(root, 'etc/group'), 'root:x:0:\ntss:x:110:\n')
    const { result } = await stage('tss')
    expect(result.code).toBe(0)
    const unit = await readFile(join(root, 'etc/systemd/system/kith.service'), 'utf8')
    expect(unit).toBe(systemdUnit({ supplementaryGroups: ['tss'] }))
  })

  it('beyond loopback, writes an API token file that the config names', async () => {
    const { root, result } = await stage('lan', ['--api', '0.0.0.0:7700'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const token = join(root, 'etc/kith/api.token')
    expect(await mode(token)).toBe(0o640)
    const config = await loadConfig(join(root, 'etc/kith/kith.yaml'), { env: {} })
    expect(config.apiToken).toBe((await readFile(token, 'utf8')).trim())
    expect(config.apiToken!.length).toBeGreaterThanOrEqual(16)
  })

  it('refuses a bad option before writing anything', async () => {
    const { root, result } = await stage('bad', ['--memory-max', 'lots'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/--memory-max lots/)
    expect(existsSync(root)).toBe(false)
  })

  // verify insists that ExecStart's binary exists. `systemd-analyze verify --root=DIR` (systemd 252) looks for
  // every unit the service depends on (sysinit.target…) inside DIR too, so instead a copy of the written unit
  // whose ExecStart names the staged binary is verified on the host. Verify exits 0 even for unknown keys,
  // so any complaint about the unit on stderr fails the test as well.
  it.skipIf(skipWithout('systemd-analyze'))('writes a unit that systemd-analyze verify accepts', async () => {
    const withTss = join(dir, 'verify-tss')
    await mkdir(join(withTss, 'etc'), { recursive: true })
    await writeFile(join(withTss, 'etc/group'), 'tss:x:110:\n')
    for (const name of ['verify-plain', 'verify-tss']) {
      const { root, result } = await stage(name)
      expect(result.code).toBe(0)
      const staged = join(root, 'usr/local/bin/kith')
      const unit = (await readFile(join(root, 'etc/systemd/system/kith.service'), 'utf8')).replace(
        /^ExecStart=\/usr\/local\/bin\/kith /m,
        `ExecStart=${staged} `,
      )
      expect(unit).toContain(`ExecStart=${staged} start`)
      const checkDir = join(dir, `${name}-check`)
      await mkdir(checkDir)
      const file = join(checkDir, 'kith.service')
      await writeFile(file, unit)
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' })
      expect(verify.stderr).not.toMatch(/Unknown (key|lvalue|section)|Invalid|Failed to parse|ignoring/i)
      expect(verify.stderr.split('\n').filter((l) => l.includes('kith.service'))).toEqual([])
      expect(verify.status).toBe(0)

      // the exposure score, where this systemd can rate a unit file offline (systemd 250+)
      const security = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], {
        encoding: 'utf8',
      })
      const score = /Overall exposure level for kith\.service: ([\d.]+)/.exec(security.stdout)
      if (score != null) expect(Number(score[1])).toBeLessThanOrEqual(2.5)
    }
  })
})

// as root, these run as nobody, which needs to be able to read the checkout
describe.skipIf(skipWithout('nobody'))('kith install --systemd without root', () => {
  it('refuses, and says how to go on', async () => {
    const res = await runCliUnprivileged(['install', '--systemd', '--binary', dummy])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/needs root: run it with sudo, or add --dry-run/)
  })

  it('--dry-run prints the plan and changes nothing', async () => {
    const watched = ['/usr/local/bin/kith', '/etc/kith/kith.yaml', '/etc/systemd/system/kith.service']
    const before = watched.map((p) => existsSync(p))
    const res = await runCliUnprivileged(['install', '--systemd', '--binary', dummy, '--dry-run'])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/nothing is changed/)
    expect(res.stdout).toMatch(/\/usr\/local\/bin\/kith/)
    expect(res.stdout).toMatch(/\/etc\/systemd\/system\/kith\.service/)
    expect(res.stdout).not.toMatch(/^\+ /m)
    expect(watched.map((p) => existsSync(p))).toEqual(before)

    const root = join(dir, 'dry')
    await mkdir(root)
    await chmod(root, 0o777)
    const staged = await runCliUnprivileged([
      'install',
      '--systemd',
      '--root',
      root,
      '--binary',
      dummy,
      '--dry-run',
    ])
    expect(staged.code).toBe(0)
    expect(staged.stdout).toMatch(/^would copy .* to .*\/dry\/usr\/local\/bin\/kith \(0755\)$/m)
    expect(staged.stdout).toMatch(/^would create identity .*\/dry\/var\/lib\/kith\/identity\.key/m)
    expect(staged.stdout).toMatch(/^would write .*\/dry\/etc\/systemd\/system\/kith\.service$/m)
    expect(await readdir(root)).toEqual([])
  })
})

describe('scripts/install-pi.sh', () => {
  it.skipIf(skipWithout('xz'))(
    'checks the SHA-256, unpacks .xz and hands its arguments to BINARY install --systemd',
    async () => {
      const work = join(dir, 'release')
      await mkdir(work)
      const fake = join(work, 'kith-linux-arm64')
      // a stand-in release binary that only reports how it was called
      await writeFile(fake, '#!/bin/sh\necho "called: $*"\n')
      const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { cwd: work, encoding: 'utf8' })
      expect(sh('sha256sum kith-linux-arm64 > kith-linux-arm64.sha256 && xz kith-linux-arm64').status).toBe(0)
      expect(sh('sha256sum kith-linux-arm64.xz > kith-linux-arm64.xz.sha256').status).toBe(0)

      const script = join(ROOT, 'scripts/install-pi.sh')
      const ok = sh(`sh ${script} kith-linux-arm64.xz --dry-run --name hall`)
      expect(ok.stderr).toMatch(/kith-linux-arm64\.xz: SHA-256 ok/)
      expect(ok.stderr).toMatch(/kith-linux-arm64: SHA-256 ok/)
      expect(ok.stdout.trim()).toBe('called: install --systemd --dry-run --name hall')
      expect(await mode(fake)).toBe(0o755)

      await writeFile(fake, '#!/bin/sh\necho "tampered"\n')
      const bad = sh(`sh ${script} kith-linux-arm64`)
      expect(bad.status).toBe(1)
      expect(bad.stderr).toMatch(/SHA-256 is [0-9a-f]+ but .*kith-linux-arm64\.sha256 says/)
      expect(bad.stdout).toBe('')
    },
  )
})
