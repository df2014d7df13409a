/**
 * The gossip engine of the scale scenario: gossipsub's dissemination of one topic over a static overlay,
 * message by message, with each node's decisions taken by its {@link ScaleNode} (the announcer's logic on
 * kith's real store and intake).
 *
 * What it keeps of gossipsub (17.x, the library defaults kith's host runs): a node publishes its own message
 * to every connected topic peer (`floodPublish`); a node forwards a message it accepted to its mesh peers
 * except the one it came from (not skipping the origin, as gossipsub does not); duplicates are dropped by
 * the seen cache, which takes a message when it arrives, before validation, so a notice whose body is being
 * pulled is not pulled again from another neighbour; validation is synchronous with the pull inside it
 * (`asyncValidation` off), so a node forwards a notice only once it holds and has checked the body; an
 * accepted message is advertised in IHAVE to `max(Dlazy, gossipFactor x non-mesh peers)` random non-mesh
 * peers at each of the node's next `gossipWindows` heartbeats, and a peer that has not seen it asks with
 * IWANT and gets it; a node that receives a message of at least `idontwantMinBytes` (a flooded body) sends
 * IDONTWANT to its other mesh peers, which then skip it. IHAVE ids are truncated to `maxIHaveLength` per
 * heartbeat as a share `idShare` of the ids (the run knows the steady-state rate).
 *
 * Costs are tallied per message kind (heartbeat or change) and part; a copy sent to a node that already saw
 * the message costs its bytes and its receiver's signature check but schedules no event.
 */
import type { SignedDescriptor } from '../src/discovery/descriptor.ts'
import type { Simulator } from './clock.ts'
import type { Network } from './network.ts'
import type { Random } from './random.ts'
import type { Notice, ScaleNode } from './scale-node.ts'
import type { Overlay } from './scale-overlay.ts'
import type { ScaleMode } from './scale-scenario.ts'
import type { Cost, WireSizes } from './scale-wire.ts'

export type MessageKind = 'heartbeat' | 'change'
export const PARTS = ['gossip', 'pull', 'ihave', 'iwant', 'idontwant'] as const
export type Part = (typeof PARTS)[number]

/** One gossipsub message: a notice (kith) or a whole signed body (flood), and where it has got to. */
export interface GossipMessage {
  kind: MessageKind
  origin: number
  /** virtual time it was published */
  at: number
  /** the body it announces (kith) or carries (flood) */
  body: SignedDescriptor
  /** kith: the notice; flood: undefined */
  notice: Notice | undefined
  /** gossipsub data bytes and the wire bytes of one copy */
  dataBytes: number
  copyBytes: number
  /** when each node first received it (Infinity: not yet) and accepted it */
  seenAt: Float64Array
  acceptedAt: Float64Array
  seen: number
  /** flood: IDONTWANT arrival times, by `to * size + from` */
  idontwant: Map<number, number> | undefined
}

export interface Tally {
  messages: number
  /** by part: bytes on the wire and kith payload bytes */
  bytes: Record<Part, Cost>
  /** copies received: each costs its receiver gossipsub's signature check */
  copies: number
  pulls: number
  iwants: number
  verdicts: Record<string, number>
}

export interface GossipModel {
  mode: ScaleMode
  Dlazy: number
  gossipFactor: number
  heartbeatMs: number
  gossipWindows: number
  lazy: boolean
  idontwantMinBytes: number
  messageMs: number
  bodyMs: number
  jitterMs: number
  /** share of ids that fit in an IHAVE (maxIHaveLength over the ids in the gossip windows) */
  idShare: number
  epoch: number
}

export interface GossipInit {
  sim: Simulator
  net: Network
  rng: Random
  overlay: Overlay
  nodes: ScaleNode[]
  wire: WireSizes
  model: GossipModel
  /** hears every acceptance (the origin's own included), so that no message has to be kept for its times */
  onAccept?: (msg: GossipMessage, node: number, at: number) => void
}

/**
 * @example
 * const engine = new GossipEngine({ sim, net, rng: rng.fork('gossip'), overlay, nodes, wire, model })
 * engine.publish(engine.message('change', origin, origin.sign(state)))
 */
export class GossipEngine {
  readonly tally: Record<MessageKind, Tally> = { heartbeat: newTally(), change: newTally() }
  readonly #c: GossipInit
  readonly #size: number
  /** each node's gossipsub heartbeat phase (ms) */
  readonly #phase: Float64Array
  readonly #scratch: number[] = []

  constructor(init: GossipInit) {
    this.#c = init
    this.#size = init.overlay.size
    this.#phase = Float64Array.from({ length: this.#size }, () => init.rng.uniform(0, init.model.heartbeatMs))
  }

  /** IHAVE targets of `node` at each heartbeat, as gossipsub picks their number. */
  lazyTargets(node: number): number {
    const candidates = this.#c.overlay.lazy[node]!.length
    const { Dlazy, gossipFactor } = this.#c.model
    return Math.min(candidates, Math.floor(Math.max(Dlazy, gossipFactor * candidates)))
  }

