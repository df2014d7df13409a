/**
 * The announcer's decisions as pure functions (src/discovery/announce-decision.ts), which the announcer and
 * the simulator both run: when an announce goes, whether it signs a new body, and what a notice leads to.
 */
import { describe, expect, it } from 'vitest'
import {
  ANNOUNCER_DEFAULTS,
  type AnnounceInputs,
  type AnnounceRules,
  announceWait,
  decideAnnounce,
  decideNotice,
  type HeldBody,
  type NoticeFacts,
  noticeInTime,
  offerOf,
  readingBands,
  refreshIntervalMs,
  sameState,
} from '../../src/discovery/announce-decision.ts'
import { BAND_DEFAULTS, NO_BANDS } from '../../src/discovery/bands.ts'
import type { Capability, NodeState } from '../../src/discovery/descriptor.ts'

const cap = (id: string): Capability => ({ id, kind: 'script', title: id, tags: [] }) as unknown as Capability
const IDLE: NodeState = { load: 0.1, memFree: 1e9, queue: 0 }
const BUSY: NodeState = { load: 0.9, memFree: 1e9, queue: 0 }
const offerA = offerOf({ addrs: ['/ip4/10.0.0.1/tcp/1'], caps: [cap('a')], attest: { tpm: false } })
const offerB = offerOf({ addrs: ['/ip4/10.0.0.1/tcp/1'], caps: [cap('a'), cap('b')], attest: { tpm: false } })
const HOUR = ANNOUNCER_DEFAULTS.resignAfterMs
const bodyless: AnnounceRules = { mode: 'bodyless', resignAfterMs: HOUR }
const flood: AnnounceRules = { mode: 'flood', resignAfterMs: HOUR }
const held: HeldBody = { iat: 1_000, state: IDLE, offer: offerA }
const now = (inputs: Partial<AnnounceInputs> = {}): AnnounceInputs => ({
  offer: offerA,
  state: IDLE,
  resign: false,
  ...inputs,
})

describe('decideAnnounce', () => {
  it('signs the first body', () => {
    expect(decideAnnounce(undefined, 1_000, now(), bodyless)).toEqual({ body: 'sign', reason: 'first' })
    // even when that offer was refused before: nothing else could be announced
    expect(decideAnnounce(undefined, 1_000, now({ refused: offerA }), bodyless).body).toBe('sign')
  })

  it('sends a heartbeat while the offer is unchanged, whatever the state, when bodyless', () => {
    expect(decideAnnounce(held, 2_000, now({ state: BUSY }), bodyless)).toEqual({
      body: 'heartbeat',
      reason: 'unchanged',
    })
  })

  it('signs a new body when the offer changed, a re-sign was asked for, or the body is an hour old', () => {
    expect(decideAnnounce(held, 2_000, now({ offer: offerB }), bodyless).reason).toBe('offer')
    expect(decideAnnounce(held, 2_000, now({ resign: true }), bodyless).reason).toBe('resign')
    expect(decideAnnounce(held, 1_000 + HOUR - 1, now(), bodyless).body).toBe('heartbeat')
    expect(decideAnnounce(held, 1_000 + HOUR, now(), bodyless)).toEqual({ body: 'sign', reason: 'aged' })
  })

  it('flooding signs a new body when only the state changed, and not when nothing did', () => {
    expect(decideAnnounce(held, 2_000, now({ state: BUSY }), flood)).toEqual({
      body: 'sign',
      reason: 'state',
    })
    expect(decideAnnounce(held, 2_000, now({ state: { ...IDLE } }), flood).body).toBe('heartbeat')
  })

  it('keeps announcing the held body while its changed offer is the one refused, until a re-sign is asked', () => {
    expect(decideAnnounce(held, 2_000, now({ offer: offerB, refused: offerB }), bodyless)).toEqual({
      body: 'heartbeat',
      reason: 'refused',
    })
    // another offer than the refused one is tried
    expect(decideAnnounce(held, 2_000, now({ offer: offerB, refused: offerA }), bodyless).body).toBe('sign')
    expect(
      decideAnnounce(held, 2_000, now({ offer: offerB, refused: offerB, resign: true }), bodyless),
    ).toEqual({ body: 'sign', reason: 'resign' })
  })
})

