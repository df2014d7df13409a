/** The `links:` block of a scenario file, shared by the scenario kinds that simulate a network. */
import { z } from 'zod'

const ms = z.number().min(0)

export const linksSchema = z
  .strictObject({
    latencyMs: z.strictObject({ min: ms, max: ms }).default({ min: 5, max: 60 }),
    jitterMs: ms.default(3),
    loss: z.number().min(0).max(1).default(0.01),
    /** stream: loss delays a message by a TCP retransmission (kith runs over TCP); datagram: it is gone */
    transport: z.enum(['stream', 'datagram']).default('stream'),
  })
  .prefault({})