  /**
   * A message for `body` from `origin`, published now: the body itself when flooding, else `notice`, whose
   * encoding is `noticeBytes` long.
   */
  message(
    kind: MessageKind,
    origin: number,
    body: SignedDescriptor,
    notice?: Notice,
    noticeBytes = 0,
  ): GossipMessage {
    const { mode } = this.#c.model
    const dataBytes = mode === 'flood' ? body.bytes.byteLength : noticeBytes
    return {
      kind,
      origin,
      at: this.#c.sim.now,
      body,
      notice: mode === 'flood' ? undefined : notice,
      dataBytes,
      copyBytes: this.#c.wire.gossip(dataBytes, mode),
      seenAt: new Float64Array(this.#size).fill(Number.POSITIVE_INFINITY),
      acceptedAt: new Float64Array(this.#size).fill(Number.POSITIVE_INFINITY),
      seen: 0,
      idontwant: mode === 'flood' && dataBytes >= this.#c.model.idontwantMinBytes ? new Map() : undefined,
    }
  }

  /** The origin publishes: to every connected topic peer (floodPublish), then lazy gossip. */
  publish(msg: GossipMessage): void {
    const now = this.#c.sim.now
    const o = msg.origin
    msg.seenAt[o] = now
    msg.acceptedAt[o] = now
    msg.seen++
    this.tally[msg.kind].messages++
    for (const p of this.#c.overlay.peers[o]!) this.#send(o, p, msg)
    this.#gossipLater(o, msg, now)
  }

  #send(from: number, to: number, msg: GossipMessage): void {
    const t = this.tally[msg.kind]
    add(t.bytes.gossip, msg.copyBytes, msg.dataBytes)
    t.copies++
    if (msg.seenAt[to]! <= this.#c.sim.now) return
    this.#c.net.send(from, to, msg.kind, msg.copyBytes, () => this.#receive(to, from, msg))
  }

  #receive(node: number, from: number, msg: GossipMessage): void {
    const now = this.#c.sim.now
    if (msg.seenAt[node]! <= now) return
    msg.seenAt[node] = now
    msg.seen++
    const { model, overlay } = this.#c
    if (msg.idontwant !== undefined) {
      const t = this.tally[msg.kind]
      for (const w of overlay.mesh[node]!) {
        if (w === from) continue
        add(t.bytes.idontwant, this.#c.wire.idontwant, 0)
        const arrives = now + this.#c.net.latency(node, w) + this.#c.rng.exp(model.jitterMs)
        msg.idontwant.set(w * this.#size + node, arrives)
      }
    }
    if (model.mode === 'flood')
      this.#c.sim.after(model.messageMs + model.bodyMs, () => this.#validateFlood(node, from, msg))
    else this.#c.sim.after(model.messageMs, () => this.#validateNotice(node, from, msg))
  }

  #validateFlood(node: number, from: number, msg: GossipMessage): void {
    const n = this.#c.nodes[node]!
    const origin = this.#c.nodes[msg.origin]!.peer
    const at = Math.floor(this.#c.model.epoch + this.#c.sim.now)
    const verdict = n.take(msg.body.bytes, this.#c.nodes[from]!.peer, { peer: origin, at })
    this.#count(msg, verdict)
    if (verdict === 'accepted') this.#accept(node, from, msg)
  }

  #validateNotice(node: number, from: number, msg: GossipMessage): void {
    const n = this.#c.nodes[node]!
    const notice = msg.notice!
    const verdict = n.notice(notice)
    this.#count(msg, verdict)
    if (verdict === 'refreshed') this.#accept(node, from, msg)
    else if (verdict === 'joined') n.pulls.get(notice.digestHex)!.push(() => this.#accept(node, from, msg))
    else if (verdict === 'pull') {
      n.pulls.set(notice.digestHex, [() => this.#accept(node, from, msg)])
      this.#pull(node, [from, msg.origin], msg)
    }
  }

  /** Pulls the body from the first source that holds it (the forwarder, then the origin), as the announcer. */
  #pull(node: number, sources: number[], msg: GossipMessage): void {
    const { net, nodes, wire, sim } = this.#c
    const notice = msg.notice!
    const [source, ...rest] = sources.filter((s, i) => sources.indexOf(s) === i)
    const n = nodes[node]!
    const done = (ok: boolean) => {
      const waiting = n.pulls.get(notice.digestHex) ?? []
      n.pulls.delete(notice.digestHex)
      if (ok) for (const accept of waiting) accept()
    }
    if (source === undefined) return done(false)
    const t = this.tally[msg.kind]
    t.pulls++
    const request = wire.pullRequest(notice.peer, notice.digest)
    add(t.bytes.pull, request.wire, request.payload)
    net.send(node, source, 'pull', request.wire, () => {
      const bytes = nodes[source]!.bytesFor(notice.peer, notice.digestHex)
      const answer = wire.pullAnswer(bytes?.byteLength ?? 0)
      add(t.bytes.pull, answer.wire, answer.payload)
      net.send(source, node, 'pull', answer.wire, () => {
        if (bytes === undefined) return this.#pull(node, rest, msg)
        sim.after(this.#c.model.bodyMs, () => {
          const verdict = n.take(bytes, nodes[source]!.peer, notice)
          this.#count(msg, `take:${verdict}`)
          done(verdict === 'accepted')
        })
      })
    })
  }

  /** Validation said Accept: the node forwards to its mesh and advertises the message at its next heartbeats. */
  #accept(node: number, from: number, msg: GossipMessage): void {
    const now = this.#c.sim.now
    if (msg.acceptedAt[node]! <= now) return
    msg.acceptedAt[node] = now
    this.#c.onAccept?.(msg, node, now)
    for (const w of this.#c.overlay.mesh[node]!) {
      if (w === from) continue
      // a peer that said IDONTWANT before we forward is skipped
      if ((msg.idontwant?.get(node * this.#size + w) ?? Number.POSITIVE_INFINITY) <= now) continue
      this.#send(node, w, msg)
    }
    this.#gossipLater(node, msg, now)
  }

  /** Schedules the node's IHAVE rounds for `msg`, from its first heartbeat after `at`. */
  #gossipLater(node: number, msg: GossipMessage, at: number): void {
    const { model } = this.#c
    if (!model.lazy || model.gossipWindows === 0 || this.lazyTargets(node) === 0) return
    if (msg.seen === this.#size) return this.#gossipIdsOnly(node, msg, model.gossipWindows)
    const phase = this.#phase[node]!
    let tick = phase + Math.ceil((at - phase) / model.heartbeatMs) * model.heartbeatMs
    if (tick <= at) tick += model.heartbeatMs
    this.#c.sim.at(tick, () => this.#gossipRound(node, msg, 0))
  }

  /** Every node has seen `msg`: the rounds left cost their ids and nothing else. */
  #gossipIdsOnly(node: number, msg: GossipMessage, rounds: number): void {
    const ids = rounds * this.lazyTargets(node) * this.#c.model.idShare
    add(this.tally[msg.kind].bytes.ihave, ids * this.#c.wire.ihaveId, 0)
  }

  #gossipRound(node: number, msg: GossipMessage, round: number): void {
    const { model, rng, overlay, net, wire, sim } = this.#c
    if (msg.seen === this.#size) return this.#gossipIdsOnly(node, msg, model.gossipWindows - round)
    const t = this.tally[msg.kind]
    const candidates = overlay.lazy[node]!
    const targets = this.lazyTargets(node)
    // a partial Fisher-Yates over a scratch copy: gossipsub shuffles its candidates each heartbeat
    const pool = this.#scratch
    pool.length = 0
    for (const c of candidates) pool.push(c)
    for (let i = 0; i < targets; i++) {
      const j = i + rng.int(pool.length - i)
      const w = pool[j]!
      pool[j] = pool[i]!
      pool[i] = w
      if (model.idShare < 1 && !rng.chance(model.idShare)) continue
      add(t.bytes.ihave, wire.ihaveId, 0)
      if (msg.seenAt[w]! <= sim.now) continue
      net.send(node, w, 'ihave', wire.ihaveId, () => this.#ihave(w, node, msg))
    }
    if (round + 1 < model.gossipWindows)
      sim.after(model.heartbeatMs, () => this.#gossipRound(node, msg, round + 1))
  }

  /** An IHAVE for an unseen message: IWANT, and the advertiser answers with the message. */
  #ihave(node: number, from: number, msg: GossipMessage): void {
    if (msg.seenAt[node]! <= this.#c.sim.now) return
    const t = this.tally[msg.kind]
    t.iwants++
    add(t.bytes.iwant, this.#c.wire.iwant, 0)
    this.#c.net.send(node, from, 'iwant', this.#c.wire.iwant, () => {
      add(t.bytes.iwant, msg.copyBytes, msg.dataBytes)
      t.copies++
      if (msg.seenAt[node]! <= this.#c.sim.now) return
      this.#c.net.send(from, node, msg.kind, msg.copyBytes, () => this.#receive(node, from, msg))
    })
  }

  #count(msg: GossipMessage, verdict: string): void {
    const v = this.tally[msg.kind].verdicts
    v[verdict] = (v[verdict] ?? 0) + 1
  }
}

function newTally(): Tally {
  const bytes = Object.fromEntries(PARTS.map((p) => [p, { wire: 0, payload: 0 }])) as Record<Part, Cost>
  return { messages: 0, bytes, copies: 0, pulls: 0, iwants: 0, verdicts: {} }
}

function add(cost: Cost, wire: number, payload: number): void {
  cost.wire += wire
  cost.payload += payload
}
