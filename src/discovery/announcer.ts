/**
 * Bodyless gossip (arXiv 2606.17368): the node gossips only `{peer, seq, digest}` of its descriptor on
 * `kith/announce/1`; a peer that does not hold that digest pulls the body over `/kith/descriptor/1.0.0` from
 * the neighbour that forwarded the notice (which, because notices are forwarded only after the body was
 * fetched and verified, holds it) or from the origin. Refreshes every ttl/3, and at once on request (a
 * state band crossed, a capability changed), at most once per `minIntervalMs`.
 */

import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Logger } from '../util/logger.ts'
import {
  DescriptorError,
  decodeDescriptor,
  type SignatureVerifier,
  type SignedDescriptor,
  sha256,
  signDescriptor,
  type UnsignedDescriptor,
} from './descriptor.ts'
import { pullDescriptor, serveDescriptors } from './exchange.ts'
import { PeerPenalties } from './penalties.ts'
import type { DescriptorStore } from './store.ts'
import {
  ANNOUNCE_TOPIC,
  DESCRIPTOR_PROTOCOL,
  decodeAnnounce,
  encodeAnnounce,
  FLOOD_TOPIC,
  type WireError,
} from './wire.ts'

export interface AnnouncerInit {
  ttlMs: number
  mode: 'bodyless' | 'flood'
  minIntervalMs?: number
  maxConcurrentPulls?: number
}

export interface AnnouncerComponents {
  host: KithLibp2p
  store: DescriptorStore
  sign(data: Uint8Array): Uint8Array
  verify: SignatureVerifier
  /** the parts of the descriptor that describe this node now */
  describe(): Pick<UnsignedDescriptor, 'addrs' | 'state' | 'caps' | 'attest'>
  /** the last seq used, persisted so a restart never reuses one */
  seq: { load(): number; save(seq: number): void }
  log: Logger
}

export interface AnnouncerCounters {
  announced: number
  gossipBytesOut: number
  gossipBytesIn: number
  pullBytesOut: number
  pullBytesIn: number
  pulls: number
  pullFailures: number
  penalized: number
}

