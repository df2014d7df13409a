/**
 * The schema of scenario 3, scale (`kind: scale`): how fast a new descriptor reaches every node and what the
 * discovery traffic costs each node, for network sizes from 20 up, bodyless gossip against flooding.
 */
import { z } from 'zod'

export const SCALE_MODES = ['kith', 'flood'] as const
export type ScaleMode = (typeof SCALE_MODES)[number]

const ms = z.number().min(0)

export const scaleScenario = z.strictObject({
  kind: z.literal('scale'),
  name: z.string().min(1).default('scale'),
  /** the largest network size (the report's `nodes`) is the last of `sizes` */
  nodes: z.number().int().min(2).max(20_000).optional(),
  sizes: z.array(z.number().int().min(4).max(20_000)).min(1).default([20, 50, 100, 200, 1_000]),
  modes: z
    .array(z.enum(SCALE_MODES))
    .min(1)
    .default([...SCALE_MODES]),
  /** gossipsub's mesh degree: each node keeps at least `d` and at most `dHigh` mesh peers */
  d: z.number().int().min(1).max(32).default(6),
  dHigh: z.number().int().min(1).max(64).default(12),
  /** descriptor changes (a new body) timed per seed, each from a random publisher */
  changes: z.number().int().min(1).max(1_000).default(20),
  /** the descriptor TTL (ms); heartbeats go every ttl/3 */
  ttlMs: z.number().int().min(1_000).default(60_000),
  /** body changes per node per minute, for the steady-state traffic */
  changesPerMinute: z.number().min(0).default(0.1),
  links: z
    .strictObject({
      latencyMs: z.strictObject({ min: ms, max: ms }).default({ min: 5, max: 60 }),
      jitterMs: ms.default(3),
      loss: z.number().min(0).max(1).default(0.01),
    })
    .prefault({}),
  seeds: z.number().int().min(1).max(1000).default(3),
  seed: z.number().int().min(0).default(1),
})

export type ScaleScenario = z.output<typeof scaleScenario>
