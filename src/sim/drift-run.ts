/**
 * Scenario 2 of issue 9, one run: capability drift against the descriptor TTL. Providers' true state drifts
 * (their load crosses kith's load band, a capability is withdrawn or offered again, the node goes offline and
 * comes back) and requesters, each with kith's real intake, soft-state store and matcher, select the best
 * match for a query every `queryIntervalMs`. How providers advertise:
 *
 * - `kith` (bodyless, as src/discovery/announcer.ts): a new signed body only when the offer changes (the
 *   notice, a pull request and the body); the state in a small notice (`encodeAnnounce`, the real encoding)
 *   at once when the load band is crossed and as a heartbeat every ttl/3, applied with `store.touch`;
 * - `flood`: a new signed body every ttl/3 and on every change, state or offer.
 *
 * A selection is **stale** when the chosen provider, at that moment, is offline, no longer offers the
 * capability, or is in the high-load band while the requester's store says it is not (it would refuse or
 * queue the task). Offline providers send nothing, so only the TTL removes them. Control bytes per node per
 * second: the bytes one requester receives (each gossip message counted once, with 120 bytes of gossipsub
 * framing and signature), per second of measured time.
 */
import {
  signDescriptor,
  type Capability,
  type NodeState,
  type SignedDescriptor,
} from '../discovery/descriptor.ts'
import { DescriptorIntake } from '../discovery/intake.ts'
import { CapabilityIndex } from '../discovery/matcher/index.ts'
import { DescriptorStore } from '../discovery/store.ts'
import { encodeAnnounce } from '../discovery/wire.ts'
import { catalogue, zipfWeights } from './catalogue.ts'
import { Simulator } from './clock.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import type { KeyRing } from './keys.ts'
import { Network } from './network.ts'
import { Random } from './random.ts'

const EPOCH = 1_700_000_000_000
/** gossipsub's per-message framing and signature (from, seqno, topic, 64-byte signature), approximately */
export const GOSSIP_OVERHEAD_BYTES = 120
/** a pull request `{peer, digest}` and its stream framing */
const PULL_REQUEST_BYTES = 90
/** the announcer's least gap between two notices of a band crossing (ANNOUNCER_DEFAULTS.minIntervalMs) */
const MIN_NOTICE_GAP_MS = 250
/** kith's load band (DEFAULT_BANDS.loadHighEnter): above it a node sheds peers' tasks */
const LOAD_HIGH = 0.8

export interface DriftRun {
  ttlMs: number
  mode: Advertising
  seed: number
  selections: number
  stale: number
  /** no live match at all */
  misses: number
  bytesPerNodePerSec: number
  bodies: number
  notices: number
}

interface Provider {
  index: number
  caps: Capability[]
  withdrawn: Set<string>
  load: number
  online: boolean
  seq: number
  signed: SignedDescriptor | undefined
  lastNoticeAt: number
}

/**
 * @example
 * const run = await runDrift(scenario, 15_000, 'kith', 1, new KeyRing())
 * run.stale / run.selections
 */
