/**
 * The config and identity steps of `kith install --systemd`: a new /etc/kith/kith.yaml (and an API token file
 * when the API listens beyond loopback) unless one exists, and the node's identity unless it exists. An
 * existing config is checked as the node would load it; neither file is ever overwritten.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chown, mkdir, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { stringify } from 'yaml'
import {
  CONFIG_VERSION,
  configSchema,
  DEFAULT_API,
  DEFAULT_LISTEN,
  isLoopbackHost,
  parseHostPort,
} from '../config/index.ts'
import { createIdentity, loadIdentity } from '../connectivity/identity.ts'
import { loadNodeConfig } from '../node/config.ts'
import { type Account, InstallError, presence, type Run, writeNew } from './install-system.ts'
import { UNIT_CONFIG, UNIT_STATE_DIR } from './systemd-unit.ts'

/** Where the service's config lives: /etc/kith. */
export const CONFIG_DIR = dirname(UNIT_CONFIG)
const TOKEN_FILE = join(CONFIG_DIR, 'api.token')

const HEADER = `# kith node configuration, written by \`kith install --systemd\`. Every key, its default and its
# meaning: docs/configuration.md. Check it with: kith config check ${UNIT_CONFIG}
# After a change: systemctl restart kith
`

/** The flags of `kith install` that shape a new config. */
export interface NewConfigOptions {
  /** for a new config: `api.listen`; beyond loopback a token file is made */
  api?: string
  /** for a new config: the node's name */
  name?: string
  listen?: string[]
  bootstrap?: string[]
}

/**
 * The config a fresh install writes, checked against the schema before anything on disk changes; throws
 * {@link InstallError} for a bad `--api`, `--name`, `--listen` or `--bootstrap`.
 *
 * @example
 * newConfig({ api: '127.0.0.1:7700' }).dataDir // '/var/lib/kith'
 */
export function newConfig(options: NewConfigOptions): Record<string, unknown> {
  const listen = options.api ?? DEFAULT_API
  const bind = parseHostPort(listen)
  if (bind == null) throw new InstallError(`--api ${listen}: expected HOST:PORT, e.g. 127.0.0.1:7700`)
  const doc: Record<string, unknown> = { version: CONFIG_VERSION }
  if (options.name != null) doc.name = options.name
  doc.dataDir = UNIT_STATE_DIR
  doc.identity = join(UNIT_STATE_DIR, 'identity.key')
  // relative to the config file, so it resolves inside a --root staging tree too
  doc.api = isLoopbackHost(bind.host) ? listen : { listen, tokenFile: relative(CONFIG_DIR, TOKEN_FILE) }
  doc.network = {
    listen: options.listen != null && options.listen.length > 0 ? options.listen : [DEFAULT_LISTEN],
    bootstrap: options.bootstrap ?? [],
  }
  const parsed = configSchema.safeParse(doc)
  if (!parsed.success)
    throw new InstallError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'))
  return doc
}

/**
 * Writes /etc/kith/kith.yaml unless it exists; returns the identity file it names and the ports it binds.
 *
 * @example
 * const { identity, binds } = await ensureConfig(run, options, newConfig(options), account)
 */
export async function ensureConfig(
  run: Run,
  options: NewConfigOptions,
  doc: Record<string, unknown>,
  account: Account,
): Promise<{ identity: string; binds: string[] }> {
  const file = run.at(UNIT_CONFIG)
  const identity = run.at(join(UNIT_STATE_DIR, 'identity.key'))
  const seen = await presence(file)
  if (seen === 'hidden') {
    run.say(`? ${file}: cannot tell whether it exists without root; an existing one is kept`)
    return { identity, binds: [] }
  }
  if (seen === 'yes') {
    run.say(`= ${file} exists; kept as it is`)
    const given = (['api', 'name', 'listen', 'bootstrap'] as const).filter((k) => options[k] != null)
    if (given.length > 0)
      run.say(`  (${given.map((k) => `--${k}`).join(', ')} not applied: edit the config instead)`)
    try {
      const config = await loadNodeConfig(file, { env: {} })
      const named = config.paths.identity
      return {
        // relative paths resolve inside the root already; absolute ones are the target's
        identity: named.startsWith(`${run.root}/`) ? named : run.at(named),
        binds: [config.api.listen, ...(config.mqtt.broker === 'embedded' ? [config.mqtt.listen] : [])],
      }
    } catch (err) {
      if (!run.dryRun) throw err
      run.say(`  (cannot check it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`)
      return { identity, binds: [] }
    }
  }
  const api = options.api ?? DEFAULT_API
  const bind = parseHostPort(api)
  const ownedBy = run.ownership(`root:${run.user}`)
  if (bind != null && !isLoopbackHost(bind.host)) {
    const tokenFile = run.at(TOKEN_FILE)
    if (existsSync(tokenFile)) run.say(`= ${tokenFile} exists; kept`)
    else
      await run.step(
        `write an API token to ${tokenFile} (0640${ownedBy}): the API listens beyond loopback`,
        () => writeNew(tokenFile, `${randomBytes(24).toString('base64url')}\n`, 0o640, account.rootGroup),
      )
  }
  const summary = `dataDir ${UNIT_STATE_DIR}, identity ${join(UNIT_STATE_DIR, 'identity.key')}, api ${api}`
  await run.step(`write ${file} (0640${ownedBy}): ${summary}`, async () => {
    await writeNew(file, HEADER + stringify(doc), 0o640, account.rootGroup)
    await loadNodeConfig(file, { env: {} })
  })
  return { identity, binds: [api] }
}

/**
 * Creates the identity unless it exists; an existing one is only handed to the service user.
 *
 * @example
 * await ensureIdentity(run, '/var/lib/kith/identity.key', account)
 */
export async function ensureIdentity(run: Run, file: string, { owner }: Account): Promise<void> {
  const seen = await presence(file)
  if (seen === 'hidden') {
    run.say(`? ${file}: cannot tell whether it exists without root; an existing one is kept`)
    return
  }
  if (seen === 'yes') {
    run.say(`= identity ${file} exists; kept${await peerIdOf(file)}`)
    if (owner != null && (await stat(file)).uid !== owner.uid)
      await run.step(`give ${file} to ${run.user} (the service reads it)`, () =>
        chown(file, owner.uid, owner.gid),
      )
    return
  }
  let peerId = ''
  await run.step(`create identity ${file} (0600${run.ownership(`${run.user}:${run.user}`)})`, async () => {
    await mkdir(dirname(file), { recursive: true, mode: 0o750 })
    const identity = await createIdentity(file)
    if (owner != null) await chown(file, owner.uid, owner.gid)
    peerId = identity.peerId.toString()
  })
  if (peerId !== '') run.say(`  peer id ${peerId}`)
}

async function peerIdOf(file: string): Promise<string> {
  try {
    return ` (peer id ${(await loadIdentity(file)).peerId.toString()})`
  } catch (err) {
    return ` (${err instanceof Error ? err.message : String(err)})`
  }
}
