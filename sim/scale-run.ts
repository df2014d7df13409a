/**
 * Scenario 3 of issue 9, one run: one network size, one mode, one seed. Every node holds kith's real
 * `DescriptorStore` and `DescriptorIntake` (scale-node.ts); the gossip engine (scale-gossip.ts) moves
 * notices, pulls and bodies over a gossipsub overlay (scale-overlay.ts) with real encoded sizes
 * (scale-wire.ts).
 *
 * The network starts converged: every node holds the current descriptor of every node that sends in the
 * window (put straight into its store, as its intake would have put it; other descriptors are never touched,
 * so they are left out). `active` nodes then announce every ttl/3, and `changes` capability changes (a new
 * capability) come from them at random times, each announced at once; what each announce sends is the
 * announcer's own decision (announce-decision.ts: coalesced to one per `minIntervalMs`; bodyless, a notice
 * carrying the new state, or a new body when the capabilities changed; flooding, the body re-signed when its
 * state or capabilities changed). Every node receives, checks and forwards every one of those messages.
 *
 * Discovery latency is, for each change and each other node, the time from its publication until that
 * node's store holds it (the store's own `put` event). Bytes are measured per message and scaled to the
 * steady state: every node heartbeats every ttl/3 and changes `changesPerHour` times an hour, which is exact
 * in this model, where messages do not slow each other down (links have no bandwidth limit, nodes no queue).
 */
import { ANNOUNCER_DEFAULTS, refreshIntervalMs } from '../src/discovery/announce-decision.ts'
import type { Capability, NodeState } from '../src/discovery/descriptor.ts'
import { catalogue } from './catalogue.ts'
import { Simulator } from './clock.ts'
import type { KeyRing } from './keys.ts'
import { Network } from './network.ts'
import { Random } from './random.ts'
import { GossipEngine, type MessageKind, PARTS, type Part } from './scale-gossip.ts'
import { ScaleNode } from './scale-node.ts'
import { buildOverlay } from './scale-overlay.ts'
import type { ScaleMode, ScaleScenario } from './scale-scenario.ts'
import { quantiles, type Quantiles } from './scale-stats.ts'
import { noticeBytes, WireSizes } from './scale-wire.ts'

/** Virtual time 0 is this wall-clock instant, so timestamps look like real ones. */
const EPOCH = 1_700_000_000_000

/** What one message of a kind cost the whole network, on average. */
export interface MessageCost {
  messages: number
  /** wire bytes by part, and their sum */
  wire: Record<Part, number>
  total: number
  /** kith's own bytes (notice or body, pull request and answer) */
  payload: number
  /** copies received, each a gossipsub signature check */
  copies: number
  /** bodies taken in, each a descriptor signature check */
  bodies: number
  pulls: number
  iwants: number
}

export interface ScaleRun {
  size: number
  mode: ScaleMode
  seed: number
  overlay: { peers: number; mesh: number; ihaveTargets: number; unreachable: number }
  /** mean encoded sizes: the signed descriptor, the notice */
  bodyBytes: number
  noticeBytes: number
  /** body changes: ms from publication until another node's store held it, over (change, node) pairs */
  latency: Quantiles & { missed: number }
  /** heartbeats: ms until another node took the new state (bodyless: the notice; flooding: the body) */
  stateLatency: Quantiles
  heartbeat: MessageCost
  change: MessageCost
  /** steady-state wire bytes each node sends per second: total, by part, and kith's payload */
  bytesPerNodePerSec: { total: number; payload: number; byPart: Record<Part | 'ihaveFrames', number> }
  /** steady-state Ed25519 checks per node per second: gossipsub message signatures, descriptor bodies */
  checksPerNodePerSec: { messages: number; bodies: number }
  /** (node, sending node) pairs whose newest descriptor the node did not hold at the end */
  missingAtEnd: number
  /** bodies the intakes dropped because their sender was over its verification budget */
  limited: number
  verdicts: Record<string, number>
  events: number
  virtualMs: number
}

/**
 * @example
 * const run = runScale(scenario, 200, 'kith', 1, new KeyRing())
 * run.latency.p50 // ms
 */
