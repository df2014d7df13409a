/** The schema of the `kind: drift` scenario (issue 9); to be filled in by its scenario's work. */
import { z } from 'zod'

export const driftScenario = z.strictObject({
  kind: z.literal('drift'),
  name: z.string().min(1).default('drift'),
  nodes: z.number().int().min(2).max(10_000).default(100),
  seeds: z.number().int().min(1).max(1000).default(5),
  seed: z.number().int().min(0).default(1),
})

export type DriftScenario = z.output<typeof driftScenario>