export class Announcer {
  readonly counters: AnnouncerCounters = {
    announced: 0,
    gossipBytesOut: 0,
    gossipBytesIn: 0,
    pullBytesOut: 0,
    pullBytesIn: 0,
    pulls: 0,
    pullFailures: 0,
    penalized: 0,
  }
  readonly #c: AnnouncerComponents
  readonly #ttlMs: number
  readonly #mode: 'bodyless' | 'flood'
  readonly #minIntervalMs: number
  readonly #maxPulls: number
  readonly #inflight = new Map<string, Promise<TopicValidatorResult>>()
  readonly #penalties = new PeerPenalties()
  #own: SignedDescriptor | undefined
  #seq = 0
  #lastAt = 0
  #refresh: ReturnType<typeof setInterval> | undefined
  #pending: ReturnType<typeof setTimeout> | undefined
  #running = false
  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>) => this.#onPeerSubscribed(evt.detail)

  constructor(components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#ttlMs = init.ttlMs
    this.#mode = init.mode
    this.#minIntervalMs = init.minIntervalMs ?? 250
    this.#maxPulls = init.maxConcurrentPulls ?? 16
  }

  get #pubsub(): GossipSub {
    return this.#c.host.services.pubsub as GossipSub
  }

  /** This node's current signed descriptor. */
  current(): SignedDescriptor | undefined {
    return this.#own
  }

  async start(): Promise<void> {
    this.#running = true
    this.#seq = this.#c.seq.load()
    await serveDescriptors(
      this.#c.host,
      (req) => this.#bytesFor(req.peer, req.digest),
      (n) => {
        this.counters.pullBytesOut += n
      },
    )
    const topic = this.#mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC
    this.#pubsub.topicValidators.set(topic, (from, msg) =>
      this.#mode === 'flood' ? this.#validateFlood(from, msg) : this.#validateAnnounce(from, msg),
    )
    this.#pubsub.subscribe(topic)
    this.#pubsub.addEventListener('subscription-change', this.#onSubscription)
    this.#refresh = setInterval(() => void this.announce(), Math.max(1_000, Math.floor(this.#ttlMs / 3)))
    await this.announce()
  }

  async stop(): Promise<void> {
    this.#running = false
    clearInterval(this.#refresh)
    clearTimeout(this.#pending)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscription)
    const topic = this.#mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC
    this.#pubsub.unsubscribe(topic)
    this.#pubsub.topicValidators.delete(topic)
    await this.#c.host.unhandle(DESCRIPTOR_PROTOCOL)
  }

  /**
   * Signs a new descriptor (seq + 1) and gossips it. Calls closer together than `minIntervalMs` are
   * coalesced into one, sent when the interval has passed.
   */
  async announce(): Promise<void> {
    if (!this.#running) return
    const wait = this.#lastAt + this.#minIntervalMs - Date.now()
    if (wait > 0) {
      this.#pending ??= setTimeout(() => {
        this.#pending = undefined
        void this.announce()
      }, wait)
      return
    }
    this.#lastAt = Date.now()
    this.#seq++
    this.#c.seq.save(this.#seq)
    const peer = this.#c.host.peerId.toString()
    const signed = signDescriptor(
      { v: 1, peer, seq: this.#seq, iat: Date.now(), ttl: this.#ttlMs, ...this.#c.describe() },
      this.#c.sign,
    )
    this.#own = signed
    this.#c.store.put(signed)
    const data =
      this.#mode === 'flood' ? signed.bytes : encodeAnnounce({ peer, seq: this.#seq, digest: signed.digest })
    try {
      await this.#pubsub.publish(this.#mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC, data)
      this.counters.announced++
      this.#c.log.debug({ seq: this.#seq, bytes: data.byteLength }, 'announced')
      this.counters.gossipBytesOut += data.byteLength
    } catch (err) {
      this.#c.log.debug({ err: (err as Error).message }, 'publish failed')
    }
  }

  #bytesFor(peer: string, digest?: Uint8Array): Uint8Array | undefined {
    const entry = this.#c.store.get(peer)
    if (entry == null) return undefined
    if (digest != null && !Buffer.from(entry.digest).equals(digest)) return undefined
    return entry.bytes
  }

  async #validateAnnounce(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    this.counters.gossipBytesIn += msg.data.byteLength
    if (this.#penalties.isBanned(from.toString())) return TopicValidatorResult.Ignore
    if (msg.type !== 'signed') return this.#strike(from, 'unsigned announce')
    let announce: ReturnType<typeof decodeAnnounce>
    try {
      announce = decodeAnnounce(msg.data)
    } catch (err) {
      return this.#strike(from, (err as WireError).message)
    }
    if (announce.peer !== msg.from.toString()) return this.#strike(from, 'announce for another peer')
    if (announce.peer === this.#c.host.peerId.toString()) return TopicValidatorResult.Ignore
    const digestHex = Buffer.from(announce.digest).toString('hex')
    if (this.#c.store.has(announce.peer, announce.seq, digestHex)) return TopicValidatorResult.Accept
    const running = this.#inflight.get(digestHex)
    if (running != null) return running
    if (this.#inflight.size >= this.#maxPulls) return TopicValidatorResult.Ignore
    const pulled = this.#pullAndStore([from, msg.from], announce.peer, announce.digest).finally(() =>
      this.#inflight.delete(digestHex),
    )
    this.#inflight.set(digestHex, pulled)
    return pulled
  }

  async #pullAndStore(sources: PeerId[], peer: string, digest: Uint8Array): Promise<TopicValidatorResult> {
    for (const source of sources.filter((s, i) => sources.findIndex((o) => o.equals(s)) === i)) {
      let bytes: Uint8Array | undefined
      this.counters.pulls++
      try {
        await this.#learnAddrs(source)
        bytes = await pullDescriptor(this.#c.host, source, { peer, digest })
      } catch (err) {
        this.counters.pullFailures++
        this.#c.log.debug({ from: source.toString(), err: (err as Error).message }, 'pull failed')
        continue
      }
      if (bytes == null) continue
      this.counters.pullBytesIn += bytes.byteLength
      if (!Buffer.from(sha256(bytes)).equals(digest))
        return this.#strike(source, 'body does not match the announced digest')
      return this.#accept(source, bytes)
    }
    return TopicValidatorResult.Ignore
  }

  /**
   * A pull may go to the origin, which need not be a neighbour: the addresses in its last descriptor we
   * hold are the way to reach it.
   */
  async #learnAddrs(source: PeerId): Promise<void> {
    if (this.#c.host.getConnections(source).length > 0) return
    const held = this.#c.store.get(source.toString())?.descriptor.addrs ?? []
    const addrs = held.flatMap((a) => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    if (addrs.length > 0) await this.#c.host.peerStore.merge(source, { multiaddrs: addrs })
  }

  #validateFlood(from: PeerId, msg: Message): TopicValidatorResult {
    this.counters.gossipBytesIn += msg.data.byteLength
    if (this.#penalties.isBanned(from.toString())) return TopicValidatorResult.Ignore
    if (msg.type !== 'signed') return this.#strike(from, 'unsigned descriptor')
    return this.#accept(from, msg.data)
  }

  /** Verifies and stores a body; stale or duplicate bodies are ignored, invalid ones cost the sender. */
  #accept(from: PeerId, bytes: Uint8Array): TopicValidatorResult {
    try {
      const signed = decodeDescriptor(bytes, this.#c.verify)
      if (signed.descriptor.peer === this.#c.host.peerId.toString()) return TopicValidatorResult.Ignore
      const outcome = this.#c.store.put(signed)
      this.#c.log.debug(
        { peer: signed.descriptor.peer, seq: signed.descriptor.seq, outcome },
        'descriptor stored',
      )
      return TopicValidatorResult.Accept
    } catch (err) {
      if (!(err instanceof DescriptorError)) throw err
      if (err.reason === 'stale_seq' || err.reason === 'expired') return TopicValidatorResult.Ignore
      this.#c.store.reject(err.reason)
      return this.#strike(from, err.message)
    }
  }

  #strike(from: PeerId, why: string): TopicValidatorResult {
    this.#c.log.debug({ from: from.toString(), why }, 'invalid discovery message')
    if (this.#penalties.strike(from.toString())) {
      this.counters.penalized++
      this.#c.log.warn({ from: from.toString() }, 'ignoring a peer that keeps sending invalid descriptors')
    }
    return TopicValidatorResult.Reject
  }

  /** A peer that joins the topic is asked for its current descriptor at once, rather than at its next refresh. */
  #onPeerSubscribed({ peerId, subscriptions }: SubscriptionChangeData): void {
    const topic = this.#mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC
    if (!subscriptions.some((s) => s.topic === topic && s.subscribe)) return
    const peer = peerId.toString()
    if (this.#c.store.get(peer) != null || this.#inflight.size >= this.#maxPulls) return
    const key = `join:${peer}`
    const job = pullDescriptor(this.#c.host, peerId, { peer })
      .then((bytes) => {
        if (bytes == null) return TopicValidatorResult.Ignore
        this.counters.pullBytesIn += bytes.byteLength
        return this.#accept(peerId, bytes)
      })
      .catch(() => TopicValidatorResult.Ignore)
      .finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, job)
  }
}