describe('announce timing', () => {
  it('coalesces announces closer than minIntervalMs into one when the interval has passed', () => {
    const min = ANNOUNCER_DEFAULTS.minIntervalMs
    expect(announceWait(Number.NEGATIVE_INFINITY, 0, min)).toBe(0)
    expect(announceWait(10_000, 10_100, min)).toBe(min - 100)
    expect(announceWait(10_000, 10_000 + min, min)).toBe(0)
  })

  it('refreshes every ttl/3, never more often than once a second', () => {
    expect(refreshIntervalMs(15_000)).toBe(5_000)
    expect(refreshIntervalMs(10_000)).toBe(3_333)
    expect(refreshIntervalMs(2_000)).toBe(1_000)
  })
})

describe('readingBands', () => {
  it('sets the bands of the first reading silently and asks for an announce on a later crossing', () => {
    const first = readingBands(undefined, BUSY)
    expect(first).toEqual({ bands: { ...NO_BANDS, loadHigh: true }, announce: false })
    expect(readingBands(first.bands, BUSY).announce).toBe(false)
    // hysteresis: between leave and enter the band holds, so no announce
    const between = { ...IDLE, load: BAND_DEFAULTS.loadHighLeave + 0.05 }
    expect(readingBands(first.bands, between)).toEqual({ bands: first.bands, announce: false })
    expect(readingBands(first.bands, IDLE)).toEqual({ bands: NO_BANDS, announce: true })
  })

  it('a crossing on battery: batteryLow entered below its threshold', () => {
    const on = { ...IDLE, battery: 50, charging: false }
    const low = { ...on, battery: BAND_DEFAULTS.batteryLowEnter - 1 }
    const step = readingBands(readingBands(undefined, on).bands, low)
    expect(step).toEqual({ bands: { ...NO_BANDS, batteryLow: true }, announce: true })
  })
})

describe('decideNotice', () => {
  const facts = (f: Partial<NoticeFacts> = {}): NoticeFacts => ({
    touched: 'unknown',
    held: false,
    pulling: false,
    pulls: 0,
    maxPulls: ANNOUNCER_DEFAULTS.maxConcurrentPulls,
    ...f,
  })

  it('takes a newer state for the held body, and drops a notice not newer than the last applied', () => {
    expect(decideNotice(facts({ touched: 'refreshed', held: true }))).toBe('refreshed')
    expect(decideNotice(facts({ touched: 'old', held: true }))).toBe('old')
  })

  it('ignores a notice for a body held already, joins a pull in flight, and pulls otherwise', () => {
    expect(decideNotice(facts({ held: true }))).toBe('held')
    expect(decideNotice(facts({ pulling: true, pulls: 16 }))).toBe('joined')
    expect(decideNotice(facts())).toBe('pull')
  })

  it('starts no pull past maxConcurrentPulls', () => {
    const max = ANNOUNCER_DEFAULTS.maxConcurrentPulls
    expect(decideNotice(facts({ pulls: max - 1 }))).toBe('pull')
    expect(decideNotice(facts({ pulls: max }))).toBe('busy')
  })

  it('takes notices within the clock skew only', () => {
    const skew = ANNOUNCER_DEFAULTS.maxSkewMs
    expect(noticeInTime(100_000, 100_000 + skew, skew)).toBe(true)
    expect(noticeInTime(100_000 + skew + 1, 100_000, skew)).toBe(false)
  })
})

describe('offers and states', () => {
  it('compares offers and states by canonical encoding, not by key order', () => {
    const reordered = offerOf({ attest: { tpm: false }, caps: [cap('a')], addrs: ['/ip4/10.0.0.1/tcp/1'] })
    expect(Buffer.from(reordered).equals(offerA)).toBe(true)
    expect(Buffer.from(offerB).equals(offerA)).toBe(false)
    expect(sameState({ queue: 0, memFree: 1e9, load: 0.1 }, IDLE)).toBe(true)
    expect(sameState(IDLE, BUSY)).toBe(false)
  })
})
