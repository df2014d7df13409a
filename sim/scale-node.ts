/**
 * One node of the scale scenario: kith's real `DescriptorStore` and `DescriptorIntake` on the virtual clock,
 * its own signed descriptor, and the announcer's decisions on what arrives (src/discovery/announcer.ts,
 * `#validateAnnounce` and `#validateFlood`), minus libp2p: the gossip engine (scale-gossip.ts) moves the
 * bytes. The announcer cannot run as it is: it needs a libp2p host and wall-clock timers.
 */
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

/** What a bodyless notice leads to, as the announcer decides it. */
export type NoticeVerdict =
  /** the held body is live and its state is newer: accept, forward */
  | 'refreshed'
  /** not newer than the last notice applied, or the body (or a newer one) is held already: ignore */
  | 'old'
  | 'held'
  /** a pull of that digest is in flight: the notice waits for it */
  | 'joined'
  /** `maxConcurrentPulls` reached: ignored (the next heartbeat brings the digest again) */
  | 'busy'
  /** pull the body from the forwarder (then from the origin) */
  | 'pull'

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
 * const node = new ScaleNode({ index: 3, identity: keys.get(3), verify: keys.verifier, now, ttlMs: 15_000, caps, maxConcurrentPulls: 16 })
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
  #seq = 0
  #own: SignedDescriptor | undefined
  readonly #now: () => number
  readonly #ttlMs: number
  readonly #maxPulls: number

  constructor(init: ScaleNodeInit) {
    this.index = init.index
    this.identity = init.identity
    this.caps = init.caps
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
    const own = signDescriptor(
      {
        v: 1,
        peer: this.peer,
        seq: this.#seq,
        iat: Math.floor(this.#now()),
        ttl: this.#ttlMs,
        addrs: [],
        state,
        caps: this.caps,
        attest: { tpm: false },
      },
      this.identity.sign,
    )
    this.#own = own
    this.store.put(own)
    return own
  }

  /** The announcer's handling of a bodyless notice from a peer, up to the pull. */
  notice(n: Notice): NoticeVerdict {
    const touched = this.store.touch(n.peer, n.seq, n.digestHex, n)
    if (touched === 'refreshed') return 'refreshed'
    if (touched === 'old') return 'old'
    if (this.store.has(n.peer, n.seq)) return 'held'
    if (this.pulls.has(n.digestHex)) return 'joined'
    if (this.pulls.size >= this.#maxPulls) return 'busy'
    return 'pull'
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
