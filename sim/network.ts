/**
 * The simulated transport: a message from one node to another arrives after the link's latency, or never
 * (loss, or the receiver is offline when it would arrive). Each link draws its base latency once, from a
 * stream that depends only on the seed and the two ends, so adding nodes or messages elsewhere does not
 * change it; each message adds exponential jitter. Nothing here touches a socket.
 */
import type { Simulator } from './clock.ts'
import { Random } from './random.ts'

export interface LinkModel {
  /** base one-way latency of a link, drawn uniformly from [min, max] ms */
  latencyMs: { min: number; max: number }
  /** mean of the exponential jitter added to each message (ms) */
  jitterMs: number
  /** probability that a message is lost */
  loss: number
  /**
   * `datagram` (default): a lost message never arrives. `stream`: as on TCP, which kith's task protocol and
   * gossip run over, a lost transmission is sent again after a retransmission timeout (at least 200 ms,
   * doubling each time), so loss costs time, not the message; only an offline receiver loses it.
   */
  transport?: 'datagram' | 'stream'
}

/** Linux's minimum TCP retransmission timeout (ms). */
const MIN_RTO_MS = 200

export interface NetworkCounters {
  sent: number
  delivered: number
  lost: number
  /** transmissions sent again (`stream` transport) */
  retransmitted: number
  /** bytes handed to the network, by message kind */
  bytes: Record<string, number>
}

/**
 * @example
 * const net = new Network(sim, rng.fork('links'), { latencyMs: { min: 5, max: 40 }, jitterMs: 2, loss: 0.01 }, 100)
 * net.send(0, 7, 'descriptor', bytes.byteLength, () => intake.take(bytes, peers[0]))
 */
export class Network {
  readonly counters: NetworkCounters = { sent: 0, delivered: 0, lost: 0, retransmitted: 0, bytes: {} }
  readonly #sim: Simulator
  readonly #rng: Random
  readonly #model: LinkModel
  readonly #online: boolean[]
  readonly #base = new Map<number, number>()
  readonly #size: number

  constructor(sim: Simulator, rng: Random, model: LinkModel, size: number) {
    this.#sim = sim
    this.#rng = rng
    this.#model = model
    this.#size = size
    this.#online = new Array<boolean>(size).fill(true)
  }

  isOnline(node: number): boolean {
    return this.#online[node] === true
  }

  setOnline(node: number, online: boolean): void {
    this.#online[node] = online
  }

  /** The link's base one-way latency (ms), the same in both directions. */
  latency(a: number, b: number): number {
    if (a === b) return 0
    const key = Math.min(a, b) * this.#size + Math.max(a, b)
    let ms = this.#base.get(key)
    if (ms === undefined) {
      const { min, max } = this.#model.latencyMs
      ms = new Random(this.#rng.seed ^ Math.imul(key + 1, 0x9e3779b1)).uniform(min, max)
      this.#base.set(key, ms)
    }
    return ms
  }

  /**
   * Sends a message of `bytes` bytes; `deliver` runs at the receiver when it arrives. Returns the delay, or
   * undefined when the message is lost on the way (the sender cannot tell).
   */
  send(from: number, to: number, kind: string, bytes: number, deliver: () => void): number | undefined {
    if (!this.isOnline(from)) return undefined
    this.counters.sent++
    this.counters.bytes[kind] = (this.counters.bytes[kind] ?? 0) + bytes
    let delay = this.latency(from, to) + (this.#model.jitterMs > 0 ? this.#rng.exp(this.#model.jitterMs) : 0)
    if (from !== to && this.#model.transport === 'stream') {
      // each lost transmission waits out one retransmission timeout: max(200 ms, 3 × RTT), doubling
      let rto = Math.max(MIN_RTO_MS, 6 * this.latency(from, to))
      while (this.#rng.chance(this.#model.loss)) {
        this.counters.retransmitted++
        delay += rto
        rto *= 2
      }
    } else if (from !== to && this.#rng.chance(this.#model.loss)) {
      this.counters.lost++
      return undefined
    }
    this.#sim.after(delay, () => {
      if (!this.isOnline(to)) {
        this.counters.lost++
        return
      }
      this.counters.delivered++
      deliver()
    })
    return delay
  }
}

export interface ChurnModel {
  /** mean time a node stays up (ms); 0 turns churn off */
  meanUpMs: number
  /** mean time a node stays down (ms) */
  meanDownMs: number
}

/**
 * Takes `nodes` offline and back with exponential up and down times; `onChange` hears each flip.
 *
 * @example
 * startChurn(sim, net, rng.fork('churn'), { meanUpMs: 600_000, meanDownMs: 60_000 }, providers)
 */
export function startChurn(
  sim: Simulator,
  net: Network,
  rng: Random,
  model: ChurnModel,
  nodes: readonly number[],
  onChange?: (node: number, online: boolean) => void,
): void {
  if (!(model.meanUpMs > 0)) return
  for (const node of nodes) {
    const flip = () => {
      const online = !net.isOnline(node)
      net.setOnline(node, online)
      onChange?.(node, online)
      sim.after(rng.exp(online ? model.meanUpMs : model.meanDownMs), flip)
    }
    sim.after(rng.exp(model.meanUpMs), flip)
  }
}
