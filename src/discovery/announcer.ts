/**
 * Bodyless gossip (arXiv 2606.17368): the node gossips only a small notice `{peer, seq, digest, at, state}`
 * on `kith/announce/1`; a peer that does not hold that digest pulls the body over `/kith/descriptor/1.0.0`
 * from the neighbour that forwarded the notice (which, because notices are forwarded only after the body was
 * fetched and verified, holds it) or from the origin.
 *
 * The body is signed anew only when what the node offers changes (capabilities, addresses, attestation), or
 * after `resignAfterMs`. Its volatile state (battery, load, memory, temperature, queue) changes all the time,
 * so it rides in every notice instead: every ttl/3 (a heartbeat), and at once, at most every `minIntervalMs`,
 * when a state band is crossed. A state change thus costs one small notice per node, not a body pull by
 * every node. Notices are authenticated by gossipsub's signature with the origin's key, and a receiver takes
 * a state only from a notice newer than the last it applied.
 *
 * This file is the sending half and the lifecycle; the receiving half (the topic's validator, pulls) is
 * announce-receiver.ts, and what either decides is announce-decision.ts, pure, which the simulator runs too.
 */

import type { ClockOffset } from './clock-offset.ts'
import type { GossipSub, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Logger } from '../util/logger.ts'
import {
  ANNOUNCER_DEFAULTS,
  announceWait,
  decideAnnounce,
  offerOf,
  refreshIntervalMs,
} from './announce-decision.ts'
import { AnnounceReceiver } from './announce-receiver.ts'
import { type AnnounceWire, descriptorWire, type OwnBody } from './announce-wire.ts'
import { type AnnouncerCounters, newAnnouncerCounters } from './announcer-counters.ts'
import type { NodeState, SignatureVerifier, UnsignedDescriptor } from './descriptor.ts'
import type { IntakeCounters } from './intake.ts'
import type { DescriptorStore } from './store.ts'
import { encodeAnnounce, FLOOD_TOPIC } from './wire.ts'

export type { AnnouncerCounters } from './announcer-counters.ts'

export interface AnnouncerInit {
  ttlMs: number
  mode: 'bodyless' | 'flood'
  minIntervalMs?: number
  maxConcurrentPulls?: number
  /** clock difference tolerated in a notice's `at` (ms) */
  maxSkewMs?: number
  /** re-sign an unchanged descriptor after this long (ms), so a body pulled fresh has a recent state */
  resignAfterMs?: number
}

export { ANNOUNCER_DEFAULTS } from './announce-decision.ts'

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
  /** told the sender's clock of every notice that comes straight from its sender */
  clock?: ClockOffset
  /** the wire version this announcer speaks (announce-wire.ts); v1 when absent */
  wire?: AnnounceWire
  /**
   * whether this node's own body goes into the store (and so into the index): false for the v1 copy a v2
   * node offers v1-only peers, whose full v2 view is in the store already
   */
  storeOwn?: boolean
  /** publish notices only while this says so (the v1 copy: while a v1-only peer is connected); always when absent */
  publishWhile?: () => boolean
  /** peers not to pull from when they join the topic (a v2 peer joining the v1 topic: its summary comes) */
  skipJoin?: (peer: PeerId) => boolean
}

