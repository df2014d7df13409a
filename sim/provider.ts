/**
 * The provider side of a simulated node: its capabilities, its advertised state, and its signed descriptor,
 * made by kith's own codec and signature (`signDescriptor`) with a new seq at every refresh, as the
 * announcer does. An honest provider answers with the capability's true output; a Sybil claims capabilities
 * it does not have and answers wrongly at its `wrongRate` (it cannot tell a canary from a real task).
 */
import {
  type Capability,
  type NodeState,
  signDescriptor,
  type SignedDescriptor,
} from '../src/discovery/descriptor.ts'
import { answerOf } from './catalogue.ts'
import type { SimIdentity } from './keys.ts'
import type { Random } from './random.ts'

export interface ProviderInit {
  index: number
  identity: SimIdentity
  caps: Capability[]
  sybil: boolean
  tpm: boolean
  /** share of answers that are wrong */
  wrongRate: number
  ttlMs: number
  rng: Random
}

export class SimProvider {
  readonly index: number
  readonly identity: SimIdentity
  readonly caps: Capability[]
  readonly sybil: boolean
  readonly tpm: boolean
  readonly #wrongRate: number
  readonly #ttlMs: number
  readonly #rng: Random
  #seq = 0

  constructor(init: ProviderInit) {
    this.index = init.index
    this.identity = init.identity
    this.caps = init.caps
    this.sybil = init.sybil
    this.tpm = init.tpm
    this.#wrongRate = init.wrongRate
    this.#ttlMs = init.ttlMs
    this.#rng = init.rng
  }

  get peer(): string {
    return this.identity.peer
  }

  /** A new descriptor (seq + 1) issued at `now`, signed with the node's key. */
  announce(now: number): SignedDescriptor {
    this.#seq++
    return signDescriptor(
      {
        v: 1,
        peer: this.peer,
        seq: this.#seq,
        iat: Math.floor(now),
        ttl: this.#ttlMs,
        addrs: [],
        state: this.#state(),
        caps: this.caps,
        attest: { tpm: this.tpm },
      },
      this.identity.sign,
    )
  }

  /** The answer to a task on `capability` with input `x` (the simulated execution). */
  answer(capability: string, x: number): { y: number } {
    const right = answerOf(capability, x)
    return this.#rng.chance(this.#wrongRate) ? { y: right.y + 1 } : right
  }

  /** Sybils advertise an idle machine on mains power, so that they rank first on availability. */
  #state(): NodeState {
    if (this.sybil) return { load: 0, memFree: 8e9, queue: 0 }
    return {
      load: Math.round(this.#rng.uniform(0.05, 0.9) * 100) / 100,
      memFree: 1e9,
      queue: this.#rng.int(3),
      ...(this.#rng.chance(0.3) ? { battery: 40 + this.#rng.int(60) } : {}),
    }
  }
}
