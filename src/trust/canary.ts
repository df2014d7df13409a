/**
 * Tier 2 canaries: per capability, a private set of challenges with known answers. They come from the config
 * (`trust.canaries`) and from answers this node has verified itself for deterministic capabilities (its own
 * runs, replays that agreed, hardware evidence). A canary goes out exactly like a real task, so a provider
 * cannot tell one from the other; one that answers wrongly or late is penalised and skipped.
 */
import { hashValue } from './evidence/index.ts'
import { trimOldest } from '../util/bounded-map.ts'

/** Largest input or output kept as a learned canary (bytes of canonical encoding). */
const MAX_LEARNED_BYTES = 16 * 1024
/** Capabilities with learned canaries; answers of others are not kept once this many have some. */
const MAX_LEARNED_CAPABILITIES = 1024

export interface Challenge {
  input: unknown
  /** the canonical hash of the known answer */
  answer: string
}

export interface CanaryBookInit {
  configured: ReadonlyArray<{ capability: string; input?: unknown; output?: unknown }>
  /** learned answers kept per capability */
  learn: number
  /** share of tasks that get a canary */
  rate: number
  random?: () => number
}

/** The hex canonical hash of a value, the form answers are compared in. */
export function answerHash(value: unknown): string {
  return Buffer.from(hashValue(value ?? null)).toString('hex')
}

/**
 * @example
 * const book = new CanaryBook({ configured: config.trust.canaries, ...config.trust.canary })
 * const challenge = book.pick('math.double') // { input: { n: 4 }, answer: '…' }
 * book.check(challenge, reply.output) // true when the provider answered right
 */
export class CanaryBook {
  readonly counters = { picked: 0, passed: 0, failed: 0, learned: 0 }
  readonly #configured = new Map<string, Challenge[]>()
  /** per capability: learned challenges by input hash, oldest first */
  readonly #learned = new Map<string, Map<string, Challenge>>()
  #learn = 0
  #rate = 1
  readonly #random: () => number

  constructor(init: CanaryBookInit) {
    this.#random = init.random ?? Math.random
    this.configure(init)
  }

  /** Takes new configured canaries and settings (a config reload); learned answers stay, up to `learn`. */
  configure(init: Omit<CanaryBookInit, 'random'>): void {
    this.#configured.clear()
    for (const c of init.configured) {
      const list = this.#configured.get(c.capability) ?? []
      list.push({ input: c.input ?? null, answer: answerHash(c.output) })
      this.#configured.set(c.capability, list)
    }
    this.#learn = init.learn
    this.#rate = init.rate
    for (const learned of this.#learned.values()) trimOldest(learned, this.#learn)
  }

  /** True when `capability` has a challenge to send. */
  has(capability: string): boolean {
    return (this.#configured.get(capability)?.length ?? 0) + (this.#learned.get(capability)?.size ?? 0) > 0
  }

  /** A challenge for `capability`, or undefined when it has none or this task goes without (`rate`). */
  pick(capability: string): Challenge | undefined {
    const all = [
      ...(this.#configured.get(capability) ?? []),
      ...(this.#learned.get(capability)?.values() ?? []),
    ]
    if (all.length === 0 || this.#random() >= this.#rate) return undefined
    this.counters.picked++
    return all[Math.floor(this.#random() * all.length)]
  }

  /** Whether `output` is the challenge's known answer; counts the outcome. */
  check(challenge: Challenge, output: unknown): boolean {
    const ok = answerHash(output) === challenge.answer
    if (ok) this.counters.passed++
    else this.counters.failed++
    return ok
  }

  /** Keeps a verified answer of a deterministic capability as a future canary; the oldest goes when full. */
  learn(capability: string, input: unknown, output: unknown): void {
    if (this.#learn === 0) return
    const key = answerHash(input)
    let size: number
    try {
      size = JSON.stringify(input ?? null).length + JSON.stringify(output ?? null).length
    } catch {
      return
    }
    if (size > MAX_LEARNED_BYTES) return
    if (!this.#learned.has(capability) && this.#learned.size >= MAX_LEARNED_CAPABILITIES) return
    const learned = this.#learned.get(capability) ?? new Map<string, Challenge>()
    if (learned.has(key)) return
    learned.set(key, { input: input ?? null, answer: answerHash(output) })
    trimOldest(learned, this.#learn)
    this.#learned.set(capability, learned)
    this.counters.learned++
  }
}
