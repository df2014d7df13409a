/**
 * scripts/system-deps.sh, the set-up step of `npm test` and .ci/run, run with a fake PATH: stubs stand in for
 * `id` (to be root or not) and `apt-get` (which records its arguments and changes nothing), so every path is
 * checked without installing or removing a package.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ROOT, tempDir } from '../helpers.ts'
import { MissingSystemPartError, skipWithout } from '../system.ts'

const SCRIPT = join(ROOT, 'scripts', 'system-deps.sh')
/** What the script looks for on PATH; qemu-user-static and chromium it finds by their absolute paths. */
const COMMANDS = [
  'ip',
  'mosquitto',
  'openssl',
  'swtpm',
  'tpm2_quote',
  'xz',
  'aarch64-linux-gnu-strip',
  'systemd-analyze',
]

let dir: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-system-deps-'))
})
afterAll(async () => {
  await cleanup()
})

/** A folder for PATH holding `dirname`, an `id` that says `uid`, an `apt-get` that logs, and `commands`. */
async function fakeBin(name: string, uid: number, commands: string[]): Promise<string> {
  const bin = join(dir, name)
  await mkdir(bin)
  const write = async (file: string, body: string) => {
    await writeFile(join(bin, file), `#!/bin/sh\n${body}\n`)
    await chmod(join(bin, file), 0o755)
  }
  await write('dirname', 'exec /usr/bin/dirname "$@"')
  await write('id', `echo ${uid}`)
  await write('apt-get', `echo "apt-get $*" >> ${join(bin, 'apt-get.log')}`)
  for (const command of commands) await write(command, 'exit 0')
  return bin
}

/** An unpacked arm64 sysroot as far as the script looks. */
async function fakeSysroot(name: string): Promise<string> {
  const sysroot = join(dir, name)
  await mkdir(join(sysroot, 'lib'), { recursive: true })
  await writeFile(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'), '')
  return sysroot
}

function runScript(path: string, sysroot: string) {
  return spawnSync('/bin/sh', [SCRIPT], {
    cwd: dir,
    env: { PATH: path, KITH_SYSROOT: sysroot },
    encoding: 'utf8',
  })
}

const aptLog = (bin: string) => join(bin, 'apt-get.log')

describe('scripts/system-deps.sh', () => {
  it('not root and packages missing: exits 1 at once with one line naming the apt-get command', async () => {
    const bin = await fakeBin('bare', 1000, [])
    const res = runScript(bin, join(dir, 'no-sysroot'))
    expect(res.status).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr.endsWith('\n')).toBe(true)
    const line = res.stderr.slice(0, -1)
    expect(line).not.toContain('\n')
    const m =
      /^kith: missing system packages: (.+) — run: sudo apt-get install -y (.+) && sudo sh scripts\/arm64-sysroot.sh (\S+)$/.exec(
        line,
      )
    expect(m, line).not.toBeNull()
    const [, named, install, sysroot] = m as unknown as [string, string, string, string]
    // those the fake PATH hides, whatever else the machine lacks (ip and mosquitto may sit in /usr/sbin)
    for (const pkg of [
      'openssl',
      'swtpm',
      'swtpm-tools',
      'tpm2-tools',
      'xz-utils',
      'binutils-aarch64-linux-gnu',
      'systemd',
    ])
      expect(install.split(' ')).toContain(pkg)
    expect(named).toBe(`${install} ${join(dir, 'no-sysroot')} (arm64 sysroot)`)
    expect(sysroot).toBe(join(dir, 'no-sysroot'))
    expect(existsSync(aptLog(bin))).toBe(false)
  })

  it.skipIf(skipWithout('qemu-arm64', 'chromium'))(
    'not root and everything present: exits 0, prints nothing and runs no apt-get',
    async () => {
      const bin = await fakeBin('full', 1000, COMMANDS)
      const res = runScript(bin, await fakeSysroot('sysroot-full'))
      expect(res.stderr).toBe('')
      expect(res.stdout).toBe('')
      expect(res.status).toBe(0)
      expect(existsSync(aptLog(bin))).toBe(false)
    },
  )

  it.skipIf(skipWithout('qemu-arm64', 'chromium'))(
    'as root with packages missing: installs exactly those, after one apt-get update',
    async () => {
      const present = COMMANDS.filter((c) => c !== 'openssl' && c !== 'tpm2_quote')
      const bin = await fakeBin('root', 0, present)
      const res = runScript(bin, await fakeSysroot('sysroot-root'))
      expect(res.status, res.stderr).toBe(0)
      expect(res.stderr).toBe('kith: installing system packages: openssl tpm2-tools\n')
      expect((await readFile(aptLog(bin), 'utf8')).split('\n')).toEqual([
        'apt-get update -qq',
        'apt-get install -y -qq --no-install-recommends openssl tpm2-tools',
        '',
      ])
    },
  )

  it.skipIf(skipWithout('mosquitto', 'openssl', 'swtpm', 'xz', 'systemd-analyze', 'qemu-arm64', 'chromium'))(
    'on this machine, with everything installed: exits 0 and runs no apt-get',
    async () => {
      const bin = await fakeBin('real', 1000, [])
      // the stubs come first, so a call to apt-get would be logged instead of run
      const res = spawnSync('/bin/sh', [SCRIPT], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
        encoding: 'utf8',
      })
      expect(res.stderr).toBe('')
      expect(res.status).toBe(0)
      expect(existsSync(aptLog(bin))).toBe(false)
    },
  )
})

describe('skipWithout, the tests’ one skip policy', () => {
  /** Runs `fn` with PATH emptied (swtpm then looks missing) and CI set to `ci`, then puts both back. */
  function withoutPath<T>(ci: string | undefined, fn: () => T): T {
    const saved = { PATH: process.env.PATH, CI: process.env.CI }
    process.env.PATH = join(dir, 'empty')
    if (ci == null) delete process.env.CI
    else process.env.CI = ci
    try {
      return fn()
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value == null) delete process.env[key]
        else process.env[key] = value
      }
    }
  }

  it('skips a test whose part is missing when CI is not set, and says what to install', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      expect(withoutPath(undefined, () => skipWithout('swtpm'))).toBe(true)
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/run: sudo apt-get install -y swtpm swtpm-tools tpm2-tools/),
      )
    } finally {
      warn.mockRestore()
    }
  })

  it('fails under CI=true instead, naming the install command', () => {
    expect(() => withoutPath('true', () => skipWithout('swtpm'))).toThrow(MissingSystemPartError)
    expect(() => withoutPath('true', () => skipWithout('swtpm'))).toThrow(
      /CI runs every test, and swtpm or tpm2-tools is missing: run: sudo apt-get install -y swtpm swtpm-tools tpm2-tools/,
    )
  })

  it('runs a test whose parts are there', () => {
    expect(skipWithout()).toBe(false)
  })
})
