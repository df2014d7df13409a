/** `capabilities:` (the script capabilities this node offers) and `execution:` (how it runs tasks). */
import { z } from 'zod'
import { capabilityId, jsonSchema, peerIdString, riskValue } from './schema-values.ts'

const int = (min: number, max: number) => z.number().int().min(min).max(max)
const KiB = 1024
const MiB = 1024 * 1024

const capability = z.strictObject({
  id: capabilityId.meta({ description: 'The id peers call it by.', examples: ['math.double'] }),
  kind: z.literal('script').meta({ description: 'Always `script`: a JavaScript file run in the sandbox.' }),
  title: z
    .string()
    .min(1)
    .max(120)
    .meta({ description: 'A short name, shown in `kith find` and to agents.' }),
  description: z
    .string()
    .max(2000)
    .default('')
    .meta({ description: 'What it does, for people and for matching intents.' }),
  tags: z.array(z.string().min(1).max(40)).max(32).default([]).meta({ description: 'Words it is found by.' }),
  risk: riskValue
    .default('low')
    .meta({ description: 'low, medium or high: decides the verification tier of an `auto` task.' }),
  script: z
    .string()
    .min(1)
    .meta({
      description: 'The script file (relative to this file); it defines a global `function run(input)`.',
      examples: ['double.js'],
    }),
  input: jsonSchema.default({}).meta({ description: 'JSON Schema of the input.' }),
  output: jsonSchema.default({}).meta({ description: 'JSON Schema of the output.' }),
  deterministic: z
    .boolean()
    .default(false)
    .meta({ description: 'The same input always gives the same output (lets Tier 2 learn canaries).' }),
  sensors: z.array(capabilityId).max(64).default([]).meta({
    description: 'Sensor capabilities (<device>.<sensor>) the script may read with `await device.read(id)`.',
  }),
  minBattery: z.number().min(0).max(100).optional().meta({
    description:
      'Percent; below it, on battery power and not charging, the capability is withdrawn from the descriptor.',
  }),
  maxLoad: z.number().positive().optional().meta({
    description: 'Load per core (1-minute load average / cores); above it the capability is withdrawn.',
  }),
})

/** `capabilities:` */
export const capabilitiesSection = z
  .array(capability)
  .max(256)
  .default([])
  .meta({ description: 'The script capabilities this node offers to its peers.' })

const sandbox = z
  .strictObject({
    memoryBytes: int(MiB, 512 * MiB)
      .default(16 * MiB)
      .meta({
        description:
          "Heap of one task (bytes). Each worker's engine reserves this plus about 6 MiB, and at least 16 MiB; " +
          'below 10 MiB the hard cap stays that of a 10 MiB heap.',
      }),
    stackBytes: int(16 * KiB, 256 * KiB)
      .default(256 * KiB)
      .meta({
        description:
          "QuickJS stack of one task (bytes); above 256 KiB Node's own stack could overflow first.",
      }),
    timeoutMs: int(10, 600_000).optional().meta({
      description: 'Longest a script runs (ms, host calls included). Absent: execution.maxTaskTimeout.',
    }),
    maxOutputBytes: int(KiB, MiB)
      .default(256 * KiB)
      .meta({
        description: 'Largest output of one task (bytes of JSON); a reply frame holds at most 1 MiB.',
      }),
    workers: int(1, 64).optional().meta({
      description: 'Worker threads running scripts. Absent: execution.maxConcurrent, else the core count.',
    }),
    warmWorkers: int(0, 64)
      .default(1)
      .meta({
        description:
          'Workers kept running once idle while the node offers script capabilities; the others end after ' +
          'idleTimeout and start again on demand, giving back about 15 MiB each.',
      }),
    idleTimeout: int(1_000, 86_400_000)
      .default(60_000)
      .meta({ description: 'How long a worker beyond warmWorkers may sit idle before it ends (ms).' }),
    workerHeapMb: int(32, 4096).default(256).meta({
      description: "Cap of each worker's V8 heap (MiB; the scripts' own heaps are outside it); a fail-safe.",
    }),
  })
  .prefault({})
  .meta({
    description:
      "The QuickJS sandbox that runs script capabilities (docs/execution.md). Defaults are the sandbox's own " +
      '(SANDBOX_DEFAULTS); the bounds are its ceilings.',
  })

const perPeer = z
  .strictObject({
    ratePerSec: z
      .number()
      .positive()
      .max(10_000)
      .default(10)
      .meta({ description: 'Tasks per second a peer may send, sustained (token bucket refill).' }),
    burst: int(1, 100_000)
      .default(20)
      .meta({ description: 'Tasks a peer may send in a burst (token bucket size).' }),
    maxConcurrent: int(1, 256)
      .default(4)
      .meta({ description: 'Tasks of one peer running or queued here at once.' }),
  })
  .prefault({})
  .meta({ description: 'Cooperation rules per requesting peer.' })

/** `execution:` */
export const executionSection = z
  .strictObject({
    maxConcurrent: int(1, 256).optional().meta({
      description: "Tasks run at once. Absent: the machine's core count (os.availableParallelism()).",
    }),
    maxQueue: int(0, 1024)
      .default(16)
      .meta({ description: 'Tasks waiting for a slot; beyond it a request is answered `busy` at once.' }),
    taskTimeout: int(100, 600_000)
      .default(10_000)
      .meta({ description: 'Deadline given to a task whose request states none (ms).' }),
    maxTaskTimeout: int(100, 600_000)
      .default(60_000)
      .meta({ description: 'The longest deadline a request may ask for (ms); longer ones are denied.' }),
    maxInputBytes: int(KiB, 16 * MiB)
      .default(256 * KiB)
      .meta({ description: 'The largest task input accepted (encoded bytes).' }),
    perPeer,
    allowPeers: z.array(peerIdString).max(1024).optional().meta({
      description: 'When set, only these peers (and trust.pretrusted) may delegate tasks to this node.',
    }),
    sandbox,
  })
  .refine((e) => e.taskTimeout <= e.maxTaskTimeout, {
    path: ['taskTimeout'],
    message: 'must not exceed execution.maxTaskTimeout',
  })
  .refine((e) => e.sandbox.timeoutMs == null || e.sandbox.timeoutMs <= e.maxTaskTimeout, {
    path: ['sandbox', 'timeoutMs'],
    message: 'must not exceed execution.maxTaskTimeout',
  })
  .prefault({})
  .meta({
    description: 'How this node runs the tasks its peers send: concurrency, queue, deadlines, sandbox.',
  })
