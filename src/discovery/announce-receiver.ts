/**
 * The receiving half of the announcer: gossipsub's validator for the announce topic. A bodyless notice whose
 * body is held refreshes its state; one for a body not held starts a pull (from the peer that forwarded it,
 * then from its origin) and is accepted, so forwarded, only once the body was fetched and verified. A flooded
 * body is taken in directly. Invalid messages cost their sender (penalties.ts). What a notice leads to is
 * `decideNotice` (announce-decision.ts), which the simulator runs too.
 */
import type { ClockOffset } from './clock-offset.ts'
import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import { learnAddresses } from '../connectivity/peers.ts'
import type { Logger } from '../util/logger.ts'
import { decideNotice, noticeInTime } from './announce-decision.ts'
import type { AnnounceWire } from './announce-wire.ts'
import type { AnnouncerCounters } from './announcer-counters.ts'
import { PageError } from './catalog-page.ts'
import { DescriptorError } from './descriptor.ts'
import { DigestMismatchError, type IntakeNotice, type IntakeOutcome } from './intake.ts'
import { PeerPenalties } from './penalties.ts'
import type { DescriptorStore } from './store.ts'
import type { Announce, WireError } from './wire.ts'

export interface AnnounceReceiverComponents {
  host: KithLibp2p
  store: DescriptorStore
  wire: AnnounceWire
  /** the announcer's counters, which this half adds to */
  counters: AnnouncerCounters
  log: Logger
  /** told the sender's clock of every notice that comes straight from its sender */
  clock?: ClockOffset | undefined
  /** peers not to pull from when they join the topic (a v2 peer joining the v1 topic: its summary comes) */
  skipJoin?: ((peer: PeerId) => boolean) | undefined
}

export interface AnnounceReceiverInit {
  mode: 'bodyless' | 'flood'
  topic: string
  maxConcurrentPulls: number
  /** clock difference tolerated in a notice's `at` (ms) */
  maxSkewMs: number
}

/**
 * @example
 * const receiver = new AnnounceReceiver({ host, store, wire, counters, log }, { mode: 'bodyless', topic, maxConcurrentPulls: 16, maxSkewMs: 30_000 })
 * pubsub.topicValidators.set(topic, (from, msg) => receiver.validate(from, msg))
 */
export class AnnounceReceiver {
  readonly #c: AnnounceReceiverComponents
  readonly #init: AnnounceReceiverInit
  readonly #inflight = new Map<string, Promise<TopicValidatorResult>>()
  readonly #penalties = new PeerPenalties()

  constructor(components: AnnounceReceiverComponents, init: AnnounceReceiverInit) {
    this.#c = components
    this.#init = init
  }

