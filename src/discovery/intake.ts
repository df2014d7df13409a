/**
 * Taking in a descriptor body from the network (pulled or flooded): every check that costs less than the
 * Ed25519 signature runs before it, so that junk, replays and stale copies cost a few tens of microseconds
 * rather than a verification (discovery issue: an attacker can send many).
 *
 * Order: size, cut and msgpack and schema ({@link parseDescriptor}); the digest a notice announced; not our
 * own; the store's freshness rules (stale seq, expired, clock skew: refused and counted; the very body held
 * already: nothing to verify); a bounded cache of bodies verified before; the sender's verification budget;
 * then the signature; then the store.
 */
import {
  DescriptorError,
  type ParsedDescriptor,
  parseDescriptor,
  type SignatureVerifier,
  type SignedDescriptor,
} from './descriptor.ts'
import { TokenBuckets } from '../util/token-bucket.ts'
import type { DescriptorStore, Vouch } from './store.ts'
import { BoundedMap } from '../util/bounded-map.ts'
import { KithError } from '../util/errors.ts'

export interface IntakeInit {
  /** bodies remembered as verified (digest and signature) */
  verifiedCacheSize?: number
  /** signatures one sender may make this node check per second, sustained */
  verifyRatePerSec?: number
  /** and in a burst */
  verifyBurst?: number
  now?: () => number
}

/** What {@link DescriptorIntake.admit} reads of a parsed v1 body or v2 summary. */
export interface Admissible {
  unverified: { v: 1 | 2; peer: string; seq: number; iat: number; ttl: number; sig: Uint8Array }
  body: Uint8Array
  digest: Uint8Array
}

export interface IntakeComponents {
  store: DescriptorStore
  verify: SignatureVerifier
  /** this node's peer id: its own descriptor is never taken from the network */
  self: string
}

/** An authenticated notice that came with or announced the body: who vouched, and for which digest. */
export interface IntakeNotice extends Vouch {
  /** the peer whose key authenticated the notice; it vouches only for its own descriptor */
  peer: string
  /** the digest the notice announced; a body with another digest is refused */
  digest?: Uint8Array
}

export type IntakeOutcome =
  | { result: 'accepted' | 'replaced' | 'duplicate'; signed: SignedDescriptor }
  /** not for this node to store: its own descriptor, a stale seq, an expired one (counted by the store) */
  | { result: 'ignored'; why: string }
  /** the sender has used up its verification budget; nothing was checked */
  | { result: 'limited' }

export interface IntakeCounters {
  /** Ed25519 signatures checked */
  verified: number
  /** bodies taken without a signature check: held already, or verified before (cache) */
  verifySkipped: number
  /** bodies dropped because their sender was over its verification budget */
  limited: number
  /** bodies that did not match the digest their notice announced */
  digestMismatch: number
}

export const INTAKE_DEFAULTS = { verifiedCacheSize: 1024, verifyRatePerSec: 50, verifyBurst: 200 }

/** The error for a body that is not the one its notice announced: the sender served something else. */
export class DigestMismatchError extends KithError {
  static override readonly code = 'digest_mismatch'
  static override readonly status = 502
  constructor() {
    super('body does not match the announced digest')
    this.name = 'DigestMismatchError'
  }
}

export class DescriptorIntake {
  readonly counters: IntakeCounters = { verified: 0, verifySkipped: 0, limited: 0, digestMismatch: 0 }
  readonly #c: IntakeComponents
  /** digest hex -> the signature verified over that body */
  readonly #verified: BoundedMap<string, Buffer>
  readonly #budget: TokenBuckets

