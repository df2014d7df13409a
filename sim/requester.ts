/**
 * The requester side of a simulated node, built from kith's own planes: the soft-state store fed through
 * the real intake (size, freshness and Ed25519 checks), the capability index, multi-topic reputation over an
 * in-memory SQLite file, and the requester's tiered checks (TierPolicy and CanaryBook, through
 * createVerification). Only the boundaries are simulated: the clock is the simulator's, descriptors and
 * opinions arrive as simulated messages, and the task client sends over the simulated network.
 */
import type { Config } from '../src/config/index.ts'
import { configSchema } from '../src/config/schema.ts'
import type { SignatureVerifier, SignedDescriptor } from '../src/discovery/descriptor.ts'
import { DescriptorIntake } from '../src/discovery/intake.ts'
import { CapabilityIndex } from '../src/discovery/matcher/index.ts'
import { DescriptorStore } from '../src/discovery/store.ts'
import type { TaskOutcome, Verification } from '../src/execution/delegate.ts'
import { openDatabase } from '../src/store/database.ts'
import { createReputation, isTopic, type Reputation } from '../src/trust/reputation/index.ts'
import { createVerification } from '../src/trust/verification.ts'
import { silentLogger } from '../src/util/logger.ts'
import type { SimIdentity } from './keys.ts'
import type { Random } from './random.ts'
import type { Strategy } from './scenario.ts'

export interface RequesterInit {
  index: number
  identity: SimIdentity
  strategy: Strategy
  pretrusted: readonly string[]
  verify: SignatureVerifier
  now: () => number
  rng: Random
  /** the known challenges, as `trust.canaries` in a node config */
  canaries: ReadonlyArray<{ capability: string; input: unknown; output: unknown }>
  canaryRate: number
  policy: { low: 1 | 2 | 3; medium: 1 | 2 | 3; high: 1 | 2 | 3 }
  opinionIntervalMs: number
}

/** The tier a strategy asks delegation for; `auto` follows the TierPolicy. */
export const TIER_OF: Record<Strategy, 1 | 2 | 'auto' | undefined> = {
  naive: undefined,
  tier1: 1,
  tier12: 2,
  full: 'auto',
}

export class SimRequester {
  readonly index: number
  readonly identity: SimIdentity
  readonly strategy: Strategy
  readonly store: DescriptorStore
  readonly intake: DescriptorIntake
  readonly matcher: CapabilityIndex
  readonly reputation: Reputation
  /** undefined for the naive strategy: it checks nothing */
  readonly verification: Verification | undefined
  /** descriptors refused by the intake (bad signature, malformed, digest mismatch) */
  refused = 0
  readonly #db: ReturnType<typeof openDatabase>
  readonly #now: () => number
  /** the liars named in the opinions last sent */
  #sentLiars = ''

  constructor(init: RequesterInit) {
    this.index = init.index
    this.identity = init.identity
    this.strategy = init.strategy
    this.#now = init.now
    this.store = new DescriptorStore({ now: init.now })
    this.intake = new DescriptorIntake(
      { store: this.store, verify: init.verify, self: init.identity.peer },
      { now: init.now },
    )
    this.#db = openDatabase(':memory:')
    this.reputation = createReputation({
      db: this.#db,
      identity: { peerId: init.identity.peerId, sign: init.identity.sign },
      config: {
        trust: { pretrusted: init.pretrusted, reputation: { opinionInterval: init.opinionIntervalMs } },
      },
      logger: silentLogger(),
      verify: init.verify,
      known: (peer) => this.store.get(peer) !== undefined,
      now: init.now,
    })
    const trusting = init.strategy !== 'naive'
    this.matcher = new CapabilityIndex(trusting ? { trustOf: this.reputation.trustOf } : {})
    this.store.onChange((event) => {
      if (event.type === 'remove') this.matcher.remove(event.entry.descriptor.peer)
      else this.matcher.put(event.entry.descriptor.peer, event.entry.descriptor, { local: false })
    })
    const trust: Config['trust'] = configSchema.parse({
      trust: {
        pretrusted: init.pretrusted,
        canaries: init.canaries,
        canary: { rate: init.strategy === 'tier12' ? init.canaryRate : 1 },
        policy: { risk: init.policy },
      },
    }).trust
    this.verification = trusting
      ? createVerification({
          trust: () => trust,
          descriptorOf: (peer) => this.store.get(peer)?.descriptor,
          verify: init.verify,
          standing: this.reputation.standing,
          random: () => init.rng.next(),
        })
      : undefined
  }

  get peer(): string {
    return this.identity.peer
  }

  /** A descriptor body arrived from `from`, announced by its origin at `at`. */
  receive(signed: SignedDescriptor, from: string, at: number): void {
    try {
      this.intake.take(signed.bytes, from, { peer: signed.descriptor.peer, digest: signed.digest, at })
    } catch {
      this.refused++
    }
  }

  /** Drops expired descriptors (the store's own timer is not started: virtual time has no timers). */
  expire(): void {
    this.store.expire()
  }

  /** What delegation observed about a provider: only strategies with a trust plane keep records. */
  recordOutcome(outcome: TaskOutcome): void {
    if (this.strategy !== 'naive') this.reputation.recordOutcome(outcome)
  }

  /**
   * True when the peers this node caught lying changed since its last {@link opinions}: the news the real
   * publisher sends early (at most every 10 s) instead of waiting for the interval.
   */
  hasNews(): boolean {
    return this.strategy !== 'naive' && this.#liars() !== this.#sentLiars
  }

  /** This node's signed opinions on every topic it has records on. */
  opinions(): Uint8Array[] {
    if (this.strategy === 'naive') return []
    this.#sentLiars = this.#liars()
    const out: Uint8Array[] = []
    for (const topic of this.reputation.records.topics()) {
      if (!isTopic(topic)) continue
      const bytes = this.reputation.opinion(topic)
      if (bytes !== undefined) out.push(bytes)
    }
    return out
  }

  /** An opinion gossiped by `sender`. */
  receiveOpinion(bytes: Uint8Array, sender: string): void {
    if (this.strategy !== 'naive') this.reputation.receive(bytes, sender)
  }

  #liars(): string {
    const records = this.reputation.records
    const at = this.#now()
    return [...records.topics()].map((t) => `${t}:${records.liars(t, at, 64).join(',')}`).join(';')
  }

  async close(): Promise<void> {
    await this.reputation.stop()
    this.#db.close()
  }
}
