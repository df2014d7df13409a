/** `kith init`: writes DIR/kith.yaml and DIR/identity.key (mode 0600) and prints the peer id. */
import { mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { CONFIG_VERSION, DEFAULT_API, DEFAULT_LISTEN, isPeerId } from '../config/index.ts'
import { loadNodeConfig } from '../node/config.ts'
import { createIdentity } from '../connectivity/identity.ts'
import { KithError } from '../util/errors.ts'

export interface InitOptions {
  dir: string
  name?: string
  api?: string
  listen?: string[]
  bootstrap?: string[]
  /** the fleet owner id, written as `owner:` */
  owner?: string
}

const HEADER = `# kith node configuration. Every key, its default and its meaning: docs/configuration.md.
# Check it with: kith config check <this file>
`

/** `kith init` refuses: a config or identity is already there, or the directory cannot be written. */
export class InitError extends KithError {
  static override readonly code = 'init_refused'
  static override readonly status = 409
  constructor(message: string, hint?: string) {
    super(message, hint !== undefined ? { hint } : {})
    this.name = 'InitError'
  }
}

/**
 * Creates a node directory; refuses to touch an existing config or identity.
 *
 * @example
 * const { peerId } = await initNode({ dir: '.kith', name: 'hall-hub' })
 */
export async function initNode(options: InitOptions): Promise<{ peerId: string; config: string }> {
  // refused before anything is written: a bad id would leave a directory the next init refuses
  if (options.owner != null && !isPeerId(options.owner))
    throw new InitError(
      `--owner ${options.owner}: not a valid libp2p peer id`,
      'give the owner id that `kith fleet owner init` printed (12D3KooW…)',
    )
  await mkdir(options.dir, { recursive: true, mode: 0o700 })
  const configPath = join(options.dir, 'kith.yaml')
  const doc: Record<string, unknown> = { version: CONFIG_VERSION }
  if (options.owner != null) doc.owner = options.owner
  if (options.name != null) doc.name = options.name
  doc.api = options.api ?? DEFAULT_API
  doc.network = {
    listen: options.listen != null && options.listen.length > 0 ? options.listen : [DEFAULT_LISTEN],
    bootstrap: options.bootstrap ?? [],
  }
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(configPath, 'wx', 0o644)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST')
      throw new InitError(
        `${configPath}: already exists; refusing to overwrite it`,
        `run that node with kith start --config ${configPath}, or give init another --dir`,
      )
    throw new InitError(`${configPath}: ${code}`)
  }
  try {
    await handle.writeFile(HEADER + stringify(doc))
  } finally {
    await handle.close()
  }
  // validate what was written (flags such as --listen may be bad) before making an identity for it
  await loadNodeConfig(configPath, { env: {} })
  const identity = await createIdentity(join(options.dir, 'identity.key'))
  return { peerId: identity.peerId.toString(), config: configPath }
}
