/**
 * The schema of scenario 4, cross-topic disguise collusion (`kind: disguise`), in the setting of arXiv
 * 2606.17368: 100 nodes, 5 topics, 50 epochs, 8 candidates per query. Every field optional.
 */
import { z } from 'zod'

export const TRUST_METHODS = ['none', 'flat', 'per-topic', 'kith'] as const
export type TrustMethod = (typeof TRUST_METHODS)[number]

const fraction = z.number().min(0).max(1)

export const disguiseScenario = z
  .strictObject({
    kind: z.literal('disguise'),
    name: z.string().min(1).default('disguise'),
    nodes: z.number().int().min(10).max(2_000).default(100),
    /** the household's own nodes: honest, pre-trusted by every method that has pre-trust */
    pretrusted: z.number().int().min(1).default(5),
    /** shares of attackers (a grid); attackers are honest on every topic but the attacked one, where they lie */
    attackerShares: z.array(z.number().min(0).max(0.6)).min(1).default([0.1, 0.2, 0.3, 0.4]),
    methods: z
      .array(z.enum(TRUST_METHODS))
      .min(1)
      .default([...TRUST_METHODS]),
    topics: z.number().int().min(2).max(5).default(5),
    epochs: z.number().int().min(1).max(500).default(50),
    /** queries each honest node makes per epoch, on topics drawn uniformly */
    queries: z.number().int().min(1).max(100).default(10),
    /** providers drawn at random per query, among which the method chooses */
    candidates: z.number().int().min(2).max(64).default(8),
    /** probability that the requester finds out a lie it was served (a canary, a user, a later step) */
    detect: fraction.default(1),
    /** attackers rate each other highly on every topic */
    collusion: z.boolean().default(true),
    /** an attacker caught lying this many times by anyone rejoins under a fresh identity the next epoch */
    whitewashAfter: z.number().int().min(0).default(2),
    /** EigenTrust's pre-trust weight, for flat, per-topic and kith alike */
    alpha: z.number().min(0.01).max(0.9).default(0.15),
    seeds: z.number().int().min(1).max(1000).default(5),
    seed: z.number().int().min(0).default(1),
  })
  .superRefine((s, ctx) => {
    if (s.pretrusted >= s.nodes)
      ctx.addIssue({ code: 'custom', path: ['pretrusted'], message: 'not below nodes' })
    if (s.candidates >= s.nodes)
      ctx.addIssue({ code: 'custom', path: ['candidates'], message: 'not below nodes' })
  })

export type DisguiseScenario = z.output<typeof disguiseScenario>
