/**
 * The schema of scenario 1, Sybil index poisoning (`kind: sybil`): every field optional, defaults as issue 9
 * sets them.
 */
import { z } from 'zod'
import { linksSchema } from './links-schema.ts'
import { MAX_CATALOGUE } from './catalogue.ts'

export const STRATEGIES = ['naive', 'tier1', 'tier12', 'full'] as const
export type Strategy = (typeof STRATEGIES)[number]

const tierValue = z.union([z.literal(1), z.literal(2), z.literal(3)])
const fraction = z.number().min(0).max(1)
const ms = z.number().min(0)

export const sybilScenario = z
  .strictObject({
    kind: z.literal('sybil'),
    name: z.string().min(1).default('sybil-poisoning'),
    /** every node, Sybils included */
    nodes: z.number().int().min(4).max(10_000).default(100),
    /** household nodes that run workflows; they are the pre-trusted peers and also provide */
    requesters: z.number().int().min(1).default(10),
    sybilFractions: z.array(z.number().min(0).max(0.9)).min(1).default([0, 0.1, 0.3, 0.5]),
    strategies: z
      .array(z.enum(STRATEGIES))
      .min(1)
      .default([...STRATEGIES]),
    /** seeds run per cell, from `seed` up */
    seeds: z.number().int().min(1).max(1000).default(5),
    seed: z.number().int().min(0).default(1),
    workflow: z
      .strictObject({
        steps: z.number().int().min(1).max(10).default(2),
        /** workflows each requester runs */
        perRequester: z.number().int().min(1).default(20),
        /** mean gap between a requester's workflows (ms) */
        intervalMs: ms.default(5_000),
      })
      .prefault({}),
    capabilities: z
      .strictObject({
        count: z.number().int().min(2).max(MAX_CATALOGUE).default(12),
        /** Zipf exponent of popularity */
        zipf: z.number().min(0).max(4).default(1),
        /** capabilities each honest node offers */
        perNode: z.number().int().min(1).default(3),
      })
      .prefault({}),
    honest: z
      .strictObject({
        /** share of honest answers that are wrong anyway */
        errorRate: fraction.default(0),
        /** share of honest nodes with a TPM (they can offer Tier 3) */
        tpm: fraction.default(0.3),
      })
      .prefault({}),
    sybil: z
      .strictObject({
        /** how many of the most popular capabilities each Sybil claims */
        claims: z.number().int().min(1).default(4),
        /** share of their answers (canaries included: they cannot tell one) that are wrong */
        wrongRate: fraction.default(1),
        /** Sybils gossip opinions rating each other */
        opinions: z.boolean().default(true),
      })
      .prefault({}),
    discovery: z
      .strictObject({
        /** descriptor ttl (ms); every node re-announces every ttl/3 */
        ttlMs: z.number().int().min(1_000).default(60_000),
      })
      .prefault({}),
    links: linksSchema,
    churn: z.strictObject({ meanUpMs: ms.default(0), meanDownMs: ms.default(60_000) }).prefault({}),
    trust: z
      .strictObject({
        /** providers tried per step (delegation's budget: the matcher returns this many) */
        attempts: z.number().int().min(1).default(3),
        /** delegation's timeout for a whole step, canaries and fallbacks included (ms) */
        taskTimeoutMs: z.number().int().min(1).default(2_000),
        /** share of accepted answers whose truth the requester learns afterwards (a user, a later step) */
        feedback: fraction.default(0.5),
        /** tier12: share of tasks preceded by a canary */
        canaryRate: fraction.default(0.5),
        /** known challenges each requester holds per capability */
        canariesPerCapability: z.number().int().min(0).default(2),
        opinionIntervalMs: z.number().int().min(1_000).default(30_000),
        /** the tier per risk under the full policy (trust.policy.risk in the node config) */
        policy: z
          .strictObject({
            low: tierValue.default(1),
            medium: tierValue.default(2),
            high: tierValue.default(3),
          })
          .prefault({}),
      })
      .prefault({}),
    /** time before the first workflow: descriptors spread (ms) */
    warmupMs: ms.default(10_000),
  })
  .superRefine((s, ctx) => {
    if (s.requesters > s.nodes)
      ctx.addIssue({ code: 'custom', path: ['requesters'], message: 'more than nodes' })
    if (s.links.latencyMs.max < s.links.latencyMs.min)
      ctx.addIssue({ code: 'custom', path: ['links', 'latencyMs'], message: 'max is below min' })
  })

export type SybilScenario = z.output<typeof sybilScenario>
