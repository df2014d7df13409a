/** The schema of the `kind: scale` scenario (issue 9); to be filled in by its scenario's work. */
import { z } from 'zod'

export const scaleScenario = z.strictObject({
  kind: z.literal('scale'),
  name: z.string().min(1).default('scale'),
  nodes: z.number().int().min(2).max(10_000).default(100),
  seeds: z.number().int().min(1).max(1000).default(5),
  seed: z.number().int().min(0).default(1),
})

export type ScaleScenario = z.output<typeof scaleScenario>
