/** Real kith nodes for tests: an identity and a `kith.yaml` on disk, loopback ports chosen by the OS. */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../src/config/index.ts'
import { createIdentity } from '../src/connectivity/identity.ts'
import type { LocalState } from '../src/node/discovery.ts'
import { createNode, type KithNode } from '../src/node/node.ts'
import { silentLogger } from '../src/util/logger.ts'
import { writeText } from './helpers.ts'

export interface TestNodeOptions {
  /** multiaddrs to bootstrap from */
  bootstrap?: string[]
  /** more top-level YAML lines, e.g. `discovery: { ttl: 3000 }` */
  yaml?: string[]
  /** the node's state and advertised capabilities, instead of the sampler and the config */
  local?: LocalState
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
    ...((options.yaml ?? []).some((l) => l.startsWith('mqtt:')) ? [] : ['mqtt: { listen: 127.0.0.1:0 }']),
    ...(options.yaml ?? []),
  ]
  const config = await loadConfig(await writeText(dir, 'kith.yaml', `${yaml.join('\n')}\n`), { env: {} })
  const node = await createNode(config, silentLogger(), options.local != null ? { local: options.local } : {})
  await node.start()
  return node
}
