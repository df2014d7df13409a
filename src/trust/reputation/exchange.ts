/**
 * Opinions over gossipsub, topic `kith/trust/1`: a topic validator hands every arriving message to the
 * {@link OpinionBook}, and gossipsub forwards only what the book accepted. A message the book refuses with a
 * charge is rejected (gossipsub's peer score drops too) and reported through `onInvalid`; anything else it
 * refuses (replays, unknown senders, rate limits) is ignored without a penalty.
 *
 * The host runs gossipsub with StrictSign, so `msg.from` of a signed message is authenticated: that is the
 * sender an opinion must come from.
 */
import type { GossipSub, Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { KithLibp2p } from '../../connectivity/host.ts'
import type { Logger } from '../../util/logger.ts'
import type { OpinionBook } from './book.ts'
import { OPINION_GOSSIP_TOPIC } from './constants.ts'
import type { Opinion, OpinionRejectReason } from './opinion.ts'

export interface OpinionGossipComponents {
  host: KithLibp2p
  book: OpinionBook
  log: Logger
  now(): number
  /** an opinion was accepted (global trust on its topic must be recomputed) */
  onAccepted(opinion: Opinion): void
  /** `sender` sent an opinion that counts against it */
  onInvalid(sender: string, reason: OpinionRejectReason): void
}

export interface OpinionGossipCounters {
  published: number
  publishBytes: number
  publishFailures: number
  /** signed messages on the topic, before any check */
  received: number
  /** messages without gossipsub's signature: nobody to hold them against */
  unsigned: number
}

/**
 * @example
 * const gossip = new OpinionGossip({ host, book, log, now: Date.now, onAccepted, onInvalid })
 * gossip.start()
 * await gossip.publish(signOpinion(opinion, identity.sign))
 */
export class OpinionGossip {
  readonly counters: OpinionGossipCounters = {
    published: 0,
    publishBytes: 0,
    publishFailures: 0,
    received: 0,
    unsigned: 0,
  }
  readonly #c: OpinionGossipComponents
  #running = false

  constructor(components: OpinionGossipComponents) {
    this.#c = components
  }

  get #pubsub(): GossipSub {
    return this.#c.host.services.pubsub as GossipSub
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#pubsub.topicValidators.set(OPINION_GOSSIP_TOPIC, (from, msg) => this.#validate(from, msg))
    this.#pubsub.subscribe(OPINION_GOSSIP_TOPIC)
  }

  stop(): void {
    if (!this.#running) return
    this.#running = false
    this.#pubsub.unsubscribe(OPINION_GOSSIP_TOPIC)
    this.#pubsub.topicValidators.delete(OPINION_GOSSIP_TOPIC)
  }

  /** Gossips one signed opinion; a failure is counted and logged, never thrown. */
  async publish(bytes: Uint8Array): Promise<void> {
    if (!this.#running) return
    try {
      const { recipients } = await this.#pubsub.publish(OPINION_GOSSIP_TOPIC, bytes)
      this.counters.published++
      this.counters.publishBytes += bytes.byteLength * recipients.length
    } catch (err) {
      this.counters.publishFailures++
      this.#c.log.debug({ err }, 'opinion publish failed')
    }
  }

  #validate(_from: PeerId, msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed') {
      this.counters.unsigned++
      return TopicValidatorResult.Reject
    }
    this.counters.received++
    const sender = msg.from.toString()
    const result = this.#c.book.take(msg.data, sender, this.#c.now())
    if (result.ok) {
      this.#c.onAccepted(result.opinion)
      return TopicValidatorResult.Accept
    }
    this.#c.log.debug({ sender, reason: result.reason, why: result.message }, 'opinion refused')
    if (!result.charge) return TopicValidatorResult.Ignore
    this.#c.onInvalid(sender, result.reason)
    return TopicValidatorResult.Reject
  }
}
