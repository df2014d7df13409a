/**
 * Scenario 2 of issue 9, one run: one advertising mode, one TTL, one drift scale, one seed. Every node's
 * truth drifts (sim/drift-node.ts); household requesters (sim/drift-requester.ts) hear what the
 * nodes advertise over the simulated links and select a provider for a query every so often.
 *
 * A selection is **stale** when the provider it picked, at that moment and in truth, is offline, no longer
 * offers the capability, or is past one of kith's band enter thresholds that the advertised state it was
 * ranked on is not past (load above 0.8, or on battery below 20 %): the task would fail, wait, or drain a
 * battery that the requester meant to spare. A query with no live match is a miss, counted apart.
 *
 * Control bytes per node per second: every message of the measured window (after the warm-up) counted once
 * per receiver (sim/drift-wire.ts), notices, bodies and both halves of each pull, divided by the
 * requesters and the seconds. Each requester hears every other node, so this is what each node of a network
 * where every node holds a store would carry: an ideal broadcast, without gossipsub's mesh duplicates.
 */
import type { Capability } from '../src/discovery/descriptor.ts'
import { PULL_TIMEOUT_MS } from '../src/discovery/exchange.ts'
import type { Announce } from '../src/discovery/wire.ts'
import { catalogue, zipfWeights } from './catalogue.ts'
import { Simulator } from './clock.ts'
import { DriftNode, type Published } from './drift-node.ts'
import { DriftRequester, STALE_CAUSES, type StaleCause, staleCause } from './drift-requester.ts'
import type { Advertising, DriftScenario } from './drift-scenario.ts'
import { type Cost, DriftWire, pullAnswerCost, pullRequestCost } from './drift-wire.ts'
import type { KeyRing } from './keys.ts'
import { Network } from './network.ts'
import { Random } from './random.ts'

/** Virtual time 0 is this wall-clock instant, so timestamps look like real ones. */
const EPOCH = 1_700_000_000_000

/**
 * A rough per-message allowance for gossipsub's framing and signature. Not used by this scenario, which
 * encodes the envelope with gossipsub's codec (drift-wire.ts); kept while sim/scale-run.ts (as committed)
 * imports it.
 */
export const GOSSIP_OVERHEAD_BYTES = 120

export type MessageKind = 'notice' | 'body' | 'pull-request' | 'pull-answer'
const KINDS: readonly MessageKind[] = ['notice', 'body', 'pull-request', 'pull-answer']

export interface DriftRun {
  mode: Advertising
  ttlMs: number
  /** the drift rates' multiplier */
  scale: number
  seed: number
  selections: number
  stale: number
  byCause: Record<StaleCause, number>
  /** queries with no live match */
  misses: number
  /** measured window: payload and wire bytes and message counts, by kind, over every receiver */
  traffic: Record<MessageKind, { messages: number; payload: number; wire: number }>
  payloadPerNodePerSec: number
  wirePerNodePerSec: number
  /** bodies signed, heartbeats and band crossings over all nodes, the whole run */
  signed: number
  heartbeats: number
  bandCrossings: number
  /** changes of the truth over all nodes: the same for every mode and TTL of one seed and scale */
  changes: number
  pulls: number
  pullFailures: number
  noticesOld: number
  refused: number
  events: number
}

/**
 * @example
 * const run = runDrift(scenario, 'kith', 15_000, 1, 1, new KeyRing())
 * run.stale / run.selections // the stale-selection rate
 */
