/**
 * `kith install --systemd`: turns one copied binary into a hardened system service. It copies the binary to
 * /usr/local/bin, creates the `kith` system user, makes /etc/kith (config, root:kith 0750) and /var/lib/kith
 * (state and identity, kith 0750), writes the unit from systemd-unit.ts and enables it. Every step checks
 * first, so running it again changes only what is missing or out of date; a config or identity is never
 * overwritten. `--root DIR` only lays out files under DIR (image builders, tests); `--dry-run` only prints.
 */
import { existsSync } from 'node:fs'
import { chmod, chown, copyFile, mkdir, readFile, realpath, rename, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseHostPort } from '../config/index.ts'
import {
  CONFIG_DIR,
  ensureConfig,
  ensureIdentity,
  newConfig,
  type NewConfigOptions,
} from './install-config.ts'
import {
  type Account,
  exec,
  findExecutable,
  InstallError,
  lookupGroup,
  lookupUser,
  type Owner,
  readGroupFile,
  type Run,
  sameContent,
  writeNew,
} from './install-system.ts'
import { MEMORY_MAX, systemdUnit, UNIT_BINARY, UNIT_DEFAULTS, UNIT_STATE_DIR } from './systemd-unit.ts'

export interface InstallOptions extends NewConfigOptions {
  /** the executable to install; default: the running one when it is the kith binary */
  binary?: string
  /** lay out files under this directory instead of `/`: no user, no ownership, no systemctl */
  root?: string
  user?: string
  memoryMax?: string
  /** false: enable the unit but do not start it now */
  start?: boolean
  dryRun?: boolean
}

export { InstallError }

const UNIT_FILE = '/etc/systemd/system/kith.service'
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/

/**
 * Installs kith as a systemd service; prints each step (`+` done, `=` already so, `would` in a dry run).
 *
 * @example
 * await installSystemd({ root: '/tmp/image', binary: './kith-linux-arm64', start: false })
 */
export async function installSystemd(options: InstallOptions): Promise<void> {
  const root = resolve(options.root ?? '/')
  const staging = root !== '/'
  const dryRun = options.dryRun === true
  const user = options.user ?? UNIT_DEFAULTS.user
  const memoryMax = options.memoryMax ?? UNIT_DEFAULTS.memoryMax
  if (!USER_NAME.test(user)) throw new InstallError(`--user ${user}: not a valid user name`)
  if (!MEMORY_MAX.test(memoryMax))
    throw new InstallError(`--memory-max ${memoryMax}: expected e.g. 256M, 1G, 50% or infinity`)
  const doc = newConfig(options) // bad --api, --name, --listen or --bootstrap: refused before any change
  if (!staging && !dryRun && process.getuid?.() !== 0) {
    throw new InstallError(
      'installing a system service needs root: run it with sudo, or add --dry-run to see the plan, ' +
        'or --root DIR to lay out the files under DIR',
    )
  }
  const source = await binaryPath(options.binary)
  const say = (line: string) => console.log(line)
  const run: Run = {
    root,
    staging,
    dryRun,
    user,
    at: (path) => join(root, path),
    say,
    step: async (text, apply) => {
      if (dryRun) return say(`would ${text}`)
      await apply()
      say(`+ ${text}`)
    },
    ownership: (text) => (staging ? '' : ` ${text}`),
  }
  if (dryRun) say(`kith install --systemd --dry-run${staging ? ` --root ${root}` : ''}: nothing is changed`)

  const binaryChanged = await installBinary(run, source)
  const account = await ensureAccount(run)
  await ensureDir(run, UNIT_STATE_DIR, 0o750, account.owner, `${user}:${user}`)
  await ensureDir(run, CONFIG_DIR, 0o750, account.rootGroup, `root:${user}`)
  const { identity, binds } = await ensureConfig(run, options, doc, account)
  await ensureIdentity(run, identity, account)
  const unitChanged = await writeUnit(
    run,
    systemdUnit({ user, memoryMax, supplementaryGroups: account.tss ? ['tss'] : [] }),
  )
  for (const bind of binds) {
    const port = parseHostPort(bind)?.port ?? 0
    if (port > 0 && port < 1024)
      say(
        `! ${bind} is below port 1024, which needs CAP_NET_BIND_SERVICE: add AmbientCapabilities= and ` +
          'CapabilityBoundingSet=CAP_NET_BIND_SERVICE with `systemctl edit kith`',
      )
  }
  await enableService(run, options.start !== false, binaryChanged || unitChanged)
}

/** Copies the binary to /usr/local/bin/kith unless it is already there; true when it did. */
async function installBinary(run: Run, source: string): Promise<boolean> {
  const target = run.at(UNIT_BINARY)
  if (existsSync(target) && (await realpath(source)) === (await realpath(target))) {
    run.say(`= ${target} is the binary running now; kept`)
    return false
  }
  if (existsSync(target) && (await sameContent(source, target))) {
    run.say(`= ${target} already holds this binary`)
    return false
  }
  await run.step(`copy ${source} to ${target} (0755)`, async () => {
    await mkdir(dirname(target), { recursive: true, mode: 0o755 })
    // a new file renamed over the old one: the running binary is replaced, never written into
    const temp = `${target}.new-${process.pid}`
    await copyFile(source, temp)
    await chmod(temp, 0o755)
    await rename(temp, target)
  })
  return true
}

