/**
 * What the announcer decides, as pure functions of what it holds and what it is told: when to announce
 * (a refresh every ttl/3, a band crossing or an offer change at once, at most one announce per
 * `minIntervalMs`), whether an announce signs a new body or is a heartbeat for the held one, and what a
 * bodyless notice from a peer leads to. The announcer (announcer.ts, announce-receiver.ts) and the
 * simulator (sim/drift-node.ts, sim/drift-requester.ts, sim/scale-node.ts) both call these, so what the
 * simulator measures is kith's own decision, not a copy of it.
 */
import { type Bands, BAND_DEFAULTS, type BandThresholds, bandsChanged, NO_BANDS, nextBands } from './bands.ts'
import type { NodeState, UnsignedDescriptor } from './descriptor.ts'
import { canonicalEncode } from '../util/canonical.ts'

/** The announcer's defaults (AnnouncerInit); the simulator's scenarios default to them too. */
export const ANNOUNCER_DEFAULTS = {
  minIntervalMs: 250,
  maxConcurrentPulls: 16,
  resignAfterMs: 3_600_000,
  /** clock difference tolerated in a notice's `at` (ms) */
  maxSkewMs: 30_000,
}

/** How the announcer publishes: bodyless notices (kith) or whole bodies (flooding, the baseline). */
export type AnnounceMode = 'bodyless' | 'flood'

/** The announcer's rules, from its init (announcer.ts) or {@link ANNOUNCER_DEFAULTS}. */
export interface AnnounceRules {
  mode: AnnounceMode
  /** re-sign an unchanged body after this long (ms), so a body pulled fresh has a recent state */
  resignAfterMs: number
}

/** The body the node announces now: when it was signed, with which state, and from which offer. */
export interface HeldBody {
  iat: number
  state: NodeState
  /** {@link offerOf} the parts it was signed from */
  offer: Uint8Array
}

/** What the node is now and what it was asked for, at the moment of an announce. */
export interface AnnounceInputs {
  /** {@link offerOf} what the node offers now */
  offer: Uint8Array
  state: NodeState
  /** a new body was asked for even if nothing it holds changed (a ttl change) */
  resign: boolean
  /** the last offer the wire refused to sign, so it is not tried (and logged) on every refresh */
  refused?: Uint8Array | undefined
}

/** Why an announce signs a new body, or why it does not. */
export type AnnounceReason =
  /** no body held yet */
  | 'first'
  /** a re-sign was asked for */
  | 'resign'
  /** the held body is older than `resignAfterMs` */
  | 'aged'
  /** the capabilities, addresses or attestation differ from the held body's */
  | 'offer'
  /** flooding: the state differs from the held body's, and bodies are all flooding sends */
  | 'state'
  /** nothing the body carries changed: the notice carries the state */
  | 'unchanged'
  /** the changed offer was refused before: the held body goes out again until the offer changes */
  | 'refused'

export type AnnounceDecision =
  | { body: 'sign'; reason: Exclude<AnnounceReason, 'unchanged' | 'refused'> }
  | { body: 'heartbeat'; reason: 'unchanged' | 'refused' }

/**
 * Whether an announce now signs a new body (seq + 1) or is a heartbeat for the held one. A new body when
 * none is held, when a re-sign is asked for, when the held body is older than `resignAfterMs`, when the offer
 * differs from the held body's, or, flooding, when the state does; but an offer the wire refused before is
 * not tried again until it changes or a re-sign is asked for.
 *
 * @example
 * decideAnnounce(held, Date.now(), { offer, state, resign: false }, { mode: 'bodyless', resignAfterMs: 3_600_000 })
 * // { body: 'heartbeat', reason: 'unchanged' } while the offer is the held body's
 */
export function decideAnnounce(
  held: HeldBody | undefined,
  now: number,
  inputs: AnnounceInputs,
  rules: AnnounceRules,
): AnnounceDecision {
  if (held === undefined) return { body: 'sign', reason: 'first' }
  const why = changed(held, now, inputs, rules)
  if (why === undefined) return { body: 'heartbeat', reason: 'unchanged' }
  if (!inputs.resign && inputs.refused !== undefined && sameBytes(inputs.refused, inputs.offer))
    return { body: 'heartbeat', reason: 'refused' }
  return { body: 'sign', reason: why }
}

function changed(
  held: HeldBody,
  now: number,
  inputs: AnnounceInputs,
  rules: AnnounceRules,
): Exclude<AnnounceReason, 'first' | 'unchanged' | 'refused'> | undefined {
  if (inputs.resign) return 'resign'
  if (now - held.iat >= rules.resignAfterMs) return 'aged'
  if (!sameBytes(held.offer, inputs.offer)) return 'offer'
  if (rules.mode === 'flood' && !sameState(held.state, inputs.state)) return 'state'
  return undefined
}

