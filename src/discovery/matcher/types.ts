/**
 * The matcher's vocabulary: what a caller asks for (an intent), what it gets back (matches with the parts of
 * their score), and the seam where another relevance model (an embedding index) can replace the lexical one.
 */
import type { Capability, Descriptor } from '../descriptor.ts'

/** Verification tier a provider can offer for a capability (DESIGN.md, "Tiers"). */
export type Tier = 1 | 2 | 3

/** A JSON Schema as carried in descriptors and intents; only `type`, `properties` and `required` are read. */
export type JsonSchema = Record<string, unknown>

/** Hard limits: a capability that fails any of them is not a match. */
export interface IntentConstraints {
  /** lowest verification tier acceptable */
  minTier?: Tier
  /** drop providers whose measured latency is known and above this */
  maxLatencyMs?: number
  /** true: only this node's capabilities; false: only other nodes' */
  local?: boolean
  kind?: Capability['kind']
}

/** What a caller wants done, in words, with optional tags, schemas and constraints. */
export interface Intent {
  text: string
  /** every tag must be carried by a matching capability (synonyms count: `lamp` finds `light`) */
  tags?: readonly string[]
  /** the input the caller can supply: its properties must cover the capability's required ones */
  input?: JsonSchema
  /** the output the caller needs: its properties must exist in the capability's output */
  output?: JsonSchema
  constraints?: IntentConstraints
}

/** The factors whose product is a match's score, each in [0, 1]. */
export interface MatchParts {
  /** lexical (or semantic) relevance, relative to the best match of the same intent */
  relevance: number
  /** 1 when the schemas fit or the intent gives none; a little less when the capability's cannot be checked */
  schema: number
  /** from the provider's battery, load, queue and temperature */
  availability: number
  /** from the trust plane: the query's `trust` hook as given, else the index's `trustOf` through trustFactor; 1 without either */
  trust: number
  /** from the measured round trip to the provider; 1 when unknown */
  latency: number
}

/** One ranked result: a capability, who provides it, and why it ranks where it does. */
export interface Match {
  peer: string
  capability: Capability
  /** the capability is this node's own */
  local: boolean
  score: number
  parts: MatchParts
}

/** What `put()` is told about a descriptor beyond its contents. */
export interface CapabilityMeta {
  /** the descriptor is this node's own */
  local: boolean
}

/** Per-query hooks into the other planes; all optional. */
export interface QueryOptions {
  /** most matches returned; 10 by default */
  limit?: number
  /**
   * trust in `peer` for `capability`, in [0, 1] (values outside are clamped), multiplied in as it is; it
   * replaces the index's own `trustOf` for this query. Absent: the index's `trustOf`, else 1
   */
  trust?: (peer: string, capability: Capability) => number
  /** measured round trip to `peer` in ms, undefined when not measured */
  latencyOf?: (peer: string) => number | undefined
  /** tier `peer` offers for `capability`; by default 3 with a TPM, else 2 if deterministic, else 1 */
  tierOf?: (peer: string, capability: Capability, descriptor: Descriptor) => Tier
}

/**
 * Documents a scorer found relevant to an intent: `docs[i]` has relevance `relevance[i]` in (0, 1], for
 * `i < count`, in no particular order. The arrays are the scorer's own buffers, valid until its next call.
 */
export interface ScoredDocs {
  count: number
  docs: Int32Array
  relevance: Float64Array
}

/**
 * Relevance of indexed capabilities to an intent. The BM25 scorer is one implementation; an embedding model
 * can be another without changing the index or its callers. Documents are small integers the index assigns.
 */
export interface RelevanceScorer {
  add(doc: number, capability: Capability): void
  remove(doc: number): void
  /** The relevant documents, or undefined when the intent has nothing to score (every document counts as 1). */
  score(intent: Intent): ScoredDocs | undefined
}
