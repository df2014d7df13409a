/**
 * Opinion traffic in a simulation: every interval each household node sends its signed opinions (made by
 * kith's reputation service) to the other household nodes, and colluding Sybils send opinions rating each
 * other (signed with kith's opinion codec), which the receivers' opinion books check like any other.
 */
import type { Capability } from '../src/discovery/descriptor.ts'
import { MIN_PUBLISH_GAP_MS } from '../src/trust/reputation/constants.ts'
import { signOpinion } from '../src/trust/reputation/opinion.ts'
import { topicOf } from '../src/trust/reputation/topic.ts'
import type { Simulator } from './clock.ts'
import type { Network } from './network.ts'
import type { SimProvider } from './provider.ts'
import type { SimRequester } from './requester.ts'

/** a Sybil rates at most this many fellow Sybils per opinion (the wire's cap is 64 entries) */
const SYBIL_OPINION_ENTRIES = 32

export interface OpinionTraffic {
  sim: Simulator
  net: Network
  now: () => number
  requesters: readonly SimRequester[]
  intervalMs: number
  /** false once the run is over: the periodic sends stop */
  running: () => boolean
}

/**
 * Household nodes gossip their opinions to each other every interval, and early, as kith's publisher does,
 * when they caught a new liar: checked every MIN_PUBLISH_GAP_MS (the publisher's least gap between sends).
 */
export function startHouseholdOpinions(t: OpinionTraffic): void {
  const tick = Math.min(t.intervalMs, MIN_PUBLISH_GAP_MS)
  const last = new Map<SimRequester, number>()
  t.sim.every(tick, () => {
    for (const r of t.requesters) {
      const due = t.sim.now - (last.get(r) ?? 0) >= t.intervalMs
      if (!due && !r.hasNews()) continue
      last.set(r, t.sim.now)
      for (const bytes of r.opinions())
        for (const other of t.requesters)
          if (other !== r)
            t.net.send(r.index, other.index, 'opinion', bytes.byteLength, () =>
              other.receiveOpinion(bytes, r.peer),
            )
    }
    return t.running()
  })
}

/** Each Sybil tells every household node, on the topics of `claims`, that it trusts its fellow Sybils. */
export function startSybilOpinions(
  t: OpinionTraffic,
  sybils: readonly SimProvider[],
  claims: readonly Capability[],
): void {
  if (sybils.length < 2) return
  const topics = [...new Set(claims.map(topicOf))]
  let seq = 0
  t.sim.every(t.intervalMs, () => {
    seq++
    for (const [k, p] of sybils.entries()) {
      const friends = [...sybils.slice(k + 1), ...sybils.slice(0, k)].slice(0, SYBIL_OPINION_ENTRIES)
      const entries = friends.map((f) => ({ peer: f.peer, value: 1 / friends.length }))
      for (const topic of topics) {
        const bytes = signOpinion(
          { from: p.peer, topic, seq, at: Math.floor(t.now()), entries },
          p.identity.sign,
        )
        for (const r of t.requesters)
          t.net.send(p.index, r.index, 'opinion', bytes.byteLength, () => r.receiveOpinion(bytes, p.peer))
      }
    }
    return t.running()
  })
}
