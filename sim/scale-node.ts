/**
 * One node of the scale scenario: kith's real `DescriptorStore` and `DescriptorIntake` on the virtual clock,
 * its own signed descriptor, and the announcer's own decisions (src/discovery/announce-decision.ts): whether
 * an announce signs a new body or is a heartbeat (`decideAnnounce`), when it may go (`announceWait`), and
 * what a notice that arrives leads to (`decideNotice`). The gossip engine (scale-gossip.ts) moves the bytes
 * in place of libp2p, and bodies are signed with `signDescriptor` in place of the announcer's wire.
 */
import {
  type AnnounceDecision,
  type AnnounceRules,
  announceWait,
  decideAnnounce,
  decideNotice,
  type NoticeVerdict as AnnouncerVerdict,
  noticeInTime,
  offerOf,
} from '../src/discovery/announce-decision.ts'
import {
  type Capability,
  DescriptorError,
  type NodeState,
  signDescriptor,
  type SignatureVerifier,
  type SignedDescriptor,
} from '../src/discovery/descriptor.ts'
import { DescriptorIntake, DigestMismatchError } from '../src/discovery/intake.ts'
import { DescriptorStore } from '../src/discovery/store.ts'
import type { SimIdentity } from './keys.ts'

/** What a bodyless notice leads to, as the announcer decides it; `skewed`: too far from the clock, ignored. */
export type NoticeVerdict = AnnouncerVerdict | 'skewed'

/** What taking a body in led to: `accepted` is the validator's Accept (stored, or held already). */
export type TakeVerdict = 'accepted' | 'ignored' | 'rejected'

export interface ScaleNodeInit {
  index: number
  identity: SimIdentity
  verify: SignatureVerifier
  now: () => number
  ttlMs: number
  caps: Capability[]
  maxConcurrentPulls: number
  /** the announcer's mode, rules and limits (announce-decision.ts) */
  rules: AnnounceRules
  minIntervalMs: number
  maxSkewMs: number
}

/** A notice as a receiver reads it; `digestHex` is kept once per message, not per receiver. */
export interface Notice {
  peer: string
  seq: number
  digest: Uint8Array
  digestHex: string
  at: number
  state: NodeState
}

/**
 * @example
 * const rules = { mode: 'bodyless', resignAfterMs: ANNOUNCER_DEFAULTS.resignAfterMs } as const
 * const node = new ScaleNode({ index: 3, identity: keys.get(3), verify: keys.verifier, now, ttlMs: 15_000,
 *   caps, maxConcurrentPulls: 16, rules, minIntervalMs: 250, maxSkewMs: 30_000 })
 * node.notice(notice) // 'pull' for a digest it does not hold
 */
export class ScaleNode {
  readonly index: number
  readonly identity: SimIdentity
  readonly store: DescriptorStore
  readonly intake: DescriptorIntake
  /** digests being pulled, each with what waits for it */
  readonly pulls = new Map<string, Array<() => void>>()
  caps: Capability[]
  /** when the last announce went (virtual ms), and whether one waits for `minIntervalMs` to pass */
  lastAt = Number.NEGATIVE_INFINITY
  pending = false
  #seq = 0
  #own: SignedDescriptor | undefined
  /** `offerOf` what `#own` was signed from */
  #offer: Uint8Array | undefined
  readonly #init: ScaleNodeInit
  readonly #now: () => number
  readonly #ttlMs: number
  readonly #maxPulls: number

  constructor(init: ScaleNodeInit) {
    this.index = init.index
    this.identity = init.identity
    this.caps = init.caps
    this.#init = init
    this.#now = init.now
    this.#ttlMs = init.ttlMs
    this.#maxPulls = init.maxConcurrentPulls
    // the store's expiry timer stays off: virtual time has none, and `get`/`has` skip expired entries anyway
    this.store = new DescriptorStore({ now: init.now })
    this.intake = new DescriptorIntake(
      { store: this.store, verify: init.verify, self: init.identity.peer },
      { now: init.now },
    )
  }

  get peer(): string {
    return this.identity.peer
  }

  /** The node's current signed descriptor (signed on first use). */
  get own(): SignedDescriptor {
    return this.#own ?? this.sign({ load: 0.1, memFree: 1e9, queue: 0 })
  }

  /** Signs a new body (seq + 1) with the current capabilities and `state`, and stores it, as the announcer does. */
  sign(state: NodeState): SignedDescriptor {
    this.#seq++
    const parts = { addrs: [], caps: this.caps, attest: { tpm: false } }
    const own = signDescriptor(
      {
        v: 1,
        peer: this.peer,
        seq: this.#seq,
        iat: Math.floor(this.#now()),
        ttl: this.#ttlMs,
        state,
        ...parts,
      },
      this.identity.sign,
    )
    this.#own = own
    this.#offer = offerOf(parts)
    this.store.put(own)
    return own
  }

  /** How long an announce asked for at virtual time `at` waits (0: it goes now), as the announcer coalesces. */
  announceWait(at: number): number {
    return announceWait(this.lastAt, at, this.#init.minIntervalMs)
  }

  /**
   * An announce with the node's state now: a new body or the held one, as `decideAnnounce` says for the
   * capabilities and `state` against the held body.
   */
  announce(state: NodeState): { body: SignedDescriptor; decision: AnnounceDecision } {
    const own = this.#own
    const held =
      own !== undefined && this.#offer !== undefined
        ? { iat: own.descriptor.iat, state: own.descriptor.state, offer: this.#offer }
        : undefined
    const offer = offerOf({ addrs: [], caps: this.caps, attest: { tpm: false } })
    const now = Math.floor(this.#now())
    const decision = decideAnnounce(held, now, { offer, state, resign: false }, this.#init.rules)
    if (decision.body === 'sign' || own === undefined) return { body: this.sign(state), decision }
    return { body: own, decision }
  }

  /** The announcer's handling of a bodyless notice from a peer, up to the pull (`decideNotice`). */
  notice(n: Notice): NoticeVerdict {
    if (!noticeInTime(n.at, this.#now(), this.#init.maxSkewMs)) return 'skewed'
    return decideNotice({
      touched: this.store.touch(n.peer, n.seq, n.digestHex, n),
      held: this.store.has(n.peer, n.seq),
      pulling: this.pulls.has(n.digestHex),
      pulls: this.pulls.size,
      maxPulls: this.#maxPulls,
    })
  }

  /** Takes a body in through the real intake; invalid bodies would cost the sender (none are sent here). */
  take(
    bytes: Uint8Array,
    from: string,
    notice: { peer: string; at: number; digest?: Uint8Array },
  ): TakeVerdict {
    try {
      const outcome = this.intake.take(bytes, from, notice)
      return outcome.result === 'limited' || outcome.result === 'ignored' ? 'ignored' : 'accepted'
    } catch (err) {
      if (err instanceof DescriptorError || err instanceof DigestMismatchError) return 'rejected'
      throw err
    }
  }

  /** What the node serves to a pull: the held body of `peer`, if it is the one asked for. */
  bytesFor(peer: string, digestHex: string): Uint8Array | undefined {
    const entry = this.store.get(peer)
    return entry !== undefined && entry.digestHex === digestHex ? entry.bytes : undefined
  }

  /** True when the store holds `peer`'s descriptor `seq` or a newer one. */
  holds(peer: string, seq: number): boolean {
    const entry = this.store.get(peer)
    return entry !== undefined && entry.descriptor.seq >= seq
  }
}
