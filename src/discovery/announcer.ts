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
 */

import type { ClockOffset } from './clock-offset.ts'
import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import { learnAddresses } from '../connectivity/peers.ts'
import type { Logger } from '../util/logger.ts'
import { type AnnounceWire, descriptorWire, type OwnBody } from './announce-wire.ts'
import { PageError } from './catalog-page.ts'
import {
  DescriptorError,
  type NodeState,
  type SignatureVerifier,
  type UnsignedDescriptor,
} from './descriptor.ts'
import { DigestMismatchError, type IntakeCounters, type IntakeNotice, type IntakeOutcome } from './intake.ts'
import { PeerPenalties } from './penalties.ts'
import type { DescriptorStore } from './store.ts'
import { type Announce, encodeAnnounce, FLOOD_TOPIC, type WireError } from './wire.ts'
import { canonicalEncode } from '../util/canonical.ts'

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

export const ANNOUNCER_DEFAULTS = { minIntervalMs: 250, maxConcurrentPulls: 16, resignAfterMs: 3_600_000 }

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

/**
 * Payload bytes as kith hands them to gossipsub or the pull protocol (no gossipsub framing, signatures,
 * encryption or control traffic; the transport measure in the control-bytes benchmark has those), counted
 * the same way in both modes.
 */
export interface AnnouncerCounters {
  announced: number
  /** own notices (or, flooding, own bodies) times the peers gossipsub sent each to */
  gossipBytesOut: number
  /** others' messages passed on: size times the mesh peers other than the sender and the origin */
  forwardBytesOut: number
  /** every message taken in on the topic, once (gossipsub drops duplicates before kith sees them) */
  gossipBytesIn: number
  pullBytesOut: number
  pullBytesIn: number
  pulls: number
  pullFailures: number
  penalized: number
  /** announces of an unchanged body: state and liveness only, nothing to pull or verify */
  heartbeats: number
  /**
   * notices refused, by why: `foreign` speaks for another peer than its signer, `clock_skew` is too far from
   * our clock, `old` is not newer than the last notice applied (reordered or replayed)
   */
  noticesRejected: { malformed: number; unsigned: number; foreign: number; clock_skew: number; old: number }
  /** what taking in bodies cost: signatures checked and avoided */
  intake: IntakeCounters
  /** capabilities the body last signed could not carry (over its size or entry limits); 0 when all fit */
  capabilitiesLeft: number
  /**
   * bodies that could not be signed (what the node offers is over the wire's limits); the last body signed,
   * if any, is announced instead
   */
  signRefused: number
  /** announce rounds that failed for another reason (the state or the seq store threw); the next one retries */
  announceFailed: number
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
  readonly #maxPulls: number
  readonly #maxSkewMs: number
  readonly #resignAfterMs: number
  readonly #inflight = new Map<string, Promise<TopicValidatorResult>>()
  readonly #penalties = new PeerPenalties()
  #own: OwnBody | undefined
  /** what `#own` was signed from (addresses, every capability, attestation), encoded to compare */
  #offer: Buffer | undefined
  /** the last offer the wire refused to sign, so that it is not tried (and logged) on every refresh */
  #refused: Buffer | undefined
  #state: NodeState | undefined
  #seq = 0
  #resign = false
  #lastAt = 0
  #refresh: ReturnType<typeof setInterval> | undefined
  #pending: ReturnType<typeof setTimeout> | undefined
  #running = false
  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>) => this.#onPeerSubscribed(evt.detail)

  constructor(components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#ttlMs = init.ttlMs
    this.#maxSkewMs = init.maxSkewMs ?? 30_000
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
    this.#maxPulls = init.maxConcurrentPulls ?? ANNOUNCER_DEFAULTS.maxConcurrentPulls
    this.intake = { counters: this.wire.counters }
    this.counters = {
      announced: 0,
      gossipBytesOut: 0,
      forwardBytesOut: 0,
      gossipBytesIn: 0,
      pullBytesOut: 0,
      pullBytesIn: 0,
      pulls: 0,
      pullFailures: 0,
      penalized: 0,
      heartbeats: 0,
      noticesRejected: { malformed: 0, unsigned: 0, foreign: 0, clock_skew: 0, old: 0 },
      intake: this.wire.counters,
      capabilitiesLeft: 0,
      signRefused: 0,
      announceFailed: 0,
    }
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
    this.#pubsub.topicValidators.set(this.#topic, (from, msg) =>
      this.#mode === 'flood' ? this.#validateFlood(from, msg) : this.#validateAnnounce(from, msg),
    )
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
    this.#refresh = setInterval(() => this.#announceLater(), Math.max(1_000, Math.floor(this.#ttlMs / 3)))
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
    const wait = this.#lastAt + this.#minIntervalMs - Date.now()
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
    const unchanged =
      own != null &&
      !this.#resign &&
      now - own.descriptor.iat < this.#resignAfterMs &&
      this.#offer?.equals(offer) === true &&
      (this.#mode === 'bodyless' || sameState(own.descriptor.state, parts.state))
    // an offer refused once is not signed again until it changes or a re-sign is asked for
    const refusedBefore = !this.#resign && this.#refused?.equals(offer) === true
    let heartbeat = true
    if (own == null || (!unchanged && !refusedBefore)) {
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
    offer: Buffer,
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

  async #validateAnnounce(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    this.counters.gossipBytesIn += msg.data.byteLength
    if (this.#penalties.isBanned(from.toString())) return TopicValidatorResult.Ignore
    // the host runs gossipsub with StrictSign: a signed message reaching us carries a valid signature by `from`
    if (msg.type !== 'signed') return this.#rejectNotice(from, 'unsigned', 'unsigned announce')
    let announce: Announce
    try {
      announce = this.wire.decodeNotice(msg.data)
    } catch (err) {
      return this.#rejectNotice(from, 'malformed', (err as WireError).message)
    }
    if (announce.peer !== msg.from.toString())
      return this.#rejectNotice(from, 'foreign', 'announce for another peer')
    if (announce.peer === this.#c.host.peerId.toString()) return TopicValidatorResult.Ignore
    // a forwarded notice has waited in other peers' queues: only the sender's own copy dates its clock
    if (from.equals(msg.from)) this.#c.clock?.observe(announce.peer, announce.at)
    // a notice far from our clock is stale or replayed (gossipsub's signature covers `at`)
    if (Math.abs(Date.now() - announce.at) > this.#maxSkewMs) {
      this.counters.noticesRejected.clock_skew++
      return TopicValidatorResult.Ignore
    }
    const digestHex = Buffer.from(announce.digest).toString('hex')
    const touched = this.#c.store.touch(announce.peer, announce.seq, digestHex, announce)
    if (touched === 'refreshed') {
      this.#c.log.debug({ peer: announce.peer, seq: announce.seq, at: announce.at }, 'state refreshed')
      return this.#forward(from, msg)
    }
    if (touched === 'old') {
      this.counters.noticesRejected.old++
      return TopicValidatorResult.Ignore
    }
    if (this.#c.store.has(announce.peer, announce.seq, undefined, this.wire.version))
      return TopicValidatorResult.Ignore
    const running = this.#inflight.get(digestHex)
    if (running != null) return running
    if (this.#inflight.size >= this.#maxPulls) return TopicValidatorResult.Ignore
    const notice: IntakeNotice = { ...announce, peer: announce.peer }
    const pulled = this.#pullAndTake([from, msg.from], notice)
      .then((result) => (result === TopicValidatorResult.Accept ? this.#forward(from, msg) : result))
      .finally(() => this.#inflight.delete(digestHex))
    this.#inflight.set(digestHex, pulled)
    return pulled
  }

  async #pullAndTake(sources: PeerId[], notice: IntakeNotice): Promise<TopicValidatorResult> {
    for (const source of sources.filter((s, i) => sources.findIndex((o) => o.equals(s)) === i)) {
      let bytes: Uint8Array | undefined
      this.counters.pulls++
      try {
        await this.#learnAddrs(source)
        bytes = await this.wire.pull(this.#c.host, source, notice.peer, notice.digest)
      } catch (err) {
        this.counters.pullFailures++
        this.#c.log.debug({ from: source.toString(), err }, 'pull failed')
        continue
      }
      if (bytes == null) {
        this.#c.log.debug({ from: source.toString(), peer: notice.peer }, 'pull found nothing')
        continue
      }
      this.counters.pullBytesIn += bytes.byteLength
      return await this.#take(source, bytes, notice)
    }
    return TopicValidatorResult.Ignore
  }

  /**
   * A pull may go to the origin, which need not be a neighbour: the addresses in its last descriptor we
   * hold are the way to reach it.
   */
  async #learnAddrs(source: PeerId): Promise<void> {
    await learnAddresses(this.#c.host, source, this.#c.store.get(source.toString())?.descriptor.addrs ?? [])
  }

  async #validateFlood(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    this.counters.gossipBytesIn += msg.data.byteLength
    if (this.#penalties.isBanned(from.toString())) return TopicValidatorResult.Ignore
    if (msg.type !== 'signed') return this.#rejectNotice(from, 'unsigned', 'unsigned descriptor')
    // a flooded body carries no `at`: its publisher vouches for it now, and only for its own descriptor
    const result = await this.#take(from, msg.data, { peer: msg.from.toString(), at: Date.now() })
    return result === TopicValidatorResult.Accept ? this.#forward(from, msg) : result
  }

  /** Takes a body in; stale or duplicate bodies are ignored, invalid ones cost the sender. */
  async #take(from: PeerId, bytes: Uint8Array, notice: IntakeNotice): Promise<TopicValidatorResult> {
    let outcome: IntakeOutcome
    try {
      outcome = await this.wire.take(this.#c.host, from, bytes, notice, (n) => {
        this.counters.pullBytesIn += n
      })
    } catch (err) {
      if (err instanceof DescriptorError || err instanceof DigestMismatchError || err instanceof PageError)
        return this.#strike(from, err.message)
      this.counters.pullFailures++
      this.#c.log.debug({ from: from.toString(), err }, 'taking a body failed')
      return TopicValidatorResult.Ignore
    }
    if (outcome.result === 'limited' || outcome.result === 'ignored') return TopicValidatorResult.Ignore
    const { descriptor } = outcome.signed
    this.#c.log.debug(
      { peer: descriptor.peer, seq: descriptor.seq, outcome: outcome.result },
      'descriptor stored',
    )
    return TopicValidatorResult.Accept
  }

  /**
   * Accepts `msg` for gossipsub to pass on, counting what that sends: its size to each mesh peer other than
   * the one it came from and its origin (gossipsub skips, in addition, peers that said they have it).
   */
  #forward(from: PeerId, msg: Message): TopicValidatorResult {
    if (msg.type === 'signed') {
      const skip = new Set([from.toString(), msg.from.toString()])
      const peers = this.#meshPeers().filter((p) => !skip.has(p)).length
      this.counters.forwardBytesOut += msg.data.byteLength * peers
    }
    return TopicValidatorResult.Accept
  }

  /** The topic's mesh; gossipsub's class has it though its interface type does not (else: all subscribers). */
  #meshPeers(): string[] {
    const pubsub = this.#pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] }
    return pubsub.getMeshPeers?.(this.#topic) ?? pubsub.getSubscribers(this.#topic).map(String)
  }

  #rejectNotice(
    from: PeerId,
    why: keyof AnnouncerCounters['noticesRejected'],
    message: string,
  ): TopicValidatorResult {
    this.counters.noticesRejected[why]++
    return this.#strike(from, message)
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
    if (!subscriptions.some((s) => s.topic === this.#topic && s.subscribe)) return
    const peer = peerId.toString()
    if (this.#c.store.has(peer, 0, undefined, this.wire.version) || this.#inflight.size >= this.#maxPulls)
      return
    if (this.#c.skipJoin?.(peerId) === true) return
    const key = `join:${peer}`
    const job = this.wire
      .pull(this.#c.host, peerId, peer)
      .then((bytes) => {
        if (bytes == null) return TopicValidatorResult.Ignore
        this.counters.pullBytesIn += bytes.byteLength
        // pulled from its origin over that origin's own authenticated connection: it vouches for it now
        return this.#take(peerId, bytes, { peer, at: Date.now() })
      })
      .catch(() => TopicValidatorResult.Ignore)
      .finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, job)
  }
}

function sameState(a: NodeState, b: NodeState): boolean {
  return Buffer.from(canonicalEncode(a)).equals(canonicalEncode(b))
}

/** What a body is signed from besides its state, encoded: a body whose offer is unchanged is not signed again. */
function offerOf(parts: Pick<UnsignedDescriptor, 'addrs' | 'caps' | 'attest'>): Buffer {
  return Buffer.from(canonicalEncode({ addrs: parts.addrs, caps: parts.caps, attest: parts.attest }))
}
