/** Defaults of the reputation plane (Tier 1); each is documented where it is used. */

/** `trust.reputation` defaults: the config schema and {@link createReputation} both take them from here. */
export const REPUTATION_DEFAULTS = Object.freeze({
  /** EigenTrust's pre-trust weight: the share of trust that always flows back to the household's nodes */
  alpha: 0.15,
  /** half-life of an observed outcome (ms): a week-old outcome weighs half as much as a fresh one */
  halfLife: 7 * 24 * 3_600_000,
  /** how often global trust is recomputed (ms); also lazily when new evidence arrived */
  recomputeInterval: 30_000,
  /** trust of a peer nobody has evidence about, in [0, 1]: low, not zero */
  newcomer: 0.05,
  /** peers with local records kept (the least recently seen are forgotten first) */
  maxPeers: 1000,
  /** how often this node gossips its opinions (ms); also soon after a significant change */
  opinionInterval: 300_000,
})

/** What one observed outcome adds: success to the good side, every other kind to the bad side. */
export const OUTCOME_WEIGHTS = Object.freeze({
  success: 1,
  // the provider failed honestly or was slow: cheap to suffer, so it costs little
  error: 0.5,
  timeout: 0.5,
  // lies caught by verification: one outweighs several successes
  wrong_answer: 4,
  canary_failure: 4,
  invalid_evidence: 4,
  // per-peer misbehaviour on the wire, charged against every topic
  invalid_descriptor: 2,
  invalid_opinion: 1,
})

/**
 * Pseudo-count of the local trust normaliser: row i of the local matrix is s_ij / (Σ_j s_ij + κ), and the
 * rest of the row, κ / (Σ_j s_ij + κ), goes to the pre-trusted peers. A node with little experience thus
 * mostly defers to the household instead of giving all its weight to the first peer that served it once.
 */
export const CONFIDENCE = 2

/** Power iteration stops when the L1 change of the trust vector is below this, or after MAX_ITERATIONS. */
export const EPSILON = 1e-6
export const MAX_ITERATIONS = 100

/**
 * A global trust value at or below this counts as none when counting the peers that hold trust: dust from
 * the iteration, or mass a warm start left where no rating supports it any more (below epsilon / alpha).
 */
export const TRUST_DUST = 1e-7

/** Lazy recomputes (on a query after new evidence) happen at most this often (ms); the timer does the rest. */
export const LAZY_RECOMPUTE_MS = 1_000

/** Opinion messages: the gossipsub topic, and the caps a message must respect. */
export const OPINION_GOSSIP_TOPIC = 'kith/trust/1'
export const MAX_OPINION_ENTRIES = 64
export const MAX_OPINION_BYTES = 8 * 1024
/** an opinion older than this (ms) is stale on arrival and expires from the matrix */
export const OPINION_MAX_AGE_MS = 2 * 3_600_000
/** how far in the future an opinion's `at` may be (ms): clock skew between peers */
export const OPINION_MAX_SKEW_MS = 30_000
/** per sender: opinions accepted in a burst, and the ms per token refilled */
export const OPINION_BURST = 32
export const OPINION_REFILL_MS = 1_000
/** stored opinions over all topics, per tracked peer (the cap is this times `maxPeers`) */
export const OPINIONS_PER_PEER = 4
/** L1 change of the local row since it was last gossiped that triggers an early publication */
export const SIGNIFICANT_CHANGE = 0.1
/** the earliest an early publication follows the previous one (ms), at most `opinionInterval` */
export const MIN_PUBLISH_GAP_MS = 10_000
