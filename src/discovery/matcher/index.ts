/**
 * The intent matcher's public surface. Callers build one {@link CapabilityIndex}, feed it live descriptors,
 * and query it; the rest is exported for other relevance models and for tests.
 */

export type { Bm25Init } from './bm25.ts'
export { Bm25Scorer } from './bm25.ts'
export type { CapabilityIndexInit } from './matcher.ts'
export { CapabilityIndex } from './matcher.ts'
export { availability, defaultTier, latencyFactor, trustFactor } from './rank.ts'
export { schemaCompatibility } from './schema-compat.ts'
export { HOUSEHOLD_SYNONYMS } from './synonyms.ts'
export type { Analyzer, AnalyzerInit } from './text.ts'
export { createAnalyzer, tokenize } from './text.ts'
export type {
  CapabilityMeta,
  Intent,
  IntentConstraints,
  JsonSchema,
  Match,
  MatchParts,
  QueryOptions,
  RelevanceScorer,
  ScoredDocs,
  Tier,
} from './types.ts'