/** The system user, in the tss group where that exists (it alone grants /dev/tpmrm0). */
async function ensureAccount(run: Run): Promise<Account> {
  const { user } = run
  const tss = run.staging ? readGroupFile(run.at('/etc/group'), 'tss') : lookupGroup('tss')
  if (run.staging) {
    run.say(`= --root: no system user is created and no owner set; the target needs user and group ${user}`)
    return { tss: tss != null }
  }
  let account = lookupUser(user)
  if (account == null) {
    const shell = ['/usr/sbin/nologin', '/sbin/nologin'].find((s) => existsSync(s)) ?? '/bin/false'
    const group = lookupGroup(user) != null ? ['--gid', user] : ['--user-group']
    const args = [
      '--system',
      '--home-dir',
      UNIT_STATE_DIR,
      '--no-create-home',
      '--shell',
      shell,
      ...group,
      user,
    ]
    await run.step(`create system user ${user} (home ${UNIT_STATE_DIR}, shell ${shell}, no login)`, () =>
      exec('useradd', args),
    )
    account = run.dryRun ? undefined : lookupUser(user)
  } else {
    run.say(`= system user ${user} exists`)
  }
  if (tss != null) {
    if (tss.members.includes(user) || account?.gid === tss.gid)
      run.say(`= ${user} is in the tss group (TPM access)`)
    else
      await run.step(`add ${user} to the tss group (TPM access through /dev/tpmrm0)`, () =>
        exec('usermod', ['--append', '--groups', 'tss', user]),
      )
  }
  if (account == null) return { tss: tss != null }
  return { owner: account, rootGroup: { uid: 0, gid: account.gid }, tss: tss != null }
}

/** Writes the unit file when its text differs; true when it did. */
async function writeUnit(run: Run, unit: string): Promise<boolean> {
  const file = run.at(UNIT_FILE)
  const current = existsSync(file) ? await readFile(file, 'utf8') : undefined
  if (current === unit) {
    run.say(`= ${file} is up to date`)
    return false
  }
  const groups = /^SupplementaryGroups=.*$/m.exec(unit)?.[0]
  await run.step(
    `${current == null ? 'write' : 'rewrite'} ${file}${groups != null ? ` (with ${groups})` : ''}`,
    async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o755 })
      const temp = `${file}.new-${process.pid}`
      await writeNew(temp, unit, 0o644)
      await rename(temp, file)
    },
  )
  return true
}

async function enableService(run: Run, start: boolean, changed: boolean): Promise<void> {
  const manual = ['systemctl daemon-reload', `systemctl enable ${start ? '--now ' : ''}kith`]
  if (run.staging) return run.say(`= --root: files only. On the target system: ${manual.join(' && ')}`)
  const systemctl = findExecutable('systemctl')
  if (systemctl == null || !existsSync('/run/systemd/system')) {
    const why = systemctl == null ? 'systemctl is not installed' : 'systemd is not running here'
    return run.say(`! ${why}; once it is, run: ${manual.join(' && ')}`)
  }
  await run.step('systemctl daemon-reload', () => exec('systemctl', ['daemon-reload']))
  // a running service keeps the old binary and unit until restarted; try-restart leaves a stopped one alone
  if (changed) await run.step('systemctl try-restart kith', () => exec('systemctl', ['try-restart', 'kith']))
  if (start) {
    await run.step('systemctl enable --now kith', () => exec('systemctl', ['enable', '--now', 'kith']))
  } else {
    await run.step('systemctl enable kith (not started: --no-start)', () =>
      exec('systemctl', ['enable', 'kith']),
    )
    run.say('  start it with: systemctl start kith')
  }
  run.say('  logs: journalctl -u kith -f')
}

async function binaryPath(given: string | undefined): Promise<string> {
  let path = given
  if (path == null) {
    const { isSea } = await import('node:sea')
    if (!isSea())
      throw new InstallError(
        'not running as the kith binary (a checkout?): say which executable to install with --binary PATH',
      )
    path = process.execPath
  }
  path = resolve(path)
  const info = await stat(path).catch(() => undefined)
  if (info == null || !info.isFile()) throw new InstallError(`--binary ${path}: not a file`)
  return path
}

async function ensureDir(run: Run, path: string, mode: number, owner: Owner | undefined, ownerText: string) {
  const dir = run.at(path)
  const info = await stat(dir).catch(() => undefined)
  const want = `${mode.toString(8).padStart(4, '0')}${run.ownership(ownerText)}`
  if (info == null) {
    return run.step(`create ${dir} (${want})`, async () => {
      await mkdir(dirname(dir), { recursive: true, mode: 0o755 })
      await mkdir(dir, { mode })
      await chmod(dir, mode) // the umask may have narrowed it
      if (owner != null) await chown(dir, owner.uid, owner.gid)
    })
  }
  const modeOk = (info.mode & 0o7777) === mode
  const ownerOk = owner == null || (info.uid === owner.uid && info.gid === owner.gid)
  if (modeOk && ownerOk) return run.say(`= ${dir} exists (${want})`)
  return run.step(`set ${dir} to ${want}`, async () => {
    await chmod(dir, mode)
    if (owner != null) await chown(dir, owner.uid, owner.gid)
  })
}