  get #counters(): AnnouncerCounters {
    return this.#c.counters
  }

  /** gossipsub's topic validator: Accept (and so forward), Ignore, or Reject (and penalize the sender). */
  validate(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    return this.#init.mode === 'flood' ? this.#validateFlood(from, msg) : this.#validateAnnounce(from, msg)
  }

  async #validateAnnounce(from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    this.#counters.gossipBytesIn += msg.data.byteLength
    if (this.#penalties.isBanned(from.toString())) return TopicValidatorResult.Ignore
    // the host runs gossipsub with StrictSign: a signed message reaching us carries a valid signature by `from`
    if (msg.type !== 'signed') return this.#rejectNotice(from, 'unsigned', 'unsigned announce')
    let announce: Announce
    try {
      announce = this.#c.wire.decodeNotice(msg.data)
    } catch (err) {
      return this.#rejectNotice(from, 'malformed', (err as WireError).message)
    }
    if (announce.peer !== msg.from.toString())
      return this.#rejectNotice(from, 'foreign', 'announce for another peer')
    if (announce.peer === this.#c.host.peerId.toString()) return TopicValidatorResult.Ignore
    // a forwarded notice has waited in other peers' queues: only the sender's own copy dates its clock
    if (from.equals(msg.from)) this.#c.clock?.observe(announce.peer, announce.at)
    if (!noticeInTime(announce.at, Date.now(), this.#init.maxSkewMs)) {
      this.#counters.noticesRejected.clock_skew++
      return TopicValidatorResult.Ignore
    }
    const digestHex = Buffer.from(announce.digest).toString('hex')
    const { store, wire } = this.#c
    const verdict = decideNotice({
      touched: store.touch(announce.peer, announce.seq, digestHex, announce),
      held: store.has(announce.peer, announce.seq, undefined, wire.version),
      pulling: this.#inflight.has(digestHex),
      pulls: this.#inflight.size,
      maxPulls: this.#init.maxConcurrentPulls,
    })
    switch (verdict) {
      case 'refreshed':
        this.#c.log.debug({ peer: announce.peer, seq: announce.seq, at: announce.at }, 'state refreshed')
        return this.#forward(from, msg)
      case 'old':
        this.#counters.noticesRejected.old++
        return TopicValidatorResult.Ignore
      case 'held':
      case 'busy':
        return TopicValidatorResult.Ignore
      case 'joined':
        return this.#inflight.get(digestHex) ?? TopicValidatorResult.Ignore
      case 'pull': {
        const notice: IntakeNotice = { ...announce, peer: announce.peer }
        const pulled = this.#pullAndTake([from, msg.from], notice)
          .then((result) => (result === TopicValidatorResult.Accept ? this.#forward(from, msg) : result))
          .finally(() => this.#inflight.delete(digestHex))
        this.#inflight.set(digestHex, pulled)
        return pulled
      }
    }
  }

  async #pullAndTake(sources: PeerId[], notice: IntakeNotice): Promise<TopicValidatorResult> {
    for (const source of sources.filter((s, i) => sources.findIndex((o) => o.equals(s)) === i)) {
      let bytes: Uint8Array | undefined
      this.#counters.pulls++
      try {
        await this.#learnAddrs(source)
        bytes = await this.#c.wire.pull(this.#c.host, source, notice.peer, notice.digest)
      } catch (err) {
        this.#counters.pullFailures++
        this.#c.log.debug({ from: source.toString(), err }, 'pull failed')
        continue
      }
      if (bytes == null) {
        this.#c.log.debug({ from: source.toString(), peer: notice.peer }, 'pull found nothing')
        continue
      }
      this.#counters.pullBytesIn += bytes.byteLength
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
    this.#counters.gossipBytesIn += msg.data.byteLength
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
      outcome = await this.#c.wire.take(this.#c.host, from, bytes, notice, (n) => {
        this.#counters.pullBytesIn += n
      })
    } catch (err) {
      if (err instanceof DescriptorError || err instanceof DigestMismatchError || err instanceof PageError)
        return this.#strike(from, err.message)
      this.#counters.pullFailures++
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
      this.#counters.forwardBytesOut += msg.data.byteLength * peers
    }
    return TopicValidatorResult.Accept
  }

  /** The topic's mesh; gossipsub's class has it though its interface type does not (else: all subscribers). */
  #meshPeers(): string[] {
    const pubsub = this.#c.host.services.pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] }
    return pubsub.getMeshPeers?.(this.#init.topic) ?? pubsub.getSubscribers(this.#init.topic).map(String)
  }

  #rejectNotice(
    from: PeerId,
    why: keyof AnnouncerCounters['noticesRejected'],
    message: string,
  ): TopicValidatorResult {
    this.#counters.noticesRejected[why]++
    return this.#strike(from, message)
  }

  #strike(from: PeerId, why: string): TopicValidatorResult {
    this.#c.log.debug({ from: from.toString(), why }, 'invalid discovery message')
    if (this.#penalties.strike(from.toString())) {
      this.#counters.penalized++
      this.#c.log.warn({ from: from.toString() }, 'ignoring a peer that keeps sending invalid descriptors')
    }
    return TopicValidatorResult.Reject
  }

  /** A peer that joins the topic is asked for its current descriptor at once, rather than at its next refresh. */
  onPeerSubscribed({ peerId, subscriptions }: SubscriptionChangeData): void {
    if (!subscriptions.some((s) => s.topic === this.#init.topic && s.subscribe)) return
    const peer = peerId.toString()
    if (
      this.#c.store.has(peer, 0, undefined, this.#c.wire.version) ||
      this.#inflight.size >= this.#init.maxConcurrentPulls
    )
      return
    if (this.#c.skipJoin?.(peerId) === true) return
    const key = `join:${peer}`
    const job = this.#c.wire
      .pull(this.#c.host, peerId, peer)
      .then((bytes) => {
        if (bytes == null) return TopicValidatorResult.Ignore
        this.#counters.pullBytesIn += bytes.byteLength
        // pulled from its origin over that origin's own authenticated connection: it vouches for it now
        return this.#take(peerId, bytes, { peer, at: Date.now() })
      })
      .catch(() => TopicValidatorResult.Ignore)
      .finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, job)
  }
}
