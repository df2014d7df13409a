/**
 * What the discovery plane knows of this node when it announces: its state (from the sampler) and the
 * capabilities it offers, gated by battery and load, and when an announce should go out at once.
 */
import type { CapabilityConfig } from '../config/index.ts'
import { availableCapabilities, type CapabilityGate } from './bands.ts'
import type { Capability, NodeState } from './descriptor.ts'
import type { StateSampler } from './sampler.ts'

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
