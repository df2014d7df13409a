/**
 * The schema of scenario 2, capability drift and TTL (`kind: drift`): providers whose state and offer change
 * at a rate, requesters selecting by kith's matcher, every TTL of the grid, bodyless (kith) against flooding.
 */
import { z } from 'zod'

export const ADVERTISING = ['kith', 'flood'] as const
export type Advertising = (typeof ADVERTISING)[number]

const ms = z.number().min(0)
const weight = z.number().min(0)

export const driftScenario = z.strictObject({
  kind: z.literal('drift'),
  name: z.string().min(1).default('ttl-drift'),
  /** providers (requesters come on top) */
  nodes: z.number().int().min(2).max(10_000).default(100),
  requesters: z.number().int().min(1).max(100).default(5),
  /** descriptor TTLs to compare (ms); kith heartbeats every ttl/3 */
  ttlsMs: z
    .array(z.number().int().min(1_000).max(3_600_000))
    .min(1)
    .default([5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000]),
  modes: z
    .array(z.enum(ADVERTISING))
    .min(1)
    .default([...ADVERTISING]),
  drift: z
    .strictObject({
      /** state or offer changes per provider per minute */
      perMinute: z.number().min(0).max(600).default(2),
      /** what a change is, by weight: the load crosses its band, a capability is withdrawn or offered again,
       * the node goes offline (and comes back after `meanDownMs`) */
      load: weight.default(0.6),
      withdraw: weight.default(0.2),
      offline: weight.default(0.2),
      meanDownMs: ms.default(30_000),
    })
    .prefault({}),
  capabilities: z
    .strictObject({
      count: z.number().int().min(2).max(16).default(8),
      perNode: z.number().int().min(1).max(16).default(3),
      zipf: z.number().min(0).max(4).default(1),
    })
    .prefault({}),
  /** a selection every this many ms per requester */
  queryIntervalMs: z.number().int().min(10).default(1_000),
  links: z
    .strictObject({
      latencyMs: z.strictObject({ min: ms, max: ms }).default({ min: 5, max: 60 }),
      jitterMs: ms.default(3),
      loss: z.number().min(0).max(1).default(0.01),
    })
    .prefault({}),
  warmupMs: ms.default(30_000),
  /** virtual time measured after the warm-up */
  durationMs: ms.default(300_000),
  seeds: z.number().int().min(1).max(1000).default(5),
  seed: z.number().int().min(0).default(1),
})

export type DriftScenario = z.output<typeof driftScenario>
