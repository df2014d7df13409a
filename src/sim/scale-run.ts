/**
 * Scenario 3 of issue 9, one run: one network size, one mode, one seed. Every node holds kith's real
 * `DescriptorIntake` and `DescriptorStore`; nodes keep a random gossipsub-like mesh (at least `d`, at most
 * `dHigh` peers, links both ways) and forward each message once to their mesh peers but the one it came from
 * (gossipsub's eager push with its seen-cache; its lazy IHAVE/IWANT gossip is not modelled, nor mesh
 * maintenance). Two kinds of event, each timed or counted from its first send until every node has it:
 *
 * - a **change** (a new signed body): `kith` gossips the notice (the real `encodeAnnounce` bytes); a node
 *   that does not hold the digest pulls the body from the neighbour that forwarded the notice, verifies it
 *   through its intake, and only then forwards the notice (as src/discovery/announcer.ts). `flood` gossips the
 *   body itself; a node verifies it on first receipt and forwards it.
 * - a **heartbeat** (same body, new state): `kith` a notice that each node applies with `store.touch`;
 *   `flood` the body again (held already: no verification).
 *
 * Discovery latency is the time from a change's publication until a node's store holds the new body. Steady
 * control traffic per node per second follows from the measured bytes of each kind of event and their rates:
 * every node heartbeats every ttl/3 and changes `changesPerMinute` times a minute.
 */
import { signDescriptor, type SignedDescriptor } from '../discovery/descriptor.ts'
import { DescriptorIntake } from '../discovery/intake.ts'
import { DescriptorStore } from '../discovery/store.ts'
import { encodeAnnounce } from '../discovery/wire.ts'
import { catalogue } from './catalogue.ts'
import { Simulator } from './clock.ts'
import { GOSSIP_OVERHEAD_BYTES } from './drift-run.ts'
import type { KeyRing } from './keys.ts'
import { Network } from './network.ts'
import { Random } from './random.ts'
import type { ScaleMode, ScaleScenario } from './scale-scenario.ts'

const EPOCH = 1_700_000_000_000
const PULL_REQUEST_BYTES = 90
/** events start this far apart (ms), so that each one's traffic is its own */
const EVENT_GAP_MS = 20_000

export interface ScaleRun {
  size: number
  mode: ScaleMode
  seed: number
  /** every (change, receiver) delay in ms, sorted */
  latencies: number[]
  /** receivers that never got a change */
  missed: number
  /** bytes all nodes received for one change, one heartbeat (means) */
  changeBytes: number
  heartbeatBytes: number
  /** steady-state control bytes received per node per second */
  bytesPerNodePerSec: number
  events: number
}

interface Node {
  index: number
  mesh: number[]
  store: DescriptorStore
  intake: DescriptorIntake
  /** message ids seen (gossipsub's seen-cache) */
  seen: Set<string>
  pulling: Set<string>
}

