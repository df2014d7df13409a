/**
 * Keeps the household connected across restarts: peers that identified themselves are written to the peer
 * cache, and on the next start the cached ones go into the peer store tagged keep-alive, so libp2p's own
 * reconnect queue dials them after start and again, with back-off, whenever they drop.
 */

import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerCache } from '../store/peer-cache.ts'
import type { Logger } from '../util/logger.ts'
import type { KithLibp2p } from './host.ts'

export const KEEP_ALIVE_TAG = 'keep-alive-kith'
/** how long after libp2p gave up on a cached peer it is dialled again, and again after each failure */
export const GIVE_UP_RETRY_MS = 5 * 60_000

export interface PeerKeeperInit {
  /** how many cached peers to redial at start; the rest stay cached for later */
  maxRedial: number
}

export class PeerKeeper {
  readonly #host: KithLibp2p
  readonly #cache: PeerCache
  readonly #log: Logger
  readonly #init: PeerKeeperInit
  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>) => this.#remember(evt.detail)
  readonly #onGiveUp = (evt: CustomEvent<PeerId>) => this.#retryLater(evt.detail)
  /** peers libp2p's reconnect queue gave up on, by id: the timer of the next try */
  readonly #retries = new Map<string, NodeJS.Timeout>()

  constructor(host: KithLibp2p, cache: PeerCache, log: Logger, init: PeerKeeperInit) {
    this.#host = host
    this.#cache = cache
    this.#log = log
    this.#init = init
  }

  /** Call before the host starts, so libp2p's reconnect queue sees the cached peers when it starts. */
  async seed(): Promise<number> {
    let seeded = 0
    for (const peer of this.#cache.list().slice(0, this.#init.maxRedial)) {
      try {
        const id = peerIdFromString(peer.peerId)
        if (id.equals(this.#host.peerId)) continue
        await this.#host.peerStore.merge(id, {
          multiaddrs: peer.addrs.map((a) => multiaddr(a)),
          tags: { [KEEP_ALIVE_TAG]: { value: 50 } },
        })
        seeded++
      } catch (err) {
        this.#log.warn({ peer: peer.peerId, err }, 'dropping unusable cached peer')
        this.#cache.forget(peer.peerId)
      }
    }
    return seeded
  }

  start(): void {
    this.#host.addEventListener('peer:identify', this.#onIdentify)
    this.#host.addEventListener('peer:reconnect-failure', this.#onGiveUp)
  }

  stop(): void {
    this.#host.removeEventListener('peer:identify', this.#onIdentify)
    this.#host.removeEventListener('peer:reconnect-failure', this.#onGiveUp)
    for (const timer of this.#retries.values()) clearTimeout(timer)
    this.#retries.clear()
  }

  /**
   * libp2p's reconnect queue gave up on a cached peer (and dropped its keep-alive tag): try again every
   * {@link GIVE_UP_RETRY_MS}, for as long as it stays in the cache, and tag it again once it answers.
   */
  #retryLater(peer: PeerId): void {
    const key = peer.toString()
    if (this.#retries.has(key) || !this.#cache.list().some((p) => p.peerId === key)) return
    const timer = setTimeout(() => {
      this.#retries.delete(key)
      void (async () => {
        if (this.#host.getConnections(peer).length > 0) return
        try {
          await this.#host.dial(peer)
          await this.#host.peerStore.merge(peer, { tags: { [KEEP_ALIVE_TAG]: { value: 50 } } })
          this.#log.info({ peer: key }, 'cached peer reachable again')
        } catch {
          this.#retryLater(peer)
        }
      })().catch((err: unknown) => {
        this.#log.warn({ peer: key, err }, 'cached peer retry failed')
      })
    }, GIVE_UP_RETRY_MS)
    timer.unref()
    this.#retries.set(key, timer)
  }

  #remember(result: IdentifyResult): void {
    const addrs = result.listenAddrs.map((a) => a.toString())
    if (addrs.length === 0) return
    try {
      this.#cache.remember(result.peerId.toString(), addrs)
    } catch (err) {
      this.#log.error({ err }, 'could not write the peer cache')
      return
    }
    this.#host.peerStore
      .merge(result.peerId, { tags: { [KEEP_ALIVE_TAG]: { value: 50 } } })
      .catch((err: Error) => this.#log.debug({ err }, 'could not tag peer keep-alive'))
  }
}