/**
 * How long an announce asked for at `now` waits: 0 to go at once, else the ms until `minIntervalMs` has
 * passed since the last one went at `lastAt` (announces asked for in between are coalesced into that one).
 *
 * @example
 * announceWait(1_000, 1_100, 250) // 150
 */
export function announceWait(lastAt: number, now: number, minIntervalMs: number): number {
  return Math.max(0, lastAt + minIntervalMs - now)
}

/**
 * The refresh period for a ttl: every ttl/3, so that two refreshes may be lost before a peer's copy expires,
 * and not more often than once a second.
 *
 * @example
 * refreshIntervalMs(15_000) // 5_000
 */
export function refreshIntervalMs(ttlMs: number): number {
  return Math.max(1_000, Math.floor(ttlMs / 3))
}

/**
 * One reading of the node's state: its bands, and whether the reading asks for an announce at once. The
 * first reading (`previous` undefined) sets the bands silently, since whoever announces reads the state
 * anyway; a later one asks when any band was crossed (with hysteresis, bands.ts).
 *
 * @example
 * const first = readingBands(undefined, { load: 0.1, memFree: 1e9, queue: 0 }) // announce: false
 * readingBands(first.bands, { load: 0.9, memFree: 1e9, queue: 0 }).announce      // true: loadHigh entered
 */
export function readingBands(
  previous: Bands | undefined,
  state: NodeState,
  thresholds: BandThresholds = BAND_DEFAULTS,
): { bands: Bands; announce: boolean } {
  const bands = nextBands(previous ?? NO_BANDS, state, thresholds)
  return { bands, announce: previous !== undefined && bandsChanged(previous, bands) }
}

/** What a bodyless notice from a peer leads to, once it is authenticated and within the clock skew. */
export type NoticeVerdict =
  /** the held body is live and the notice's state is newer: taken, the notice is forwarded */
  | 'refreshed'
  /** not newer than the last notice applied (reordered or replayed): ignored */
  | 'old'
  /** that body (or a newer one) is held already: ignored */
  | 'held'
  /** a pull of that digest is in flight: the notice waits for it */
  | 'joined'
  /** `maxConcurrentPulls` pulls are running: ignored (the next heartbeat brings the digest again) */
  | 'busy'
  /** pull the body: from the peer that forwarded the notice, then from its origin */
  | 'pull'

/** What the receiver knows when it decides on a notice. */
export interface NoticeFacts {
  /** what the store made of the notice (`DescriptorStore.touch`, which applies a newer state) */
  touched: 'unknown' | 'old' | 'refreshed'
  /** the store holds the notice's seq of that peer, or a newer one */
  held: boolean
  /** a pull of the notice's digest is in flight */
  pulling: boolean
  /** pulls in flight, and the most there may be */
  pulls: number
  maxPulls: number
}

/**
 * What a notice leads to, in the announcer's order: a state refresh of the held body, a stale notice, a body
 * held already, a pull to join or start, or none when too many pulls run.
 *
 * @example
 * decideNotice({ touched: 'unknown', held: false, pulling: false, pulls: 0, maxPulls: 16 }) // 'pull'
 */
export function decideNotice(facts: NoticeFacts): NoticeVerdict {
  if (facts.touched === 'refreshed') return 'refreshed'
  if (facts.touched === 'old') return 'old'
  if (facts.held) return 'held'
  if (facts.pulling) return 'joined'
  if (facts.pulls >= facts.maxPulls) return 'busy'
  return 'pull'
}

/**
 * True when a notice stamped `at` is within `maxSkewMs` of the receiver's clock; one farther off is stale
 * or replayed (gossipsub's signature covers `at`) and is ignored before it touches the store.
 *
 * @example
 * noticeInTime(1_000, 40_000, 30_000) // false
 */
export function noticeInTime(at: number, now: number, maxSkewMs: number): boolean {
  return Math.abs(now - at) <= maxSkewMs
}

/**
 * What a body is signed from besides its state, encoded to compare: a body whose offer is unchanged is not
 * signed again.
 *
 * @example
 * offerOf({ addrs: [], caps: [], attest: { tpm: false } }) // bytes equal for equal offers
 */
export function offerOf(parts: Pick<UnsignedDescriptor, 'addrs' | 'caps' | 'attest'>): Uint8Array {
  // a copy: the encoder may hand out views of a buffer it reuses, and an offer is kept until the next one
  return Buffer.from(canonicalEncode({ addrs: parts.addrs, caps: parts.caps, attest: parts.attest }))
}

/** True when two states are the same, compared as the announcer compares them: by canonical encoding. */
export function sameState(a: NodeState, b: NodeState): boolean {
  // `a` is copied before `b` is encoded, for the same reason
  return sameBytes(Buffer.from(canonicalEncode(a)), canonicalEncode(b))
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}