export async function runDrift(
  s: DriftScenario,
  ttlMs: number,
  mode: Advertising,
  seed: number,
  keys: KeyRing,
): Promise<DriftRun> {
  const sim = new Simulator()
  const now = () => EPOCH + sim.now
  const rng = new Random(seed)
  const total = s.nodes + s.requesters
  const net = new Network(sim, rng.fork('links'), { ...s.links, transport: 'stream' }, total)
  const caps = catalogue(s.capabilities.count)
  const popularity = zipfWeights(caps.length, s.capabilities.zipf)
  const capRng = rng.fork('caps')
  const stateRng = rng.fork('state')
  const providers: Provider[] = Array.from({ length: s.nodes }, (_, index) => ({
    index,
    caps: capRng.shuffle(caps).slice(0, Math.min(s.capabilities.perNode, caps.length)),
    withdrawn: new Set<string>(),
    load: stateRng.uniform(0.05, 0.6),
    online: true,
    seq: 0,
    signed: undefined,
    lastNoticeAt: -Infinity,
  }))
  const requesters = Array.from({ length: s.requesters }, (_, k) => {
    const index = s.nodes + k
    const store = new DescriptorStore({ now })
    const intake = new DescriptorIntake({ store, verify: keys.verifier, self: keys.get(index).peer }, { now })
    const matcher = new CapabilityIndex()
    store.onChange((event) => {
      if (event.type === 'remove') matcher.remove(event.entry.descriptor.peer)
      else matcher.put(event.entry.descriptor.peer, event.entry.descriptor, { local: false })
    })
    return { index, store, intake, matcher }
  })
  const run: DriftRun = {
    ttlMs,
    mode,
    seed,
    selections: 0,
    stale: 0,
    misses: 0,
    bytesPerNodePerSec: 0,
    bodies: 0,
    notices: 0,
  }
  let measuring = false
  let received = 0
  const state = (p: Provider): NodeState => ({ load: p.load, memFree: 1e9, queue: 0 })
  const broadcast = (p: Provider, bytes: number, deliver: (r: (typeof requesters)[number]) => void) => {
    if (measuring) received += bytes
    for (const r of requesters) net.send(p.index, r.index, 'control', bytes, () => deliver(r))
  }
  const sendBody = (p: Provider) => {
    p.seq++
    const offered = p.caps.filter((c) => !p.withdrawn.has(c.id))
    const signed = signDescriptor(
      {
        v: 1,
        peer: keys.get(p.index).peer,
        seq: p.seq,
        iat: Math.floor(now()),
        ttl: ttlMs,
        addrs: [],
        state: state(p),
        caps: offered,
        attest: { tpm: false },
      },
      keys.get(p.index).sign,
    )
    p.signed = signed
    run.bodies++
    const at = Math.floor(now())
    const size =
      mode === 'kith'
        ? noticeBytes(p, signed, at) + PULL_REQUEST_BYTES + signed.bytes.byteLength
        : GOSSIP_OVERHEAD_BYTES + signed.bytes.byteLength
    broadcast(p, size, (r) => {
      try {
        r.intake.take(signed.bytes, signed.descriptor.peer, {
          peer: signed.descriptor.peer,
          digest: signed.digest,
          at,
        })
      } catch {
        // a reordered older body: the store refuses it, as a node would
      }
    })
  }
  const sendNotice = (p: Provider) => {
    const signed = p.signed
    if (signed === undefined) return sendBody(p)
    const at = Math.floor(now())
    const current = state(p)
    p.lastNoticeAt = sim.now
    run.notices++
    const digestHex = Buffer.from(signed.digest).toString('hex')
    broadcast(p, noticeBytes(p, signed, at), (r) =>
      r.store.touch(signed.descriptor.peer, signed.descriptor.seq, digestHex, { at, state: current }),
    )
  }
  const heartbeat = (p: Provider) => {
    if (!p.online) return
    if (mode === 'kith') sendNotice(p)
    else sendBody(p)
  }

  // drift: each provider's changes arrive as a Poisson process
  const driftRng = rng.fork('drift')
  const weights = [s.drift.load, s.drift.withdraw, s.drift.offline]
  const meanGap = s.drift.perMinute > 0 ? 60_000 / s.drift.perMinute : Infinity
  const change = (p: Provider) => {
    if (!p.online) return
    const kind = driftRng.weighted(weights)
    if (kind === 0) {
      const high = p.load > LOAD_HIGH
      p.load = high ? driftRng.uniform(0.05, 0.6) : driftRng.uniform(0.85, 1)
      if (mode === 'flood') sendBody(p)
      else if (sim.now - p.lastNoticeAt >= MIN_NOTICE_GAP_MS) sendNotice(p)
      else sim.after(MIN_NOTICE_GAP_MS, () => p.online && sendNotice(p))
    } else if (kind === 1) {
      const cap = driftRng.pick(p.caps)
      if (p.withdrawn.has(cap.id)) p.withdrawn.delete(cap.id)
      else p.withdrawn.add(cap.id)
      sendBody(p)
    } else {
      p.online = false
      net.setOnline(p.index, false)
      sim.after(driftRng.exp(s.drift.meanDownMs), () => {
        p.online = true
        net.setOnline(p.index, true)
        sendBody(p)
      })
    }
  }
  const startRng = rng.fork('start')
  const end = s.warmupMs + s.durationMs
  for (const p of providers) {
    sim.after(startRng.uniform(0, Math.min(ttlMs / 3, s.warmupMs / 2)), () => {
      sendBody(p)
      sim.every(ttlMs / 3, () => (heartbeat(p), sim.now < end))
    })
    if (Number.isFinite(meanGap)) {
      const next = () => {
        change(p)
        if (sim.now < end) sim.after(driftRng.exp(meanGap), next)
      }
      sim.after(s.warmupMs / 2 + driftRng.exp(meanGap), next)
    }
  }

  // selections
  const queryRng = rng.fork('queries')
  const byPeer = new Map(providers.map((p) => [keys.get(p.index).peer, p]))
  sim.after(s.warmupMs, () => {
    measuring = true
  })
  for (const r of requesters) {
    sim.after(s.warmupMs + queryRng.uniform(0, s.queryIntervalMs), () => {
      sim.every(s.queryIntervalMs, () => {
        if (sim.now >= end) return false
        const cap = caps[queryRng.weighted(popularity)] as Capability
        r.store.expire()
        const best = r.matcher.query({ text: cap.title, tags: cap.tags }, { limit: 1 })[0]
        run.selections++
        if (best === undefined || best.capability.id !== cap.id) {
          run.misses++
          return true
        }
        const p = byPeer.get(best.peer)
        const advertisedHigh = (r.store.get(best.peer)?.descriptor.state.load ?? 0) > LOAD_HIGH
        if (
          p === undefined ||
          !p.online ||
          p.withdrawn.has(cap.id) ||
          (p.load > LOAD_HIGH && !advertisedHigh)
        )
          run.stale++
        return true
      })
    })
  }
  sim.run(end + 1)
  run.bytesPerNodePerSec = received / (s.durationMs / 1000)
  return run
}

/** One notice's bytes: the real encoding of `{peer, seq, digest, at, state}` plus gossipsub's framing. */
function noticeBytes(p: Provider, signed: SignedDescriptor, at: number): number {
  const encoded = encodeAnnounce({
    peer: signed.descriptor.peer,
    seq: signed.descriptor.seq,
    digest: signed.digest,
    at,
    state: { load: p.load, memFree: 1e9, queue: 0 },
  })
  return encoded.byteLength + GOSSIP_OVERHEAD_BYTES
}
