/**
 * Wires the discovery plane from the config: the soft-state store, the announcer (bodyless gossip or the
 * flooding baseline), and the state that feeds this node's own descriptor.
 */
import type { CapabilityConfig, Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { Announcer } from '../discovery/announcer.ts'
import { availableCapabilities, type CapabilityGate } from '../discovery/bands.ts'
import { ClockOffset, watchClock } from '../discovery/clock-offset.ts'
import type { Capability, NodeState, SignatureVerifier } from '../discovery/descriptor.ts'
import type { StateSampler } from '../discovery/sampler.ts'
import { DescriptorStore } from '../discovery/store.ts'
import { CapabilityIndex } from '../discovery/matcher/index.ts'
import type { Database } from '../store/database.ts'
import { KeyValue } from '../store/kv.ts'
import { componentLogger, type Logger } from '../util/logger.ts'

const SEQ_KEY = 'discovery.seq'

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
  announcer: Announcer
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
}): DiscoveryPlane {
  const { config, host, local } = parts
  const kv = new KeyValue(parts.db)
  const store = new DescriptorStore({
    maxEntries: config.discovery.maxDescriptors,
    maxSkewMs: config.discovery.maxClockSkew,
  })
  const clock = new ClockOffset({ suspectMs: config.discovery.maxClockSkew / 2 })
  const announcer = new Announcer(
    {
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
      seq: { load: () => Number(kv.get(SEQ_KEY) ?? 0), save: (seq) => kv.set(SEQ_KEY, String(seq)) },
      log: componentLogger(parts.logger, 'kith:discovery:announcer'),
    },
    { ttlMs: config.discovery.ttl, mode: config.discovery.mode, maxSkewMs: config.discovery.maxClockSkew },
  )
  const index = new CapabilityIndex(parts.trustOf !== undefined ? { trustOf: parts.trustOf } : {})
  const self = host.peerId.toString()
  store.onChange((event) => {
    // a state update re-ranks the peer's capabilities without re-indexing their text
    if (event.type === 'put' || event.type === 'state')
      index.put(event.entry.descriptor.peer, event.entry.descriptor, {
        local: event.entry.descriptor.peer === self,
      })
    else index.remove(event.entry.descriptor.peer)
  })
  let unwatch: (() => void) | undefined
  let unwatchClock: (() => void) | undefined
  return {
    store,
    announcer,
    index,
    clock,
    setTtl: (ttlMs) => announcer.setTtl(ttlMs),
    async start() {
      await local.start?.()
      store.start()
      await announcer.start()
      // a band crossing goes out at once as a heartbeat with the new state; a capability withdrawn or
      // restored differs from the signed body, so the announcer signs a new one
      unwatch = local.watch?.(() => void announcer.announce())
      unwatchClock = watchClock(clock, componentLogger(parts.logger, 'kith:discovery:clock'))
    },
    async stop() {
      unwatch?.()
      unwatchClock?.()
      await announcer.stop()
      store.stop()
      local.stop?.()
    },
  }
}
