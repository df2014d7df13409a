/** Defaults of the intent matcher; each is documented where it is used. */

/** matches returned when the caller does not say */
export const DEFAULT_LIMIT = 10

/** BM25 term-frequency saturation */
export const BM25_K1 = 1.2
/** BM25 length normalisation */
export const BM25_B = 0.75
/** how much one occurrence of a term counts, by field: a title says more than a sentence of description */
export const FIELD_WEIGHTS = { title: 2, tags: 1.5, description: 1 } as const

/** schema part when the intent gives a schema the capability's cannot be checked against (empty or untyped) */
export const UNKNOWN_SCHEMA = 0.95

/** below this battery percentage, not charging, a provider is avoided (the announcer's band) */
export const LOW_BATTERY = 20
/** battery factor just under LOW_BATTERY; falls linearly to a tenth of it at 0 % */
export const LOW_BATTERY_FACTOR = 0.4
/** above this percentage the battery does not matter */
export const FULL_BATTERY = 50
/** battery factor at LOW_BATTERY; rises linearly to 1 at FULL_BATTERY */
export const MID_BATTERY_FACTOR = 0.8
/** tasks waiting at which the queue factor is one half */
export const QUEUE_HALF = 4
/** CPU temperature (°C) where throttling starts to matter, and where the thermal factor bottoms out */
export const THERMAL_SOFT = 70
export const THERMAL_HARD = 90
export const THERMAL_FLOOR = 0.5
/** round trip (ms) at which the latency factor is one half */
export const LATENCY_HALF_MS = 250
/** trust part of a provider the trust plane does not trust at all: ranked lower, not dropped */
export const TRUST_FLOOR = 0.25

/** words analysed and cached per analyzer before the cache starts over (bounds memory on hostile input) */
export const TERM_CACHE_SIZE = 50_000

/** share of the best candidate's bound (relevance x availability) that a candidate needs to be ranked in the
 * first pass; the rest is ranked after, against a top-k bar already raised */
export const FIRST_PASS_SHARE = 0.8
