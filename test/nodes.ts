/**
 * Real kith nodes for tests: an identity and a `kith.yaml` on disk, loopback ports chosen by the OS; built in
 * this process ({@link startTestNode}) or left for `kith start` in a child process ({@link writeNodeDir}).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../src/config/index.ts'
import { createIdentity } from '../src/connectivity/identity.ts'
import type { LocalState } from '../src/discovery/local-state.ts'
import { createNode, type KithNode } from '../src/node/node.ts'
import { silentLogger } from '../src/util/logger.ts'
import { writeText } from './helpers.ts'

export interface TestNodeOptions {
  /** multiaddrs to bootstrap from */
  bootstrap?: string[]
  /** more top-level YAML lines, e.g. `discovery: { ttl: 3000 }` */
  yaml?: string[]
  /** more `network:` keys, e.g. `{ maxConnections: 12 }` */
  network?: Record<string, number | string | boolean>
  /** the node's state and advertised capabilities, instead of the sampler and the config */
  local?: LocalState
}

export interface NodeDirOptions {
  /** multiaddrs to bootstrap from */
  bootstrap?: string[]
  /** the libp2p listen address; default `/ip4/127.0.0.1/tcp/0` (a fixed port keeps it across restarts) */
  listen?: string
  /** more top-level YAML lines, e.g. `discovery: { ttl: 3000 }` */
  yaml?: string[]
  /** files written into the directory beside the config, e.g. the scripts of script capabilities */
  files?: Record<string, string>
}

/**
 * Creates `dir` with an identity, `files` and a `kith.yaml` (API and libp2p on 127.0.0.1, port 0 unless
 * `listen` says otherwise, DHT and mDNS off) and returns the config's path, for `startCli` or `loadConfig`.
 *
 * @example
 * const config = await writeNodeDir(join(root, 'a'), { files: { 'spin.js': SPIN }, yaml: ['capabilities: …'] })
 * const node = await startCli(config)
 */
export async function writeNodeDir(dir: string, options: NodeDirOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  for (const [name, text] of Object.entries(options.files ?? {})) await writeText(dir, name, text)
  return writeNodeConfig(dir, options)
}

/** Writes (or rewrites, the identity kept) the `kith.yaml` of {@link writeNodeDir}; returns its path. */
export function writeNodeConfig(dir: string, options: Omit<NodeDirOptions, 'files'> = {}): Promise<string> {
  const yaml = [
    'api: 127.0.0.1:0',
    'network:',
    `  listen: [${options.listen ?? '/ip4/127.0.0.1/tcp/0'}]`,
    `  bootstrap: [${(options.bootstrap ?? []).join(', ')}]`,
    '  mdns: false',
    '  dht: off',
    ...((options.yaml ?? []).some((l) => l.startsWith('mqtt:')) ? [] : ['mqtt: { listen: 127.0.0.1:0 }']),
    ...(options.yaml ?? []),
  ]
  return writeText(dir, 'kith.yaml', `${yaml.join('\n')}\n`)
}

/**
 * Creates `dir` with an identity and a config (API and libp2p on 127.0.0.1 port 0, DHT off), then builds
 * and starts the node.
 *
 * @example
 * const node = await startTestNode(join(root, 'a'), { bootstrap: [addr], yaml: ['discovery: { ttl: 3000 }'] })
 */
export async function startTestNode(dir: string, options: TestNodeOptions = {}): Promise<KithNode> {
  await mkdir(dir, { recursive: true })
  await createIdentity(join(dir, 'identity.key'))
  const yaml = [
    'api: 127.0.0.1:0',
    'network:',
    '  listen: [/ip4/127.0.0.1/tcp/0]',
    `  bootstrap: [${(options.bootstrap ?? []).join(', ')}]`,
    '  dht: off',
    ...Object.entries(options.network ?? {}).map(([k, v]) => `  ${k}: ${v}`),
    ...((options.yaml ?? []).some((l) => l.startsWith('mqtt:')) ? [] : ['mqtt: { listen: 127.0.0.1:0 }']),
    ...(options.yaml ?? []),
  ]
  const config = await loadConfig(await writeText(dir, 'kith.yaml', `${yaml.join('\n')}\n`), { env: {} })
  const node = await createNode(config, silentLogger(), options.local != null ? { local: options.local } : {})
  await node.start()
  return node
}