export function runDrift(
  s: DriftScenario,
  mode: Advertising,
  ttlMs: number,
  scale: number,
  seed: number,
  keys: KeyRing,
): DriftRun {
  const sim = new Simulator()
  const now = () => EPOCH + sim.now
  const rng = new Random(seed)
  const net = new Network(sim, rng.fork('links'), s.links, s.nodes)
  const caps = catalogue(s.capabilities.count)
  const popularity = zipfWeights(caps.length, s.capabilities.zipf)
  const end = s.warmupMs + s.durationMs

  // roles and offers depend on the seed only, never on the mode, TTL or scale
  const order = rng.fork('roles').shuffle(Array.from({ length: s.nodes }, (_, i) => i))
  const household = new Set(order.slice(0, s.requesters))
  const capRng = rng.fork('caps')
  const requesters = new Map<number, DriftRequester>()
  for (const i of order.slice(0, s.requesters))
    requesters.set(
      i,
      new DriftRequester({
        index: i,
        identity: keys.get(i),
        verify: keys.verifier,
        now,
        maxConcurrentPulls: s.announcer.maxConcurrentPulls,
      }),
    )
  const receivers = [...requesters.values()]

  const traffic = Object.fromEntries(KINDS.map((k) => [k, { messages: 0, payload: 0, wire: 0 }])) as Record<
    MessageKind,
    { messages: number; payload: number; wire: number }
  >
  const send = (from: number, to: number, kind: MessageKind, cost: Cost, deliver: () => void) => {
    if (!net.isOnline(from)) return
    if (sim.now >= s.warmupMs && sim.now < end) {
      const t = traffic[kind]
      t.messages++
      t.payload += cost.payload
      t.wire += cost.wire
    }
    net.send(from, to, kind, cost.wire, deliver)
  }
  const wires = new Map<number, DriftWire>()
  const wireOf = (i: number) => {
    let w = wires.get(i)
    if (w === undefined) wires.set(i, (w = new DriftWire(keys.get(i))))
    return w
  }

  const pull = (r: DriftRequester, origin: DriftNode, announce: Announce, digestHex: string) => {
    send(r.index, origin.index, 'pull-request', pullRequestCost(announce.peer, announce.digest), () => {
      const bytes = origin.serve(announce.digest)
      send(origin.index, r.index, 'pull-answer', pullAnswerCost(bytes?.byteLength ?? 0), () =>
        r.pulled(digestHex, bytes, announce),
      )
    })
    sim.after(PULL_TIMEOUT_MS, () => r.pullFailed(digestHex))
  }
  const publish = (node: DriftNode, message: Published) => {
    const wire = wireOf(node.index)
    for (const r of receivers) {
      if (r.index === node.index) continue
      if (message.kind === 'body') {
        const { bytes } = message.signed
        send(node.index, r.index, 'body', wire.gossip(bytes.byteLength, 'flood'), () =>
          r.takeFlood(bytes, node.peer),
        )
      } else {
        const { announce } = message
        send(node.index, r.index, 'notice', wire.gossip(message.bytes.byteLength, 'kith'), () =>
          r.takeNotice(announce, (digestHex) => pull(r, node, announce, digestHex)),
        )
      }
    }
  }

  const batteryRng = rng.fork('battery')
  const bootRng = rng.fork('boot')
  const nodes = Array.from({ length: s.nodes }, (_, i) => {
    const node = new DriftNode({
      index: i,
      identity: keys.get(i),
      caps: capRng.shuffle(caps).slice(0, s.capabilities.perNode),
      onBattery: batteryRng.chance(s.drift.batteryShare),
      household: household.has(i),
      mode,
      ttlMs,
      scenario: s,
      sim,
      now,
      rng: rng.fork(`node:${i}`),
      publish,
      setOnline: (online) => net.setOnline(i, online),
    })
    net.setOnline(i, false)
    // boot times spread over the first half of the warm-up, whatever the TTL, so every run sees one world
    const bootAt = bootRng.uniform(0, s.warmupMs / 2)
    sim.at(bootAt, () => node.boot())
    node.startDrift(scale, bootAt)
    return node
  })
  const byPeer = new Map(nodes.map((n) => [n.peer, n]))

  const run: DriftRun = {
    mode,
    ttlMs,
    scale,
    seed,
    selections: 0,
    stale: 0,
    byCause: Object.fromEntries(STALE_CAUSES.map((c) => [c, 0])) as Record<StaleCause, number>,
    misses: 0,
    traffic,
    payloadPerNodePerSec: 0,
    wirePerNodePerSec: 0,
    signed: 0,
    heartbeats: 0,
    bandCrossings: 0,
    changes: 0,
    pulls: 0,
    pullFailures: 0,
    noticesOld: 0,
    refused: 0,
    events: 0,
  }
  for (const r of receivers) {
    const qrng = rng.fork(`select:${r.index}`)
    const select = () => {
      if (sim.now >= end) return
      const cap = caps[qrng.weighted(popularity)] as Capability
      const best = r.select(cap)
      run.selections++
      const node = best !== undefined ? byPeer.get(best.peer) : undefined
      if (best === undefined || node === undefined) run.misses++
      else {
        const cause = staleCause(node, cap.id, r.advertised(best.peer))
        if (cause !== undefined) {
          run.stale++
          run.byCause[cause]++
        }
      }
      sim.after(qrng.exp(s.selection.intervalMs), select)
    }
    sim.at(s.warmupMs + qrng.exp(s.selection.intervalMs), select)
  }

  sim.run(end)
  const seconds = s.durationMs / 1000
  const total = KINDS.reduce(
    (a, k) => ({ payload: a.payload + traffic[k].payload, wire: a.wire + traffic[k].wire }),
    {
      payload: 0,
      wire: 0,
    },
  )
  run.payloadPerNodePerSec = total.payload / receivers.length / seconds
  run.wirePerNodePerSec = total.wire / receivers.length / seconds
  for (const n of nodes) {
    run.signed += n.counters.signed
    run.heartbeats += n.counters.heartbeats
    run.bandCrossings += n.counters.bandCrossings
    run.changes += n.counters.changes
  }
  for (const r of receivers) {
    run.pulls += r.counters.pulls
    run.pullFailures += r.counters.pullFailures
    run.noticesOld += r.counters.noticesOld
    run.refused += r.counters.refused
  }
  run.events = sim.processed
  return run
}
