/**
 * How much to check before and after delegating a task (DESIGN.md, "Tiers"): risk low -> Tier 1 (reputation),
 * medium -> Tier 2 (canaries, replays), high -> Tier 3 (evidence packages), overridable per capability in
 * `trust.policy` and per request. A request may ask for any tier, except that a high-risk capability never
 * gets less than Tier 3.
 */
import type { Config } from '../config/index.ts'
import type { Capability } from '../discovery/descriptor.ts'
import { globToRegExp } from './evidence/policy.ts'

export type Tier = 1 | 2 | 3
/** What a request asks for: a tier, or `auto` to follow the policy. */
export type TierRequest = Tier | 'auto'

/** The checks a tier runs, each cumulative with the ones below it. */
export interface TierPlan {
  tier: Tier
  /** a canary before the real task, or a replay of a deterministic one (Tier 2 and above) */
  challenge: boolean
  /** an evidence package with the result (Tier 3) */
  evidence: boolean
}

export class TierPolicy {
  readonly #risk: Config['trust']['policy']['risk']
  readonly #rules: Array<{ match: RegExp; tier: Tier }>

  constructor(policy: Config['trust']['policy']) {
    this.#risk = policy.risk
    this.#rules = Object.entries(policy.capabilities).map(([glob, tier]) => ({
      match: globToRegExp(glob),
      tier,
    }))
  }

  /**
   * The tier a task on `capability` gets.
   *
   * @example
   * new TierPolicy(config.trust.policy).tierFor({ ...cap, risk: 'medium' }, 'auto') // 2
   * new TierPolicy(config.trust.policy).tierFor({ ...cap, risk: 'high' }, 1) // 3: never below 3 for high risk
   */
  tierFor(capability: Pick<Capability, 'id' | 'tags' | 'risk'>, requested: TierRequest = 'auto'): Tier {
    const floor: Tier = capability.risk === 'high' ? 3 : 1
    if (requested !== 'auto') return Math.max(requested, floor) as Tier
    const names = [capability.id, ...capability.tags]
    const rule = this.#rules.find((r) => names.some((n) => r.match.test(n)))
    return Math.max(rule?.tier ?? this.#risk[capability.risk], floor) as Tier
  }

  /** The checks of `tier`. */
  plan(tier: Tier): TierPlan {
    return { tier, challenge: tier >= 2, evidence: tier >= 3 }
  }
}