/**
 * @example
 * const run = runScale(scenario, 200, 'kith', 1, new KeyRing())
 * run.latencies[Math.floor(run.latencies.length / 2)] // p50 in ms
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
  const net = new Network(sim, rng.fork('links'), { ...s.links, transport: 'stream' }, size)
  const nodes: Node[] = Array.from({ length: size }, (_, index) => {
    const store = new DescriptorStore({ now, maxEntries: Math.max(10_000, size) })
    return {
      index,
      mesh: [],
      store,
      intake: new DescriptorIntake({ store, verify: keys.verifier, self: keys.get(index).peer }, { now }),
      seen: new Set(),
      pulling: new Set(),
    }
  })
  buildMesh(nodes, Math.min(s.d, size - 1), Math.min(s.dHigh, size - 1), rng.fork('mesh'))
  const caps = catalogue(8)
  const seqs = new Array<number>(size).fill(0)
  const sign = (p: number): SignedDescriptor => {
    seqs[p] = (seqs[p] as number) + 1
    return signDescriptor(
      {
        v: 1,
        peer: keys.get(p).peer,
        seq: seqs[p] as number,
        iat: Math.floor(now()),
        ttl: s.ttlMs,
        addrs: [],
        state: { load: 0.2, memFree: 1e9, queue: 0 },
        caps: caps.slice(p % 5, (p % 5) + 3),
        attest: { tpm: false },
      },
      keys.get(p).sign,
    )
  }
  let bytes = 0
  const send = (from: number, to: number, size: number, deliver: () => void) => {
    bytes += size
    net.send(from, to, 'gossip', size, deliver)
  }
  const put = (node: Node, signed: SignedDescriptor) => {
    try {
      node.intake.take(signed.bytes, signed.descriptor.peer, {
        peer: signed.descriptor.peer,
        digest: signed.digest,
        at: signed.descriptor.iat,
      })
    } catch {
      // an older body arriving late: the store refuses it, as a node would
    }
  }

  /** gossips `signed` from its origin; `onHeld(node)` when a node's store holds it */
  const disseminate = (
    p: number,
    signed: SignedDescriptor,
    heartbeat: boolean,
    onHeld: (node: Node) => void,
  ) => {
    const origin = nodes[p] as Node
    const id = `${signed.descriptor.peer}:${signed.descriptor.seq}:${heartbeat ? sim.now : 'body'}`
    const digestHex = Buffer.from(signed.digest).toString('hex')
    const at = Math.floor(now())
    const notice =
      encodeAnnounce({
        peer: signed.descriptor.peer,
        seq: signed.descriptor.seq,
        digest: signed.digest,
        at,
        state: signed.descriptor.state,
      }).byteLength + GOSSIP_OVERHEAD_BYTES
    const body = signed.bytes.byteLength + GOSSIP_OVERHEAD_BYTES
    const forward = (node: Node, except: number) => {
      for (const peer of node.mesh)
        if (peer !== except)
          send(node.index, peer, mode === 'kith' ? notice : body, () =>
            arrive(nodes[peer] as Node, node.index),
          )
    }
    const arrive = (node: Node, from: number) => {
      if (node.seen.has(id)) return
      if (mode === 'flood' || heartbeat) {
        node.seen.add(id)
        if (mode === 'flood') put(node, signed)
        else
          node.store.touch(signed.descriptor.peer, signed.descriptor.seq, digestHex, {
            at,
            state: signed.descriptor.state,
          })
        if (!heartbeat) onHeld(node)
        forward(node, from)
        return
      }
      // bodyless: pull from the forwarder, verify, then forward the notice
      if (node.pulling.has(id)) return
      node.pulling.add(id)
      send(node.index, from, PULL_REQUEST_BYTES, () =>
        send(from, node.index, signed.bytes.byteLength, () => {
          node.seen.add(id)
          put(node, signed)
          onHeld(node)
          forward(node, from)
        }),
      )
    }
    origin.seen.add(id)
    put(origin, signed)
    forward(origin, -1)
  }

  const run: ScaleRun = {
    size,
    mode,
    seed,
    latencies: [],
    missed: 0,
    changeBytes: 0,
    heartbeatBytes: 0,
    bytesPerNodePerSec: 0,
    events: 0,
  }
  const eventRng = rng.fork('events')
  let changeBytes = 0
  let heartbeatBytes = 0
  let last: { p: number; signed: SignedDescriptor } | undefined
  for (let e = 0; e < s.changes; e++) {
    sim.after(e * 2 * EVENT_GAP_MS, () => {
      const p = eventRng.int(size)
      const signed = sign(p)
      const startedAt = sim.now
      const before = bytes
      const held = new Set<number>([p])
      last = { p, signed }
      disseminate(p, signed, false, (node) => {
        if (held.has(node.index)) return
        held.add(node.index)
        run.latencies.push(sim.now - startedAt)
      })
      sim.after(EVENT_GAP_MS - 1, () => {
        run.missed += size - held.size
        changeBytes += bytes - before
      })
    })
    // a heartbeat of the publisher just changed: every node holds its body by now
    sim.after(e * 2 * EVENT_GAP_MS + EVENT_GAP_MS, () => {
      const before = bytes
      if (last !== undefined) disseminate(last.p, last.signed, true, () => undefined)
      sim.after(EVENT_GAP_MS - 1, () => {
        heartbeatBytes += bytes - before
      })
    })
  }
  sim.run()
  run.latencies.sort((a, b) => a - b)
  run.changeBytes = changeBytes / s.changes
  run.heartbeatBytes = heartbeatBytes / s.changes
  // each node heartbeats every ttl/3 and changes at its rate; what all nodes receive, shared by each
  const perNodeRate = 3000 / s.ttlMs
  const changeRate = s.changesPerMinute / 60
  run.bytesPerNodePerSec = perNodeRate * run.heartbeatBytes + changeRate * run.changeBytes
  run.events = sim.processed
  return run
}

/** A random mesh: each node links to random peers until it has `d`, skipping peers that have `dHigh`. */
function buildMesh(nodes: Node[], d: number, dHigh: number, rng: Random): void {
  for (const node of nodes) {
    let tries = 0
    while (node.mesh.length < d && tries++ < 50 * d) {
      const peer = nodes[rng.int(nodes.length)] as Node
      if (peer === node || peer.mesh.length >= dHigh || node.mesh.includes(peer.index)) continue
      node.mesh.push(peer.index)
      peer.mesh.push(node.index)
    }
  }
}
