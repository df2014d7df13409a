/** The schema of the `kind: disguise` scenario (issue 9); to be filled in by its scenario's work. */
import { z } from 'zod'

export const disguiseScenario = z.strictObject({
  kind: z.literal('disguise'),
  name: z.string().min(1).default('disguise'),
  nodes: z.number().int().min(2).max(10_000).default(100),
  seeds: z.number().int().min(1).max(1000).default(5),
  seed: z.number().int().min(0).default(1),
})

export type DisguiseScenario = z.output<typeof disguiseScenario>
