/**
 * Tier 1 of the trust plane (DESIGN.md, "Tiers"): multi-topic reputation (see service.ts for how local
 * records, gossiped opinions and EigenTrust per topic combine into `trust(peer, topic)`).
 */
import { Reputation } from './service.ts'
import type { ReputationComponents } from './types.ts'

export { REPUTATION_DEFAULTS } from './constants.ts'
export type { OpinionRejectReason } from './opinion.ts'
export type { OutcomeKind } from './records.ts'
export { Reputation } from './service.ts'
export { isTopic, PEER_TOPIC, topicOf, TOPICS } from './topic.ts'
export type { ReputationComponents, ReputationConfig, ReputationCounters, TopicExplanation } from './types.ts'

/**
 * Builds the reputation service; `start()` loads the records and joins the opinion exchange.
 *
 * @example
 * const reputation = createReputation({ db, identity, config, logger, libp2p: host, known: (p) => store.get(p) != null })
 */
export function createReputation(components: ReputationComponents): Reputation {
  return new Reputation(components)
}