export class Announcer {
  readonly counters: AnnouncerCounters
  readonly intake: { readonly counters: IntakeCounters }
  readonly wire: AnnounceWire
  readonly #c: AnnouncerComponents
  #ttlMs: number
  readonly #mode: 'bodyless' | 'flood'
  readonly #topic: string
  readonly #minIntervalMs: number
  readonly #resignAfterMs: number
  readonly #receiver: AnnounceReceiver
  #own: OwnBody | undefined
  /** what `#own` was signed from (addresses, every capability, attestation), encoded to compare */
  #offer: Uint8Array | undefined
  /** the last offer the wire refused to sign, so that it is not tried (and logged) on every refresh */
  #refused: Uint8Array | undefined
  #state: NodeState | undefined
  #seq = 0
  #resign = false
  #lastAt = 0
  #refresh: ReturnType<typeof setInterval> | undefined
  #pending: ReturnType<typeof setTimeout> | undefined
  #running = false
  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>) =>
    this.#receiver.onPeerSubscribed(evt.detail)

  constructor(components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#ttlMs = init.ttlMs
    this.#resignAfterMs = init.resignAfterMs ?? ANNOUNCER_DEFAULTS.resignAfterMs
    this.#mode = init.mode
    this.wire =
      components.wire ??
      descriptorWire({
        store: components.store,
        verify: components.verify,
        self: components.host.peerId.toString(),
      })
    this.#topic = init.mode === 'flood' ? FLOOD_TOPIC : this.wire.topic
    this.#minIntervalMs = init.minIntervalMs ?? ANNOUNCER_DEFAULTS.minIntervalMs
    this.intake = { counters: this.wire.counters }
    this.counters = newAnnouncerCounters(this.wire.counters)
    const { host, store, log, clock, skipJoin } = components
    this.#receiver = new AnnounceReceiver(
      { host, store, wire: this.wire, counters: this.counters, log, clock, skipJoin },
      {
        mode: init.mode,
        topic: this.#topic,
        maxConcurrentPulls: init.maxConcurrentPulls ?? ANNOUNCER_DEFAULTS.maxConcurrentPulls,
        maxSkewMs: init.maxSkewMs ?? ANNOUNCER_DEFAULTS.maxSkewMs,
      },
    )
  }

  get #pubsub(): GossipSub {
    return this.#c.host.services.pubsub as GossipSub
  }

  /** This node's current descriptor: the signed body with the state last announced. */
  current(): OwnBody | undefined {
    const own = this.#own
    if (own == null || this.#state == null) return own
    return { ...own, descriptor: { ...own.descriptor, state: this.#state } }
  }

  async start(): Promise<void> {
    this.#running = true
    this.#seq = this.#c.seq.load()
    await this.wire.serve(
      this.#c.host,
      () => this.#own,
      (n) => {
        this.counters.pullBytesOut += n
      },
    )
    this.#pubsub.topicValidators.set(this.#topic, (from, msg) => this.#receiver.validate(from, msg))
    this.#pubsub.subscribe(this.#topic)
    this.#pubsub.addEventListener('subscription-change', this.#onSubscription)
    this.#startRefresh()
    await this.announce()
  }

  /** The ttl of this node's descriptors (ms). */
  get ttlMs(): number {
    return this.#ttlMs
  }

  /**
   * Changes the ttl of this node's descriptors: the refresh follows at once (every ttl/3), and, since the
   * ttl is part of the signed body, a new body is signed and announced.
   *
   * @example
   * announcer.setTtl(30_000) // a config reload asked for a longer lifetime
   */
  setTtl(ttlMs: number): void {
    if (ttlMs === this.#ttlMs) return
    this.#ttlMs = ttlMs
    if (!this.#running) return
    this.#startRefresh()
    this.#announceLater({ resign: true })
  }

  #startRefresh(): void {
    clearInterval(this.#refresh)
    this.#refresh = setInterval(() => this.#announceLater(), refreshIntervalMs(this.#ttlMs))
  }

  /** {@link announce} from a timer: nobody awaits it, so a failure is logged, not left to end the node. */
  #announceLater(options: { resign?: boolean } = {}): void {
    this.announce(options).catch((err: unknown) => {
      this.#c.log.error({ err }, 'announce failed; the next refresh tries again')
    })
  }

  async stop(): Promise<void> {
    this.#running = false
    clearInterval(this.#refresh)
    clearTimeout(this.#pending)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscription)
    this.#pubsub.unsubscribe(this.#topic)
    this.#pubsub.topicValidators.delete(this.#topic)
    await this.#c.host.unhandle(this.wire.protocol)
  }

  /**
   * Gossips this node's descriptor with its current state. A new body is signed (seq + 1) when `resign` is
   * asked for, when the capabilities, addresses or attestation differ from the signed ones, or when the body
   * is older than `resignAfterMs`; otherwise the notice is a heartbeat for the held body, carrying the state.
   * Flooding signs a new body whenever the state changed too, since its bodies are all it sends. Calls closer
   * together than `minIntervalMs` are coalesced into one, sent when the interval has passed.
   *
   * @example
   * await announcer.announce()                 // state or capabilities may have changed: tell everyone now
   * await announcer.announce({ resign: true }) // sign a new body even if nothing it holds changed
   */
  async announce(options: { resign?: boolean } = {}): Promise<void> {
    if (!this.#running) return
    if (options.resign === true) this.#resign = true
    const wait = announceWait(this.#lastAt, Date.now(), this.#minIntervalMs)
    if (wait > 0) {
      this.#pending ??= setTimeout(() => {
        this.#pending = undefined
        this.#announceLater()
      }, wait)
      return
    }
    // callers fire and forget (timers, reloads, band changes): a throw here must not end the process
    try {
      await this.#announceNow()
    } catch (err) {
      this.counters.announceFailed++
      this.#c.log.warn({ err }, 'could not announce this node; the next refresh tries again')
    }
  }

  async #announceNow(): Promise<void> {
    const now = Date.now()
    this.#lastAt = now
    const peer = this.#c.host.peerId.toString()
    const parts = this.#c.describe()
    const offer = offerOf(parts)
    let own = this.#own
    const held =
      own != null && this.#offer != null
        ? { iat: own.descriptor.iat, state: own.descriptor.state, offer: this.#offer }
        : undefined
    const decision = decideAnnounce(
      held,
      now,
      { offer, state: parts.state, resign: this.#resign, refused: this.#refused },
      { mode: this.#mode, resignAfterMs: this.#resignAfterMs },
    )
    let heartbeat = true
    if (decision.body === 'sign') {
      const signed = this.#signOwn(peer, now, parts, offer)
      if (signed != null) {
        own = signed
        heartbeat = false
      }
    }
    if (own == null) return
    if (heartbeat && this.#c.storeOwn !== false) {
      this.#c.store.touch(peer, own.descriptor.seq, Buffer.from(own.digest).toString('hex'), {
        at: now,
        state: parts.state,
      })
    }
    this.#state = parts.state
    if (this.#c.publishWhile?.() === false) return
    const data =
      this.#mode === 'flood'
        ? own.bytes
        : encodeAnnounce({ peer, seq: own.descriptor.seq, digest: own.digest, at: now, state: parts.state })
    try {
      const { recipients } = await this.#pubsub.publish(this.#topic, data)
      this.counters.announced++
      if (heartbeat) this.counters.heartbeats++
      this.counters.gossipBytesOut += data.byteLength * recipients.length
      this.#c.log.debug(
        {
          seq: own.descriptor.seq,
          at: now,
          heartbeat,
          bytes: data.byteLength,
          recipients: recipients.length,
        },
        'announced',
      )
    } catch (err) {
      this.#c.log.debug({ err }, 'publish failed')
    }
  }

  /**
   * Signs a new body (seq + 1) from `parts`, stores it as this node's own and returns it; or, when the wire
   * refuses it (over its limits even after fitting), counts and logs the refusal and returns undefined, so
   * the caller keeps announcing the last body signed.
   */
  #signOwn(
    peer: string,
    now: number,
    parts: ReturnType<AnnouncerComponents['describe']>,
    offer: Uint8Array,
  ): OwnBody | undefined {
    let own: OwnBody
    try {
      own = this.wire.sign({ peer, seq: this.#seq + 1, iat: now, ttl: this.#ttlMs, ...parts }, this.#c.sign)
    } catch (err) {
      this.#refused = offer
      this.#resign = false
      this.counters.signRefused++
      this.#c.log.warn(
        {
          version: this.wire.version,
          caps: parts.caps.length,
          held: this.#own?.descriptor.seq ?? null,
          err,
        },
        this.#own != null
          ? 'this node offers more than its descriptor can carry: still announcing the last one signed; offer fewer capabilities or devices'
          : 'this node offers more than its descriptor can carry: nothing is announced; offer fewer capabilities or devices',
      )
      return undefined
    }
    this.#refused = undefined
    this.#resign = false
    this.#seq++
    this.#c.seq.save(this.#seq)
    this.#own = own
    this.#offer = offer
    this.counters.capabilitiesLeft = own.left?.length ?? 0
    if (own.left != null && own.left.length > 0)
      this.#c.log.warn(
        { version: this.wire.version, left: own.left.length },
        'capabilities left out of the descriptor: they do not fit its size limits',
      )
    if (this.#c.storeOwn !== false) this.#c.store.put(own)
    return own
  }
}
