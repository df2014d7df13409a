/**
 * A household node of the drift scenario, as a requester: kith's real soft-state store, intake and
 * capability index, fed by what the other nodes advertise, and the receiving half of the announcer.
 *
 * - A notice (kith) goes to `store.touch` and `decideNotice`, as the announcer's receiver does: a notice for the
 *   held body refreshes its life and takes its state; one that is not newer than the last applied is
 *   dropped (`old`); one for a body not held starts a pull from the origin (one per digest at a time, at
 *   most `maxConcurrentPulls`, given up after PULL_TIMEOUT_MS), and the pulled body goes through
 *   `DescriptorIntake.take` with the notice as its vouch.
 * - A flooded body goes through `DescriptorIntake.take` vouched for now, as `#validateFlood` does.
 * - The store's timer is not started (virtual time has no timers): a selection calls `store.expire()`
 *   first, which is what a node's timer would have done by then.
 */
import { ANNOUNCER_DEFAULTS, decideNotice, noticeInTime } from '../src/discovery/announce-decision.ts'
import { BAND_DEFAULTS } from '../src/discovery/bands.ts'
import type { Capability, NodeState, SignatureVerifier } from '../src/discovery/descriptor.ts'
import { DescriptorIntake } from '../src/discovery/intake.ts'
import { CapabilityIndex, type Match } from '../src/discovery/matcher/index.ts'
import { DescriptorStore } from '../src/discovery/store.ts'
import type { Announce } from '../src/discovery/wire.ts'
import type { DriftNode } from './drift-node.ts'
import type { SimIdentity } from './keys.ts'

/** Why a selection was stale, the first that applies. */
export type StaleCause = 'offline' | 'withdrawn' | 'load' | 'battery'
export const STALE_CAUSES: readonly StaleCause[] = ['offline', 'withdrawn', 'load', 'battery']

export interface DriftRequesterCounters {
  pulls: number
  /** pulls that brought nothing: lost in time, the origin gone or holding a newer body */
  pullFailures: number
  /** notices not newer than the last one applied (reordered on the way) */
  noticesOld: number
  /** notices dropped because `maxConcurrentPulls` pulls were running */
  pullsSkipped: number
  /** bodies the intake refused or threw on */
  refused: number
}

export interface DriftRequesterInit {
  index: number
  identity: SimIdentity
  verify: SignatureVerifier
  now: () => number
  maxConcurrentPulls: number
}

/**
 * @example
 * const r = new DriftRequester({ index, identity, verify: keys.verifier, now, maxConcurrentPulls: 16 })
 * r.takeNotice(announce, () => pull(r, node, announce))
 * r.select(capability) // the match the index ranks first, or undefined
 */
export class DriftRequester {
  readonly index: number
  readonly peer: string
  readonly store: DescriptorStore
  readonly intake: DescriptorIntake
  readonly matcher = new CapabilityIndex()
  readonly counters: DriftRequesterCounters = {
    pulls: 0,
    pullFailures: 0,
    noticesOld: 0,
    pullsSkipped: 0,
    refused: 0,
  }
  readonly #now: () => number
  readonly #maxPulls: number
  readonly #inflight = new Set<string>()

  constructor(init: DriftRequesterInit) {
    this.index = init.index
    this.peer = init.identity.peer
    this.#now = init.now
    this.#maxPulls = init.maxConcurrentPulls
    this.store = new DescriptorStore({ now: init.now })
    this.intake = new DescriptorIntake(
      { store: this.store, verify: init.verify, self: init.identity.peer },
      { now: init.now },
    )
    // as buildDiscovery wires it: a state update re-ranks the peer without re-indexing its text
    this.store.onChange((event) => {
      if (event.type === 'remove') this.matcher.remove(event.entry.descriptor.peer)
      else this.matcher.put(event.entry.descriptor.peer, event.entry.descriptor, { local: false })
    })
  }

  /**
   * A notice from its origin. `pull` is called when the body must be fetched; it must call
   * {@link pulled} or {@link pullFailed} once with the same digest.
   */
  takeNotice(announce: Announce, pull: (digestHex: string) => void): void {
    if (!noticeInTime(announce.at, this.#now(), ANNOUNCER_DEFAULTS.maxSkewMs)) return
    const digestHex = Buffer.from(announce.digest).toString('hex')
    const verdict = decideNotice({
      touched: this.store.touch(announce.peer, announce.seq, digestHex, announce),
      held: this.store.has(announce.peer, announce.seq),
      pulling: this.#inflight.has(digestHex),
      pulls: this.#inflight.size,
      maxPulls: this.#maxPulls,
    })
    if (verdict === 'old') this.counters.noticesOld++
    else if (verdict === 'busy') this.counters.pullsSkipped++
    else if (verdict === 'pull') {
      this.#inflight.add(digestHex)
      this.counters.pulls++
      pull(digestHex)
    }
  }

  /** The answer to a pull: the body, or undefined when the origin did not hold that digest any more. */
  pulled(digestHex: string, bytes: Uint8Array | undefined, announce: Announce): void {
    if (!this.#inflight.delete(digestHex)) return // given up already: a late answer is dropped
    if (bytes === undefined) {
      this.counters.pullFailures++
      return
    }
    this.#take(bytes, announce.peer, announce)
  }

  /** The pull's deadline passed without an answer. */
  pullFailed(digestHex: string): void {
    if (this.#inflight.delete(digestHex)) this.counters.pullFailures++
  }

  /** A flooded body published by `from`, which vouches for it now. */
  takeFlood(bytes: Uint8Array, from: string): void {
    this.#take(bytes, from, { peer: from, at: Math.floor(this.#now()) })
  }

  /** The best live provider of `capability` by kith's ranking, after dropping what expired. */
  select(capability: Capability): Match | undefined {
    this.store.expire()
    return this.matcher
      .query({ text: capability.title, tags: capability.tags }, { limit: 3 })
      .find((m) => m.capability.id === capability.id)
  }

  /** The state the store holds for `peer`, what the ranking used. */
  advertised(peer: string): NodeState | undefined {
    return this.store.get(peer)?.descriptor.state
  }

  #take(bytes: Uint8Array, from: string, notice: Parameters<DescriptorIntake['take']>[2]): void {
    try {
      this.intake.take(bytes, from, notice)
    } catch {
      this.counters.refused++
    }
  }
}

/**
 * Whether selecting `node` for `capability` at this moment is stale, judged against the truth, and why:
 * `offline`, it does not offer the capability any more (`withdrawn`), or its true state is past an enter
 * threshold of kith's bands while the advertised state (`advertised`, what the ranking saw) is not: load
 * above `loadHighEnter` (`load`), or on battery below `batteryLowEnter` (`battery`).
 *
 * @example
 * staleCause(node, 'text.summarize', requester.advertised(node.peer)) // undefined: a fresh selection
 */
export function staleCause(
  node: DriftNode,
  capability: string,
  advertised: NodeState | undefined,
): StaleCause | undefined {
  if (!node.online) return 'offline'
  if (!node.offers(capability)) return 'withdrawn'
  if (loadHigh(node.truth) && (advertised === undefined || !loadHigh(advertised))) return 'load'
  if (batteryLow(node.truth) && (advertised === undefined || !batteryLow(advertised))) return 'battery'
  return undefined
}

function loadHigh(state: NodeState): boolean {
  return state.load > BAND_DEFAULTS.loadHighEnter
}

function batteryLow(state: NodeState): boolean {
  return (
    state.battery !== undefined && state.charging !== true && state.battery < BAND_DEFAULTS.batteryLowEnter
  )
}
