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
  canonicalEncode,
  DescriptorError,
  decodeDescriptor,
  type NodeState,
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
  /** clock difference tolerated in a notice's `at` (ms) */
  maxSkewMs?: number
  /** re-sign an unchanged descriptor after this long (ms); default 10 × ttl */
  resignAfterMs?: number
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
  /** announces of an unchanged descriptor (no new signature, nothing to pull) */
  heartbeats: number
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
    heartbeats: 0,
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
  #changed = false
  readonly #maxSkewMs: number
  readonly #resignAfterMs: number
  #lastAt = 0
  #refresh: ReturnType<typeof setInterval> | undefined
  #pending: ReturnType<typeof setTimeout> | undefined
  #running = false
  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>) => this.#onPeerSubscribed(evt.detail)

  constructor(components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#ttlMs = init.ttlMs
    this.#maxSkewMs = init.maxSkewMs ?? 30_000
    this.#resignAfterMs = init.resignAfterMs ?? 10 * init.ttlMs
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
   * Gossips this node's descriptor. A new one is signed (seq + 1) when what the node offers has changed
   * (`changed`, or capabilities, addresses or a state bucket differ) or the current one is older than
   * `resignAfterMs`; otherwise the held one is re-announced as a heartbeat: the same digest with a new `at`,
   * so peers extend its life without pulling or verifying anything. Calls closer together than
   * `minIntervalMs` are coalesced into one, sent when the interval has passed.
   */
  async announce(options: { changed?: boolean } = {}): Promise<void> {
    if (!this.#running) return
    if (options.changed === true) this.#changed = true
    const wait = this.#lastAt + this.#minIntervalMs - Date.now()
    if (wait > 0) {
      this.#pending ??= setTimeout(() => {
        this.#pending = undefined
        void this.announce()
      }, wait)
      return
    }
    const now = Date.now()
    this.#lastAt = now
    const peer = this.#c.host.peerId.toString()
    const parts = this.#c.describe()
    let own = this.#own
    const heartbeat =
      own != null &&
      !this.#changed &&
      now - own.descriptor.iat < this.#resignAfterMs &&
      sameOffer(own.descriptor, parts)
    if (own == null || !heartbeat) {
      this.#changed = false
      this.#seq++
      this.#c.seq.save(this.#seq)
      own = signDescriptor({ v: 1, peer, seq: this.#seq, iat: now, ttl: this.#ttlMs, ...parts }, this.#c.sign)
      this.#own = own
      this.#c.store.put(own)
    } else {
      this.#c.store.touch(peer, own.descriptor.seq, Buffer.from(own.digest).toString('hex'), now)
    }
    const data =
      this.#mode === 'flood'
        ? own.bytes
        : encodeAnnounce({ peer, seq: own.descriptor.seq, digest: own.digest, at: now })
    try {
      await this.#pubsub.publish(this.#mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC, data)
      this.counters.announced++
      if (heartbeat) this.counters.heartbeats++
      this.#c.log.debug({ seq: own.descriptor.seq, heartbeat, bytes: data.byteLength }, 'announced')
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
    // a notice far from our clock is stale or replayed (gossipsub's signature covers `at`)
    if (Math.abs(Date.now() - announce.at) > this.#maxSkewMs) return TopicValidatorResult.Ignore
    const digestHex = Buffer.from(announce.digest).toString('hex')
    if (this.#c.store.touch(announce.peer, announce.seq, digestHex, announce.at))
      return TopicValidatorResult.Accept
    if (this.#c.store.has(announce.peer, announce.seq)) return TopicValidatorResult.Ignore
    const running = this.#inflight.get(digestHex)
    if (running != null) return running
    if (this.#inflight.size >= this.#maxPulls) return TopicValidatorResult.Ignore
    const pulled = this.#pullAndStore([from, msg.from], announce.peer, announce.digest, announce.at).finally(
      () => this.#inflight.delete(digestHex),
    )
    this.#inflight.set(digestHex, pulled)
    return pulled
  }

  async #pullAndStore(
    sources: PeerId[],
    peer: string,
    digest: Uint8Array,
    heardAt: number,
  ): Promise<TopicValidatorResult> {
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
      return this.#accept(source, bytes, heardAt)
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
    // a flooded body carries no `at`; gossipsub's signature and seen-cache are all that guard a replay here
    return this.#accept(from, msg.data, Date.now())
  }

  /** Verifies and stores a body; stale or duplicate bodies are ignored, invalid ones cost the sender. */
  #accept(from: PeerId, bytes: Uint8Array, heardAt: number): TopicValidatorResult {
    try {
      const signed = decodeDescriptor(bytes, this.#c.verify)
      if (signed.descriptor.peer === this.#c.host.peerId.toString()) return TopicValidatorResult.Ignore
      const outcome = this.#c.store.put(signed, { heardAt })
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
        // pulled straight from its origin over that origin's own connection: fresh now
        return this.#accept(peerId, bytes, Date.now())
      })
      .catch(() => TopicValidatorResult.Ignore)
      .finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, job)
  }
}

/** Buckets of the state, so load jitter or a few MB of memory do not make a new descriptor. */
function stateKey(state: NodeState): string {
  const queue = state.queue === 0 ? 0 : state.queue < 4 ? 1 : state.queue < 16 ? 2 : 3
  return [
    state.battery == null ? '-' : Math.floor(state.battery / 5),
    state.charging ?? '-',
    Math.round(state.load * 10),
    Math.floor(state.memFree / (64 * 1024 * 1024)),
    state.thermal == null ? '-' : Math.floor(state.thermal / 5),
    queue,
  ].join('/')
}

/** True when `parts` offers what `held` already says, state compared by bucket. */
function sameOffer(
  held: UnsignedDescriptor,
  parts: Pick<UnsignedDescriptor, 'addrs' | 'state' | 'caps' | 'attest'>,
): boolean {
  if (stateKey(held.state) !== stateKey(parts.state)) return false
  const offer = (d: Pick<UnsignedDescriptor, 'addrs' | 'caps' | 'attest'>) =>
    canonicalEncode({ addrs: d.addrs, caps: d.caps, attest: d.attest })
  return Buffer.from(offer(held)).equals(offer(parts))
}
