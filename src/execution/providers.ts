/**
 * Which live peers offer a capability, by id, without scanning every descriptor held: the store can hold
 * 10,000 descriptors and delegation by capability id asks on every task. Kept up to date from the store's
 * own change events; liveness and the current capability come from the store at each lookup.
 */
import type { Capability } from '../discovery/descriptor.ts'
import { availability, trustFactor } from '../discovery/matcher/index.ts'
import type { DescriptorStore, StoreEvent } from '../discovery/store.ts'

export interface Candidate {
  peer: string
  capability: Capability
  local: boolean
}

/**
 * @example
 * const providers = new ProviderIndex(discovery.store, self)
 * providers.start()
 * providers.of('echo') // [{ peer, capability, local }], best available first
 */
export class ProviderIndex {
  readonly #store: DescriptorStore
  readonly #self: string
  /** capability id → peers whose held descriptor lists it */
  readonly #peers = new Map<string, Set<string>>()
  readonly #trustOf: ((peer: string, capability: Capability) => number) | undefined
  #unsubscribe: (() => void) | undefined

  /** `trustOf`: the trust plane's score of a provider in [0, 1], folded into the order as the matcher does */
  constructor(
    store: DescriptorStore,
    self: string,
    trustOf?: (peer: string, capability: Capability) => number,
  ) {
    this.#store = store
    this.#self = self
    this.#trustOf = trustOf
  }

  start(): void {
    if (this.#unsubscribe !== undefined) return
    this.#unsubscribe = this.#store.onChange((event) => this.#apply(event))
    for (const entry of this.#store.live()) this.#add(entry.descriptor.peer, entry.descriptor.caps)
  }

  stop(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#peers.clear()
  }

  /** Every live provider of capability `id`, best (available × trusted) first (this node first on a tie). */
  of(id: string): Candidate[] {
    const peers = this.#peers.get(id)
    if (peers === undefined) return []
    const found: Array<Candidate & { rank: number }> = []
    for (const peer of peers) {
      const entry = this.#store.get(peer)
      const capability = entry?.descriptor.caps.find((c) => c.id === id)
      if (entry === undefined || capability === undefined) continue
      const local = peer === this.#self
      found.push({
        peer,
        capability,
        local,
        rank:
          availability(entry.descriptor.state) *
            (this.#trustOf === undefined || local ? 1 : trustFactor(this.#trustOf(peer, capability))) +
          (local ? 1e-6 : 0),
      })
    }
    if (found.length > 1) found.sort((a, b) => b.rank - a.rank)
    return found.map(({ rank: _, ...c }) => c)
  }

  #apply(event: StoreEvent): void {
    const peer = event.entry.descriptor.peer
    if (event.type === 'remove') return this.#remove(peer, event.entry.descriptor.caps)
    if (event.previous !== undefined) this.#remove(peer, event.previous.descriptor.caps)
    this.#add(peer, event.entry.descriptor.caps)
  }

  #add(peer: string, caps: readonly Capability[]): void {
    for (const cap of caps) {
      let peers = this.#peers.get(cap.id)
      if (peers === undefined) this.#peers.set(cap.id, (peers = new Set()))
      peers.add(peer)
    }
  }

  #remove(peer: string, caps: readonly Capability[]): void {
    for (const cap of caps) {
      const peers = this.#peers.get(cap.id)
      if (peers === undefined) continue
      peers.delete(peer)
      if (peers.size === 0) this.#peers.delete(cap.id)
    }
  }
}
