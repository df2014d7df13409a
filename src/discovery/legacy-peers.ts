/**
 * Which connected peers speak only descriptor v1: those whose identify lists `/kith/descriptor/1.0.0` but not
 * `/kith/catalog/2.0.0`. A v2 node gossips its fitted v1 copy on `kith/announce/1` only while one is
 * connected, so a fleet that has fully updated pays for one notice per refresh, not two (docs/discovery.md).
 */
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import { CATALOG_PROTOCOL, DESCRIPTOR_PROTOCOL } from './wire.ts'

/** Most v1-only peers remembered; more than this many connected at once still reads as "some". */
const MAX_TRACKED = 1024

export class LegacyPeers {
  readonly #host: KithLibp2p
  readonly #legacy = new Set<string>()
  readonly #v2 = new Set<string>()
  readonly #onArrive: () => void
  readonly #identified = (evt: CustomEvent<IdentifyResult>) =>
    this.#learn(evt.detail.peerId, evt.detail.protocols)
  readonly #gone = (evt: CustomEvent<PeerId>) => {
    this.#legacy.delete(evt.detail.toString())
    this.#v2.delete(evt.detail.toString())
  }

  /** `onArrive` is called when a v1-only peer connects, so the node can announce its v1 copy at once. */
  constructor(host: KithLibp2p, onArrive: () => void) {
    this.#host = host
    this.#onArrive = onArrive
  }

  /** True while a connected peer speaks descriptor v1 only. */
  present(): boolean {
    return this.#legacy.size > 0
  }

  /** True when `peer` said (over identify) that it speaks descriptor v2. */
  speaksV2(peer: PeerId): boolean {
    return this.#v2.has(peer.toString())
  }

  async start(): Promise<void> {
    this.#host.addEventListener('peer:identify', this.#identified)
    this.#host.addEventListener('peer:disconnect', this.#gone)
    for (const peer of this.#host.getPeers()) {
      const known = await this.#host.peerStore.get(peer).catch(() => undefined)
      if (known != null) this.#learn(peer, known.protocols)
    }
  }

  stop(): void {
    this.#host.removeEventListener('peer:identify', this.#identified)
    this.#host.removeEventListener('peer:disconnect', this.#gone)
    this.#legacy.clear()
    this.#v2.clear()
  }

  #learn(peer: PeerId, protocols: string[]): void {
    const id = peer.toString()
    if (protocols.includes(CATALOG_PROTOCOL)) {
      this.#legacy.delete(id)
      if (this.#v2.size < MAX_TRACKED) this.#v2.add(id)
      return
    }
    if (!protocols.includes(DESCRIPTOR_PROTOCOL) || this.#legacy.size >= MAX_TRACKED) return
    const first = this.#legacy.size === 0
    this.#legacy.add(id)
    if (first) this.#onArrive()
  }
}
