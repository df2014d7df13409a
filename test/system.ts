/**
 * The one skip policy for tests that need a part of the machine (a Debian package, root, the arm64 sysroot).
 * Locally a missing part skips the test with a warning that names the install command; under `CI=true` it fails
 * the file instead, because a skip there would hide that the part is not tested at all. `npm test` runs
 * scripts/system-deps.sh first, which installs the same parts as root: change both lists together.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { MOSQUITTO } from './brokers.ts'
import { onPath } from './fixtures/tpm/swtpm.ts'
import { CLI, ROOT } from './helpers.ts'

/** Where scripts/system-deps.sh and scripts/arm64-sysroot.sh unpack Debian's arm64 C runtime. */
export const ARM64_SYSROOT = join(ROOT, '.cache', 'arm64-sysroot')
export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static'

/** Why `ip netns` cannot be used here, or null when it can. */
function netnsProblem(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for `ip netns` (run the tests as root)'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
  } catch {
    return '`ip netns` is unavailable: run: sudo apt-get install -y iproute2'
  }
  return null
}

const apt = (...packages: string[]) => `run: sudo apt-get install -y ${packages.join(' ')}`

/** The uid of `nobody`, whom tests run as root use to check what an unprivileged user sees. */
export const NOBODY = 65534

/** Why, as root, `nobody` cannot run the CLI from this checkout, or null when it can (or we are not root). */
function nobodyProblem(): string | null {
  if (process.getuid?.() !== 0) return null
  const run = spawnSync(process.execPath, [CLI, '--version'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' })
  if (run.status === 0) return null
  return `as root these tests run the CLI as nobody, who cannot read the checkout at ${ROOT}: run: chmod o+rX on it and its parent directories`
}

/** The machine's own IPv4 address on a non-loopback interface, if it has one. */
export const LAN_IP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a != null && a.family === 'IPv4' && !a.internal)?.address

/** Each part: why it is missing (with what to run), or null when it is there. */
const PARTS = {
  mosquitto: () => (MOSQUITTO != null ? null : `mosquitto is missing: ${apt('mosquitto')}`),
  openssl: () => (onPath('openssl') ? null : `openssl is missing: ${apt('openssl')}`),
  swtpm: () =>
    onPath('swtpm') && onPath('tpm2_quote')
      ? null
      : `swtpm or tpm2-tools is missing: ${apt('swtpm', 'swtpm-tools', 'tpm2-tools')}`,
  netns: netnsProblem,
  nobody: nobodyProblem,
  'lan-address': () =>
    LAN_IP !== undefined ? null : 'no non-loopback IPv4 interface: connect the machine to a network',
  xz: () =>
    onPath('xz') && onPath('sha256sum')
      ? null
      : `xz or sha256sum is missing: ${apt('xz-utils', 'coreutils')}`,
  'systemd-analyze': () =>
    onPath('systemd-analyze') ? null : `systemd-analyze is missing: ${apt('systemd')}`,
  'qemu-arm64': () => {
    if (!existsSync(QEMU_AARCH64)) return `qemu-user-static is missing: ${apt('qemu-user-static')}`
    if (!existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
      return `the arm64 sysroot is missing: run: sudo sh scripts/arm64-sysroot.sh ${ARM64_SYSROOT}`
    return null
  },
  chromium: () =>
    existsSync('/usr/bin/chromium') ? null : `chromium is missing: ${apt('chromium', 'fonts-liberation')}`,
} satisfies Record<string, () => string | null>

export type SystemPart = keyof typeof PARTS

/** Raised under `CI=true` when a test's system part is missing: CI must run every test. */
export class MissingSystemPartError extends Error {
  override name = 'MissingSystemPartError'
}

/** The first missing part's reason, or null when all of `parts` are there. */
export function missingPart(...parts: SystemPart[]): string | null {
  for (const part of parts) {
    const problem = PARTS[part]()
    if (problem != null) return problem
  }
  return null
}

/**
 * True when a test that needs `parts` must be skipped: a part is missing and CI is not set (a warning names
 * it). Under `CI=true` a missing part throws, which fails the test file. Use it as
 * `describe.skipIf(skipWithout('swtpm'))(…)`.
 */
export function skipWithout(...parts: SystemPart[]): boolean {
  const problem = missingPart(...parts)
  if (problem == null) return false
  if (process.env.CI != null && process.env.CI !== '' && process.env.CI !== 'false')
    throw new MissingSystemPartError(`CI runs every test, and ${problem} (or run: sh scripts/system-deps.sh)`)
  console.warn(`skipped (${parts.join(', ')}): ${problem}`)
  return true
}
