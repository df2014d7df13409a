/**
 * The schema of scenario 3, Scale (`kind: scale`, issue 9): discovery latency and control bytes per node per
 * second against the network size, bodyless gossip (`kith`) against full-body flooding (`flood`). Every
 * field is optional; the defaults are kith's own (descriptor ttl, gossipsub's parameters as the host runs
 * them) or, where kith has none, stated as the model's assumption.
 */
import { z } from 'zod'
import { linksSchema } from './links-schema.ts'
import { MAX_CATALOGUE } from './catalogue.ts'

export const SCALE_MODES = ['kith', 'flood'] as const
export type ScaleMode = (typeof SCALE_MODES)[number]

/** The sizes issue 9 asks for; a scenario runs those up to its `nodes`, and `nodes` itself. */
export const ISSUE_SIZES = [20, 50, 100, 200, 1_000, 10_000] as const

const fraction = z.number().min(0).max(1)
const ms = z.number().min(0)
const count = z.number().int().min(1)

/**
 * @example
 * scaleScenario.parse({ kind: 'scale', nodes: 200, seeds: 2 }).overlay.D // 6
 */
export const scaleScenario = z
  .strictObject({
    kind: z.literal('scale'),
    name: z.string().min(1).default('scale'),
    /** the largest network simulated */
    nodes: z.number().int().min(2).max(10_000).default(1_000),
    /** the network sizes simulated; default: the issue's sizes up to `nodes`, and `nodes` */
    sizes: z.array(z.number().int().min(2).max(10_000)).min(1).optional(),
    modes: z
      .array(z.enum(SCALE_MODES))
      .min(1)
      .default([...SCALE_MODES]),
    /** seeds run per (size, mode), from `seed` up; both modes of a seed share its network and plan */
    seeds: z.number().int().min(1).max(1000).default(3),
    seed: z.number().int().min(0).default(1),
    /** descriptor ttl (ms); kith heartbeats every ttl/3 (the config's default, 15 s) */
    ttlMs: z.number().int().min(3_000).max(3_600_000).default(15_000),
    capabilities: z
      .strictObject({
        count: z.number().int().min(2).max(MAX_CATALOGUE).default(12),
        /** capabilities each node offers at the start; a change adds or drops one */
        perNode: count.default(3),
      })
      .prefault({}),
    /**
     * What is simulated message by message. `active` nodes (all of them in a smaller network) heartbeat
     * every ttl/3 over `windowMs`, and `changes` body changes (a new capability, so a new signed body) come
     * from them at random times; every node receives, checks and forwards each of those messages. The bytes
     * of one message are scaled to every node's heartbeats and to `changesPerHour` (the body change rate
     * assumed for the steady state).
     */
    traffic: z
      .strictObject({
        active: count.default(20),
        changes: count.default(40),
        windowMs: z.number().int().min(1_000).default(30_000),
        /** body changes per node per hour in the steady state (bytes only) */
        changesPerHour: ms.default(6),
      })
      .prefault({}),
    /** the gossipsub overlay, as kith's host configures it (library defaults) */
    overlay: z
      .strictObject({
        /** topic peers each node is connected to, at least (capped by maxConnections) */
        peers: count.default(16),
        maxConnections: count.default(32),
        D: count.default(6),
        Dlo: count.default(4),
        Dhi: count.default(12),
        Dlazy: z.number().int().min(0).default(6),
        gossipFactor: fraction.default(0.25),
        heartbeatMs: z.number().int().min(10).default(1_000),
        /** heartbeats a message is advertised in IHAVE (mcacheGossip) */
        gossipWindows: z.number().int().min(0).default(3),
        maxIHaveLength: count.default(5_000),
        /** model IHAVE/IWANT lazy gossip (bytes, and the IWANT path when it is first) */
        lazy: z.boolean().default(true),
        /** gossipsub 1.2 IDONTWANT for messages of at least this many bytes (flooded bodies) */
        idontwantMinBytes: z.number().int().min(0).default(512),
      })
      .prefault({}),
    /** CPU time a node spends before acting (ms): assumed, for a Raspberry Pi 4-class hub */
    processing: z
      .strictObject({
        /** gossipsub's message signature check and decode, per message received */
        messageMs: ms.default(0.5),
        /** the intake's parse and Ed25519 check of a descriptor body */
        bodyMs: ms.default(1),
      })
      .prefault({}),
    /** the announcer's cap on pulls in flight (ANNOUNCER_DEFAULTS.maxConcurrentPulls) */
    maxConcurrentPulls: count.default(16),
    links: linksSchema,
  })
  .superRefine((s, ctx) => {
    for (const [i, n] of (s.sizes ?? []).entries())
      if (n > s.nodes) ctx.addIssue({ code: 'custom', path: ['sizes', i], message: 'more than nodes' })
    if (s.links.latencyMs.max < s.links.latencyMs.min)
      ctx.addIssue({ code: 'custom', path: ['links', 'latencyMs'], message: 'max is below min' })
    if (s.overlay.Dlo > s.overlay.D || s.overlay.D > s.overlay.Dhi)
      ctx.addIssue({ code: 'custom', path: ['overlay', 'D'], message: 'needs Dlo <= D <= Dhi' })
  })

export type ScaleScenario = z.output<typeof scaleScenario>

/**
 * The network sizes a scenario runs, ascending.
 *
 * @example
 * sizesOf(parseScenario({ kind: 'scale', nodes: 200 }) as ScaleScenario) // [20, 50, 100, 200]
 */
export function sizesOf(s: ScaleScenario): number[] {
  const sizes = s.sizes ?? [...ISSUE_SIZES.filter((n) => n < s.nodes), s.nodes]
  return [...new Set(sizes)].sort((a, b) => a - b)
}