export function runScale(
  s: ScaleScenario,
  size: number,
  mode: ScaleMode,
  seed: number,
  keys: KeyRing,
): ScaleRun {
  const sim = new Simulator()
  const now = () => EPOCH + sim.now
  const rng = new Random(seed)
  const overlay = buildOverlay(size, s.overlay, rng.fork('overlay'))
  const net = new Network(sim, rng.fork('links'), s.links, size)
  const caps = catalogue(s.capabilities.count)
  const capRng = rng.fork('caps')
  const nodes = Array.from(
    { length: size },
    (_, index) =>
      new ScaleNode({
        index,
        identity: keys.get(index),
        verify: keys.verifier,
        now,
        ttlMs: s.ttlMs,
        caps: capRng.shuffle(caps).slice(0, Math.min(s.capabilities.perNode, caps.length)),
        maxConcurrentPulls: s.maxConcurrentPulls,
        rules: {
          mode: mode === 'kith' ? 'bodyless' : 'flood',
          resignAfterMs: ANNOUNCER_DEFAULTS.resignAfterMs,
        },
        minIntervalMs: ANNOUNCER_DEFAULTS.minIntervalMs,
        maxSkewMs: ANNOUNCER_DEFAULTS.maxSkewMs,
      }),
  )
  const period = refreshIntervalMs(s.ttlMs)
  const hbRate = 1_000 / period
  const changeRate = s.traffic.changesPerHour / 3_600
  // ids in a node's gossip windows in the steady state: every message of the network passes through it
  const idsInWindow =
    size * (hbRate + changeRate) * ((s.overlay.gossipWindows * s.overlay.heartbeatMs) / 1_000)
  const wire = new WireSizes(keys.get(0).peerId.toMultihash().bytes)
  const stateDelays: number[] = []
  const engine = new GossipEngine({
    sim,
    net,
    rng: rng.fork('gossip'),
    overlay,
    nodes,
    wire,
    model: {
      mode,
      ...s.overlay,
      ...s.processing,
      jitterMs: s.links.jitterMs,
      idShare: Math.min(1, s.overlay.maxIHaveLength / Math.max(1, idsInWindow)),
      epoch: EPOCH,
    },
    onAccept: (msg, node, at) => {
      if (msg.kind === 'heartbeat' && node !== msg.origin) stateDelays.push(at - msg.at)
    },
  })

  // the plan is drawn before anything mode-specific, so both modes of a seed get the same one
  const plan = rng.fork('plan')
  const active = plan.shuffle(nodes.map((n) => n.index)).slice(0, Math.min(s.traffic.active, size))
  const beats = active.flatMap((a) => {
    const times: number[] = []
    for (let t = plan.uniform(0, period); t < s.traffic.windowMs; t += period) times.push(t)
    return times.map((t) => ({ t, a }))
  })
  const changes = Array.from({ length: s.traffic.changes }, () => ({
    t: plan.uniform(0, s.traffic.windowMs),
    a: active[plan.int(active.length)]!,
  }))
  const stateRng = rng.fork('state')
  const state = (): NodeState => ({
    load: Math.round(stateRng.uniform(0.05, 0.9) * 100) / 100,
    memFree: 1e9,
    queue: stateRng.int(3),
  })

  // converged at t = 0: every node holds the descriptor of every node that will send
  for (const a of active) {
    const own = nodes[a]!.own
    for (const n of nodes) if (n.index !== a) n.store.put(own)
  }

  // discovery latency: a change counts at a node once its store holds that seq or a newer one
  const pending = new Map<string, Array<{ seq: number; at: number; storedAt: Float64Array }>>()
  for (const n of nodes)
    n.store.onChange((event) => {
      if (event.type !== 'put') return
      for (const c of pending.get(event.entry.descriptor.peer) ?? [])
        if (c.seq <= event.entry.descriptor.seq && c.storedAt[n.index] === Number.POSITIVE_INFINITY)
          c.storedAt[n.index] = sim.now
    })

  const bodySizes: number[] = []
  const noticeSizes: number[] = []
  /** when each node's capabilities changed and no body carried the change yet (virtual ms) */
  const unpublished = new Map<number, number>()
  // an announce of node `a`, asked for by its refresh timer or by a change of its capabilities: coalesced
  // and decided (a new body or a heartbeat) by the announcer's own rules
  const announce = (a: number) => {
    const node = nodes[a]!
    const wait = node.announceWait(sim.now)
    if (wait > 0) {
      if (!node.pending) {
        node.pending = true
        sim.after(wait, () => {
          node.pending = false
          announce(a)
        })
      }
      return
    }
    node.lastAt = sim.now
    const st = state()
    const { body, decision } = node.announce(st)
    // a body signed for a changed offer is a change; a heartbeat, or flooding's body re-signed for its state,
    // is a heartbeat
    const kind: MessageKind = decision.body === 'sign' && decision.reason === 'offer' ? 'change' : 'heartbeat'
    const { peer, seq } = body.descriptor
    const at = Math.floor(now())
    const notice = {
      peer,
      seq,
      digest: body.digest,
      digestHex: Buffer.from(body.digest).toString('hex'),
      at,
      state: st,
    }
    const msg = engine.message(kind, a, body, notice, noticeBytes(peer, seq, body.digest, at, st).byteLength)
    if (kind === 'change') {
      const list = pending.get(peer) ?? []
      // latency counts from the change itself, which may have waited for `minIntervalMs`
      list.push({
        seq,
        at: unpublished.get(a) ?? sim.now,
        storedAt: new Float64Array(size).fill(Number.POSITIVE_INFINITY),
      })
      unpublished.delete(a)
      pending.set(peer, list)
    }
    bodySizes.push(body.bytes.byteLength)
    noticeSizes.push(msg.dataBytes)
    engine.publish(msg)
  }
  // the store's expiry timer, on the virtual clock: it also drops the entries heartbeats superseded
  sim.every(1_000, () => {
    for (const n of nodes) n.store.expire()
    return sim.pending > 0
  })
  for (const { t, a } of beats) sim.at(t, () => announce(a))
  for (const { t, a } of changes)
    sim.at(t, () => {
      nodes[a]!.caps = changed(nodes[a]!.caps, caps)
      if (!unpublished.has(a)) unpublished.set(a, sim.now)
      announce(a)
    })
  sim.run()

  const latencies: number[] = []
  let missed = 0
  for (const [peer, list] of pending)
    for (const c of list)
      c.storedAt.forEach((at, i) => {
        if (nodes[i]!.peer === peer) return
        if (at === Number.POSITIVE_INFINITY) missed++
        else latencies.push(at - c.at)
      })
  let missingAtEnd = 0
  for (const a of active) {
    const { peer, seq } = nodes[a]!.own.descriptor
    for (const n of nodes) if (n.index !== a && !n.holds(peer, seq)) missingAtEnd++
  }

  const heartbeat = costOf(engine, 'heartbeat', mode)
  const change = costOf(engine, 'change', mode)
  const mean = (f: (i: number) => number) => nodes.reduce((sum, n) => sum + f(n.index), 0) / size
  const ihaveTargets = mean((i) => engine.lazyTargets(i))
  // an IHAVE goes at every heartbeat that has ids in its windows; its framing is paid per target
  const nonEmpty = s.overlay.lazy ? 1 - Math.exp(-idsInWindow) : 0
  const ihaveFrames = ihaveTargets * wire.ihaveFrame * nonEmpty * (1_000 / s.overlay.heartbeatMs)
  const byPart = Object.fromEntries([
    ...PARTS.map((p) => [p, heartbeat.wire[p] * hbRate + change.wire[p] * changeRate]),
    ['ihaveFrames', ihaveFrames],
  ]) as Record<Part | 'ihaveFrames', number>
  return {
    size,
    mode,
    seed,
    overlay: {
      peers: mean((i) => overlay.peers[i]!.length),
      mesh: mean((i) => overlay.mesh[i]!.length),
      ihaveTargets,
      unreachable: overlay.unreachable,
    },
    bodyBytes: avg(bodySizes),
    noticeBytes: mode === 'kith' ? avg(noticeSizes) : 0,
    latency: { ...quantiles(latencies), missed },
    stateLatency: quantiles(stateDelays),
    heartbeat,
    change,
    bytesPerNodePerSec: {
      total: Object.values(byPart).reduce((a, b) => a + b, 0),
      payload: heartbeat.payload * hbRate + change.payload * changeRate,
      byPart,
    },
    checksPerNodePerSec: {
      messages: heartbeat.copies * hbRate + change.copies * changeRate,
      bodies: heartbeat.bodies * hbRate + change.bodies * changeRate,
    },
    missingAtEnd,
    limited: nodes.reduce((sum, n) => sum + n.intake.counters.limited, 0),
    verdicts: mergeVerdicts(engine),
    events: sim.processed,
    virtualMs: sim.now,
  }
}

