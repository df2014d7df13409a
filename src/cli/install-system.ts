/**
 * What `kith install` needs from the system: users and groups (through NSS, else the files), programs on the
 * PATH or in the sbin folders, and files written with their mode and owner set before their content.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, createReadStream, readFileSync } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { delimiter, isAbsolute, join } from 'node:path'
import { KithError } from '../util/errors.ts'

/** Where system tools live when the PATH (a sudo one, say) leaves them out. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** `kith install` cannot go on; the message says what to do (run as root, free a path). */
export class InstallError extends KithError {
  static override readonly code = 'install_failed'
  constructor(message: string) {
    super(message)
    this.name = 'InstallError'
  }
}

export type Owner = { uid: number; gid: number }

export async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)])
  if (sa.size !== sb.size) return false
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)])
  return ha === hb
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Whether a file exists; `hidden` when a directory on the way may not be searched (a dry run without root). */
export async function presence(path: string): Promise<'yes' | 'no' | 'hidden'> {
  try {
    await stat(path)
    return 'yes'
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'hidden' : 'no'
  }
}

/** Writes a file that must not exist yet, with its mode (and owner) set before any content is in it. */
export async function writeNew(path: string, text: string, mode: number, owner?: Owner): Promise<void> {
  const handle = await open(path, 'wx', mode)
  try {
    await handle.chmod(mode)
    if (owner != null) await handle.chown(owner.uid, owner.gid)
    await handle.writeFile(text)
  } finally {
    await handle.close()
  }
}

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d)), ...SBIN]
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not in this directory
    }
  }
  return undefined
}

export function exec(name: string, args: string[]): void {
  const command = findExecutable(name)
  if (command == null)
    throw new InstallError(`${name} is not installed; it is needed for: ${name} ${args.join(' ')}`)
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (result.error != null || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim() || `exit ${result.status}`)
    throw new InstallError(`${name} ${args.join(' ')} failed: ${why}`)
  }
}

/** A passwd entry through NSS (getent), else /etc/passwd. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const fields = lookup('passwd', name, '/etc/passwd')
  return fields == null ? undefined : { uid: Number(fields[2]), gid: Number(fields[3]) }
}

export function lookupGroup(name: string): { gid: number; members: string[] } | undefined {
  const fields = lookup('group', name, '/etc/group')
  return fields == null ? undefined : groupOf(fields)
}

export function readGroupFile(file: string, name: string): { gid: number; members: string[] } | undefined {
  const fields = findEntry(file, name)
  return fields == null ? undefined : groupOf(fields)
}

function groupOf(fields: string[]): { gid: number; members: string[] } {
  return { gid: Number(fields[2]), members: (fields[3] ?? '').split(',').filter((m) => m !== '') }
}

function lookup(db: string, name: string, file: string): string[] | undefined {
  const getent = findExecutable('getent')
  if (getent == null) return findEntry(file, name)
  const result = spawnSync(getent, [db, name], { encoding: 'utf8' })
  // getent exits 2 when the key is not found
  if (result.status !== 0) return undefined
  return result.stdout.trim().split(':')
}

function findEntry(file: string, name: string): string[] | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name)
}
