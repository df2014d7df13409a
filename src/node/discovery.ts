/**
 * Wires the discovery plane from the config: the soft-state store, the announcers (descriptor v2 summaries
 * with catalog pages, and the fitted v1 copy for peers that speak only v1; or v1 alone, bodyless or the
 * flooding baseline), the page cache, and the state that feeds this node's own descriptor.
 */
import type { CapabilityConfig, Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { catalogWire, descriptorWire } from '../discovery/announce-wire.ts'
import { Announcer } from '../discovery/announcer.ts'
import { fitV1 } from '../discovery/fit-v1.ts'
import { LegacyPeers } from '../discovery/legacy-peers.ts'
import { PageCache } from '../discovery/page-cache.ts'
import { availableCapabilities, type CapabilityGate } from '../discovery/bands.ts'
import { ClockOffset, watchClock } from '../discovery/clock-offset.ts'
import type { Capability, NodeState, SignatureVerifier } from '../discovery/descriptor.ts'
import type { StateSampler } from '../discovery/sampler.ts'
import { DescriptorStore } from '../discovery/store.ts'
import { CapabilityIndex } from '../discovery/matcher/index.ts'
import type { Database } from '../store/database.ts'
import { KeyValue } from '../store/kv.ts'
import type { DiscoveryEvents } from '../discovery/events.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'

const SEQ_KEY = 'discovery.seq'
/** v2 summaries have a sequence of their own (store.ts): the v1 copy keeps the seq v1 peers know */
const SEQ2_KEY = 'discovery.seq2'

/** What the discovery plane needs to know about this node at announce time. */
export interface LocalState {
  state(): NodeState
  capabilities(): Capability[]
  start?(): Promise<void>
  stop?(): void
  /** calls `onChange` when the node should announce at once (state band, capabilities); returns the unsubscribe function */
  watch?(onChange: () => void): () => void
  /** offers `caps` from now on instead of the configured ones (a config reload); the caller re-announces */
  replaceCapabilities?(caps: CapabilityConfig[]): void
}

/**
 * The node's state from the sampler, and its configured capabilities gated by battery and load: a band
 * crossing, or a capability's own threshold crossed, asks for an immediate re-announce.
 */
export class SampledLocalState implements LocalState {
  readonly #sampler: StateSampler
  #caps: CapabilityConfig[]
  #gate: CapabilityGate<CapabilityConfig>

  constructor(sampler: StateSampler, caps: CapabilityConfig[]) {
    this.#sampler = sampler
    this.#caps = caps
    this.#gate = { offered: caps, withdrawn: new Set(), changed: false }
  }

  state(): NodeState {
    return this.#sampler.current()
  }

  capabilities(): Capability[] {
    return this.#gate.offered.map(toDescriptorCapability)
  }

  async start(): Promise<void> {
    await this.#sampler.start()
    this.#gate = availableCapabilities(this.#caps, this.#sampler.current(), this.#gate)
  }

  replaceCapabilities(caps: CapabilityConfig[]): void {
    this.#caps = caps
    // a capability that stays keeps its withdrawn state, so the band hysteresis holds across a reload
    this.#gate = availableCapabilities(caps, this.#sampler.current(), this.#gate)
  }

  stop(): void {
    this.#sampler.stop()
  }

  watch(onChange: () => void): () => void {
    const offBands = this.#sampler.onBandChange(() => onChange())
    const offSample = this.#sampler.onSample((state) => {
      this.#gate = availableCapabilities(this.#caps, state, this.#gate)
      if (this.#gate.changed) onChange()
    })
    return () => {
      offBands()
      offSample()
    }
  }
}

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

/** The descriptor entry of a configured capability: paths and local thresholds stay local. */
export function toDescriptorCapability(c: CapabilityConfig): Capability {
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    tags: c.tags,
    kind: c.kind,
    risk: c.risk,
    input: c.input,
    output: c.output,
    ...(c.deterministic ? { deterministic: true } : {}),
  }
}

export function buildDiscovery(parts: {
  config: Config
  identity: Identity
  host: KithLibp2p
  db: Database
  logger: Logger
  local: LocalState
  verify: SignatureVerifier
  /** the trust plane's score of a provider, folded into the index's ranking */
  trustOf?: (peer: string, capability: Capability) => number
  /** what this node can attest (its TPM's attestation key), read again for every descriptor */
  attest?: () => { tpm: boolean; akPub?: Uint8Array }
  events: Events<DiscoveryEvents>
}): DiscoveryPlane {
  const { config, host, local } = parts
  const kv = new KeyValue(parts.db)
  const store = new DescriptorStore({
    maxEntries: config.discovery.maxDescriptors,
    maxSkewMs: config.discovery.maxClockSkew,
    events: parts.events,
  })
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