/**
 * A body change: a capability the node did not offer replaces its oldest one, so that every change brings a
 * new capability and the body keeps its size however often a node changes (when it offers them all, one goes).
 */
function changed(mine: Capability[], all: Capability[]): Capability[] {
  const next = all.find((c) => !mine.some((m) => m.id === c.id))
  return next !== undefined ? [...mine.slice(1), next] : mine.slice(1)
}

/** The engine's tally for one kind, per message (network totals divided by the messages sent). */
function costOf(engine: GossipEngine, kind: MessageKind, mode: ScaleMode): MessageCost {
  const t = engine.tally[kind]
  const per = (x: number) => (t.messages === 0 ? 0 : x / t.messages)
  const wire = Object.fromEntries(PARTS.map((p) => [p, per(t.bytes[p].wire)])) as Record<Part, number>
  const accepted = mode === 'flood' ? (t.verdicts.accepted ?? 0) : (t.verdicts['take:accepted'] ?? 0)
  return {
    messages: t.messages,
    wire,
    total: Object.values(wire).reduce((a, b) => a + b, 0),
    payload: per(PARTS.reduce((sum, p) => sum + t.bytes[p].payload, 0)),
    copies: per(t.copies),
    bodies: per(accepted),
    pulls: per(t.pulls),
    iwants: per(t.iwants),
  }
}

function mergeVerdicts(engine: GossipEngine): Record<string, number> {
  const out: Record<string, number> = {}
  for (const kind of ['heartbeat', 'change'] as const)
    for (const [k, v] of Object.entries(engine.tally[kind].verdicts)) out[`${kind}:${k}`] = v
  return out
}

function avg(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
}
