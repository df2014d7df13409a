/**
 * Wires the discovery plane from the config: the soft-state store, the announcer (bodyless gossip or the
 * flooding baseline), and the state that feeds this node's own descriptor.
 */
import type { Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { Announcer } from '../discovery/announcer.ts'
import type { Capability, NodeState } from '../discovery/descriptor.ts'
import { DescriptorStore } from '../discovery/store.ts'
import { createVerifier } from '../discovery/verify.ts'
import type { Database } from '../store/database.ts'
import { KeyValue } from '../store/kv.ts'
import { componentLogger, type Logger } from '../util/logger.ts'

const SEQ_KEY = 'discovery.seq'

/** What the discovery plane needs to know about this node at announce time. */
export interface LocalState {
  state(): NodeState
  capabilities(): Capability[]
}

export interface DiscoveryPlane {
  store: DescriptorStore
  announcer: Announcer
  start(): Promise<void>
  stop(): Promise<void>
}

/** The descriptor entries of the script capabilities in the config (paths and local settings left out). */
export function configCapabilities(config: Config): Capability[] {
  return config.capabilities.map((c) => ({
    id: c.id,
    title: c.title,
    description: c.description,
    tags: c.tags,
    kind: c.kind,
    risk: c.risk,
    input: c.input,
    output: c.output,
    ...(c.deterministic ? { deterministic: true } : {}),
  }))
}

export function buildDiscovery(parts: {
  config: Config
  identity: Identity
  host: KithLibp2p
  db: Database
  logger: Logger
  local: LocalState
}): DiscoveryPlane {
  const { config, host, local } = parts
  const kv = new KeyValue(parts.db)
  const store = new DescriptorStore({
    maxEntries: config.discovery.maxDescriptors,
    maxSkewMs: config.discovery.maxClockSkew,
  })
  const announcer = new Announcer(
    {
      host,
      store,
      sign: parts.identity.sign,
      verify: createVerifier(),
      describe: () => ({
        addrs: host.getMultiaddrs().map(String).slice(0, 16),
        state: local.state(),
        caps: local.capabilities(),
        attest: { tpm: false },
      }),
      seq: { load: () => Number(kv.get(SEQ_KEY) ?? 0), save: (seq) => kv.set(SEQ_KEY, String(seq)) },
      log: componentLogger(parts.logger, 'kith:discovery:announcer'),
    },
    { ttlMs: config.discovery.ttl, mode: config.discovery.mode },
  )
  return {
    store,
    announcer,
    async start() {
      store.start()
      await announcer.start()
    },
    async stop() {
      await announcer.stop()
      store.stop()
    },
  }
}
