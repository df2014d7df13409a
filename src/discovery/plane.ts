/**
 * The discovery plane, assembled: the soft-state store, the announcers (descriptor v2 summaries with catalog
 * pages, and the fitted v1 copy for peers that speak only v1; or v1 alone, bodyless or the flooding
 * baseline), the page cache, the capability index and the clock estimate, over the node's local state.
 */
import type { Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import type { Database } from '../store/database.ts'
import { KeyValue } from '../store/kv.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { catalogWire, descriptorWire } from './announce-wire.ts'
import { Announcer } from './announcer.ts'
import { ClockOffset, watchClock } from './clock-offset.ts'
import type { Capability, SignatureVerifier } from './descriptor.ts'
import type { DiscoveryEvents } from './events.ts'
import { fitV1 } from './fit-v1.ts'
import { LegacyPeers } from './legacy-peers.ts'
import type { LocalState } from './local-state.ts'
import { CapabilityIndex } from './matcher/index.ts'
import { PageCache } from './page-cache.ts'
import { DescriptorStore } from './store.ts'

const SEQ_KEY = 'discovery.seq'
/** v2 summaries have a sequence of their own (store.ts): the v1 copy keeps the seq v1 peers know */
const SEQ2_KEY = 'discovery.seq2'

export interface DiscoveryPlane {
  store: DescriptorStore
  /** this node's descriptor as most peers see it: the v2 summary (v1 when `discovery.version: 1`) */
  announcer: Announcer
  /** the fitted v1 copy offered to v1-only peers, on a v2 node */
  legacy?: Announcer
  /** catalog pages held for other peers' summaries */
  pages: PageCache
  /** announces at once on every wire this node speaks */
  announce(): Promise<void>
  /** every live capability, indexed for intent queries; follows the store */
  index: CapabilityIndex
  /** how far this node's clock is from its peers', from their notices (`GET /v1/status`, `/metrics`) */
  clock: ClockOffset
  /** changes the ttl of this node's descriptors (a config reload); re-announces at once */
  setTtl(ttlMs: number): void
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The soft-state store of live descriptors, from `discovery:` in the config.
 *
 * @example
 * const store = createDescriptorStore(config, events)
 * const discovery = createDiscovery({ …, store })
 */
export function createDescriptorStore(
  config: Pick<Config, 'discovery'>,
  events: Events<Pick<DiscoveryEvents, 'descriptor'>>,
): DescriptorStore {
  return new DescriptorStore({
    maxEntries: config.discovery.maxDescriptors,
    maxSkewMs: config.discovery.maxClockSkew,
    events,
  })
}

/** What the discovery plane is built over. */
export interface DiscoveryComponents {
  config: Pick<Config, 'discovery'>
  identity: Pick<Identity, 'sign'>
  host: KithLibp2p
  db: Database
  logger: Logger
  local: LocalState
  verify: SignatureVerifier
  events: Events<DiscoveryEvents>
  /** built before the plane: the trust plane takes opinions only from peers it holds */
  store: DescriptorStore
  /** the trust plane's score of a provider, folded into the index's ranking */
  trustOf?: (peer: string, capability: Capability) => number
  /** what this node can attest (its TPM's attestation key), read again for every descriptor */
  attest?: () => { tpm: boolean; akPub?: Uint8Array }
}

/**
 * Builds the discovery plane; `start()` takes the first state sample, then announces.
 *
 * @example
 * const discovery = createDiscovery({ config, identity, host, db, logger, local, verify, events })
 * await discovery.start()
 */
export function createDiscovery(parts: DiscoveryComponents): DiscoveryPlane {
  const { config, host, local } = parts
  const kv = new KeyValue(parts.db)
  const { store } = parts
  const clock = new ClockOffset({ suspectMs: config.discovery.maxClockSkew / 2, events: parts.events })
  const self = host.peerId.toString()
  const pages = new PageCache()
  const v2 = config.discovery.version === 2 && config.discovery.mode === 'bodyless'
  const common = {
    host,
    store,
    clock,
    sign: parts.identity.sign,
    verify: parts.verify,
    describe: () => ({
      addrs: host.getMultiaddrs().map(String).slice(0, 16),
      state: local.state(),
      caps: local.capabilities(),
      attest: parts.attest?.() ?? { tpm: false },
    }),
  }
  const init = {
    ttlMs: config.discovery.ttl,
    mode: config.discovery.mode,
    maxSkewMs: config.discovery.maxClockSkew,
  }
  const seqAt = (key: string) => ({
    load: () => Number(kv.get(key) ?? 0),
    save: (seq: number) => kv.set(key, String(seq)),
  })
  const v1Wire = descriptorWire({ store, verify: parts.verify, self }, fitV1)
  // a v2 node: its summary for v2 peers, and the v1 copy, gossiped only while a v1-only peer is connected
  let legacy: Announcer | undefined
  // announces nobody awaits (a v1 peer arrived, a band was crossed): a failure is logged, not left to end the node
  const log = componentLogger(parts.logger, 'kith:discovery')
  const unannounced = (err: unknown) => log.error({ err }, 'announce failed; the next refresh tries again')
  const legacyPeers = new LegacyPeers(host, () => {
    legacy?.announce({ resign: false }).catch(unannounced)
  })
  if (v2)
    legacy = new Announcer(
      {
        ...common,
        wire: v1Wire,
        seq: seqAt(SEQ_KEY),
        storeOwn: false,
        publishWhile: () => legacyPeers.present(),
        skipJoin: (peer) => legacyPeers.speaksV2(peer),
        log: componentLogger(parts.logger, 'kith:discovery:announcer-v1'),
      },
      init,
    )
  const announcer = new Announcer(
    {
      ...common,
      wire: v2 ? catalogWire({ store, verify: parts.verify, self, pages }) : v1Wire,
      seq: seqAt(v2 ? SEQ2_KEY : SEQ_KEY),
      log: componentLogger(parts.logger, 'kith:discovery:announcer'),
    },
    init,
  )
  const unfollow = pages.follow(store)
  const index = new CapabilityIndex(parts.trustOf !== undefined ? { trustOf: parts.trustOf } : {})
  parts.events.on('descriptor', (event) => {
    // a state update re-ranks the peer's capabilities without re-indexing their text
    if (event.type === 'put' || event.type === 'state')
      index.put(event.entry.descriptor.peer, event.entry.descriptor, {
        local: event.entry.descriptor.peer === self,
      })
    else index.remove(event.entry.descriptor.peer)
  })
  let unwatch: (() => void) | undefined
  let unwatchClock: (() => void) | undefined
  const announce = async () => {
    await Promise.all([announcer.announce(), legacy?.announce()])
  }
  return {
    store,
    announcer,
    ...(legacy != null ? { legacy } : {}),
    pages,
    index,
    clock,
    announce,
    setTtl: (ttlMs) => {
      announcer.setTtl(ttlMs)
      legacy?.setTtl(ttlMs)
    },
    async start() {
      await local.start?.()
      store.start()
      if (legacy != null) {
        await legacy.start()
        await legacyPeers.start()
      }
      await announcer.start()
      // a band crossing goes out at once as a heartbeat with the new state; a capability withdrawn or
      // restored differs from the signed body, so the announcer signs a new one
      unwatch = local.watch?.(() => {
        announce().catch(unannounced)
      })
      unwatchClock = watchClock(clock, componentLogger(parts.logger, 'kith:discovery:clock'))
    },
    async stop() {
      unwatch?.()
      unwatchClock?.()
      legacyPeers.stop()
      await announcer.stop()
      await legacy?.stop()
      unfollow()
      store.stop()
      local.stop?.()
    },
  }
}
