/**
 * `trust:` (docs/trust.md): the household's own peers, Tier 1 reputation, the TPM behind Tier 3 evidence, the
 * tier policy and Tier 2 canaries.
 */
import { z } from 'zod'
import { capabilityId, peerIdString, tierValue } from './schema-values.ts'

const int = (min: number, max: number) => z.number().int().min(min).max(max)
const DAY = 24 * 3_600_000

/** One PCR bank and its PCRs, as tpm2-tools write it: `sha256:0,1,2,3,4,5,6,7`. */
const pcrSpec = /^(sha1|sha256|sha384|sha512):(\d|1\d|2[0-3])(,(\d|1\d|2[0-3]))*$/
const pcrKey = /^(sha1|sha256|sha384|sha512):(\d|1\d|2[0-3])$/
const PCR_HEX_LENGTH = { sha1: 40, sha256: 64, sha384: 96, sha512: 128 } as const

const reputation = z
  .strictObject({
    alpha: z.number().min(0.01).max(0.9).default(0.15).meta({
      description: "Share of trust that always flows back to the pre-trusted peers (EigenTrust's a).",
    }),
    halfLife: int(60_000, 365 * DAY)
      .default(7 * DAY)
      .meta({ description: 'An observed outcome weighs half after this long (ms).' }),
    recomputeInterval: int(1_000, 3_600_000)
      .default(30_000)
      .meta({ description: 'How often global trust is recomputed (ms); also soon after new evidence.' }),
    newcomer: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.05)
      .meta({ description: 'Trust of a peer nobody has evidence about yet, in [0, 1): low, not zero.' }),
    maxPeers: int(16, 100_000)
      .default(1000)
      .meta({ description: 'Peers whose records are kept; the least recently seen are forgotten first.' }),
    opinionInterval: int(1_000, 3_600_000).default(300_000).meta({
      description: 'How often this node gossips its opinions (ms); also early after a significant change.',
    }),
  })
  .prefault({})
  .meta({
    description:
      "Tier 1 reputation: multi-topic EigenTrust over this node's own records and the opinions its peers " +
      'gossip. Defaults are REPUTATION_DEFAULTS (src/trust/reputation/constants.ts).',
  })

const tpm = z
  .strictObject({
    enabled: z
      .union([z.literal('auto'), z.boolean()])
      .default('auto')
      .meta({
        description:
          '`auto`: use a TPM when one is configured or /dev/tpmrm0 exists; `false`: never; `true`: expected (an ' +
          'error is logged without one).',
      }),
    tcti: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}(:\S{1,200})?$/, 'expected a TCTI such as device:/dev/tpmrm0')
      .optional()
      .meta({
        description: 'The tpm2-tss TCTI. Absent: device:/dev/tpmrm0 when it exists.',
        examples: ['device:/dev/tpmrm0', 'swtpm:host=127.0.0.1,port=2321'],
      }),
    pcrs: z
      .string()
      .regex(pcrSpec, 'expected one bank and its PCRs 0-23, e.g. sha256:0,1,2,3,4,5,6,7')
      .default('sha256:0,1,2,3,4,5,6,7')
      .meta({ description: 'The PCRs every quote covers: one bank, PCRs 0-23.' }),
    policy: z
      .record(z.string().regex(pcrKey, 'expected a PCR such as sha256:7'), z.array(z.string()).min(1).max(64))
      .optional()
      .meta({
        description:
          'Known-good PCR values per fleet, as hex. Absent: any values (the quote must still verify).',
        examples: [{ 'sha256:7': ['<64 hex digits>'] }],
      }),
    timeoutMs: int(100, 120_000)
      .default(5_000)
      .meta({ description: 'Deadline of one tpm2-tools command (ms).' }),
    akHandle: int(0x81000000, 0x817fffff)
      .default(0x81014b49)
      .meta({
        description:
          'The persistent handle the attestation key is kept at, in the owner range 0x81000000 … 0x817fffff ' +
          '(default 0x81014b49); when taken or refused, the key is loaded per quote.',
      }),
  })
  .superRefine((value, ctx) => {
    for (const [key, values] of Object.entries(value.policy ?? {})) {
      const size = PCR_HEX_LENGTH[key.split(':')[0] as keyof typeof PCR_HEX_LENGTH]
      values.forEach((v, i) => {
        if (!new RegExp(`^[0-9a-fA-F]{${size}}$`).test(v)) {
          ctx.addIssue({ code: 'custom', path: ['policy', key, i], message: `expected ${size} hex digits` })
        }
      })
    }
  })
  .prefault({})
  .meta({ description: 'The TPM 2.0 behind Tier 3 evidence: quotes made through tpm2-tools.' })

const policy = z
  .strictObject({
    risk: z
      .strictObject({
        low: tierValue.default(1).meta({ description: 'Tier of a low-risk capability.' }),
        medium: tierValue.default(2).meta({ description: 'Tier of a medium-risk capability.' }),
        high: tierValue.default(3).meta({ description: 'Tier of a high-risk capability.' }),
      })
      .prefault({})
      .meta({ description: "The tier of a task that asks for `auto`, by the capability's risk." }),
    capabilities: z
      .record(z.string().min(1).max(80), tierValue)
      .default({})
      .meta({
        description:
          "Tier per capability id or tag (globs: `*`, `?`), over the risk's; the first match wins.",
        examples: [{ 'lock.*': 3 }],
      }),
    minTrust: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .meta({
        description:
          "Tier 1's threshold: an `auto` task at Tier 1 to a provider trusted less than this on the capability's " +
          'topic gets a canary first, as at Tier 2, when this node holds one. 0: Tier 1 never checks.',
      }),
  })
  .prefault({})
  .meta({ description: 'Which tier a task gets (DESIGN.md, "Tiers"): by risk, overridden per capability.' })

const canary = z.strictObject({
  capability: capabilityId.meta({ description: 'The capability it checks.' }),
  input: z.unknown().meta({ description: 'The input sent.' }),
  output: z.unknown().meta({ description: 'The answer expected.' }),
})

/** `trust:` */
export const trustSection = z
  .strictObject({
    pretrusted: z
      .array(peerIdString)
      .max(256)
      .default([])
      .meta({ description: "Peer ids of the household's own nodes, trusted from the start." }),
    reputation,
    tpm,
    evidence: z
      .strictObject({
        requireHardware: z
          .array(z.string().min(1).max(80))
          .max(256)
          .default([])
          .meta({
            description:
              'Capability ids or tags (globs: `*`, `?`) whose results must carry TPM evidence; software-only ' +
              'evidence is refused for them.',
          }),
      })
      .prefault({})
      .meta({ description: 'Which results need hardware (TPM) evidence.' }),
    policy,
    canaries: z
      .array(canary)
      .max(1024)
      .default([])
      .meta({
        description:
          'Tier 2 challenges with known answers, per capability: sent before a real task, exactly like one. A ' +
          'provider that answers wrongly or late is penalised and the task goes to the next candidate.',
      }),
    canary: z
      .strictObject({
        learn: int(0, 256).default(16).meta({
          description:
            'Verified answers of deterministic capabilities kept as further canaries, per capability.',
        }),
        rate: z
          .number()
          .min(0)
          .max(1)
          .default(1)
          .meta({ description: 'Share of Tier 2 tasks preceded by a canary (1: every one).' }),
      })
      .prefault({})
      .meta({ description: 'How Tier 2 uses canaries.' }),
  })
  .prefault({})
  .meta({ description: 'The trust plane (docs/trust.md): who is trusted, and how results are verified.' })