  constructor(components: IntakeComponents, init: IntakeInit = {}) {
    this.#c = components
    this.#verified = new BoundedMap({ max: init.verifiedCacheSize ?? INTAKE_DEFAULTS.verifiedCacheSize })
    this.#budget = new TokenBuckets({
      ratePerSec: init.verifyRatePerSec ?? INTAKE_DEFAULTS.verifyRatePerSec,
      burst: init.verifyBurst ?? INTAKE_DEFAULTS.verifyBurst,
      ...(init.now != null ? { now: init.now } : {}),
    })
  }

  /**
   * Takes `bytes` sent by `from`. Throws {@link DescriptorError} (counted by the store) for an invalid or
   * future-dated body and {@link DigestMismatchError} for one that is not what `notice` announced: all the
   * sender's fault.
   *
   * @example
   * const outcome = intake.take(bytes, source.toString(), { peer, digest, at, state })
   */
  take(bytes: Uint8Array, from: string, notice?: IntakeNotice): IntakeOutcome {
    const parsed = this.#parse(bytes)
    const admitted = this.admit(parsed, from, notice)
    if ('result' in admitted) return admitted
    const signed: SignedDescriptor = {
      descriptor: parsed.unverified,
      bytes: parsed.bytes,
      digest: parsed.digest,
    }
    try {
      return { result: this.#c.store.put(signed, admitted.vouch), signed }
    } catch (err) {
      return ignoredOrThrow(err)
    }
  }

  /**
   * Every check between the parse and the store, for a v1 body or a v2 summary alike: the announced digest,
   * not our own, the store's freshness rules, the verified-before cache, the sender's budget, the signature.
   * Returns the notice that vouches for the body (if any), or the outcome when the body goes no further.
   * Throws as {@link take} does.
   *
   * @example
   * const admitted = intake.admit(parseSummary(bytes), from, notice)
   * if ('result' in admitted) return admitted // ignored or limited
   */
  admit(parsed: Admissible, from: string, notice?: IntakeNotice): { vouch?: IntakeNotice } | IntakeOutcome {
    const { unverified } = parsed
    if (notice?.digest != null && !Buffer.from(notice.digest).equals(parsed.digest)) {
      this.counters.digestMismatch++
      throw new DigestMismatchError()
    }
    if (unverified.peer === this.#c.self) return { result: 'ignored', why: 'own descriptor' }
    // a notice vouches for its own author's descriptor only
    const vouch = notice != null && notice.peer === unverified.peer ? notice : undefined
    const digestHex = Buffer.from(parsed.digest).toString('hex')
    let verdict: 'new' | 'duplicate'
    try {
      verdict = this.#c.store.precheck(unverified, digestHex, vouch?.at)
    } catch (err) {
      return ignoredOrThrow(err)
    }
    if (verdict === 'duplicate' || this.#verifiedBefore(digestHex, unverified.sig)) {
      this.counters.verifySkipped++
    } else {
      if (!this.#budget.take(from)) {
        this.counters.limited++
        return { result: 'limited' }
      }
      this.counters.verified++
      if (!this.#c.verify(unverified.peer, parsed.body, unverified.sig)) {
        this.#c.store.reject('bad_signature')
        throw new DescriptorError('bad_signature', `signature does not match the key of ${unverified.peer}`)
      }
      this.#remember(digestHex, unverified.sig)
    }
    return vouch != null ? { vouch } : {}
  }

  #parse(bytes: Uint8Array): ParsedDescriptor {
    try {
      return parseDescriptor(bytes)
    } catch (err) {
      if (err instanceof DescriptorError) this.#c.store.reject(err.reason)
      throw err
    }
  }

  #verifiedBefore(digestHex: string, sig: Uint8Array): boolean {
    return this.#verified.get(digestHex)?.equals(sig) === true
  }

  #remember(digestHex: string, sig: Uint8Array): void {
    this.#verified.set(digestHex, Buffer.from(sig))
  }
}

/**
 * A body that is merely out of date (an older seq, expired, or no room for it) is ignored; one issued in the
 * future beyond the skew allowance is the sender's fault, like an invalid one (the store counted both).
 */
export function ignoredOrThrow(err: unknown): IntakeOutcome {
  if (err instanceof DescriptorError && (err.reason === 'stale_seq' || err.reason === 'expired'))
    return { result: 'ignored', why: err.reason }
  throw err
}
