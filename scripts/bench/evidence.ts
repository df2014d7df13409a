/**
 * Tier 3 evidence (trust issue): what a task's evidence costs the provider and the requester together. With a
 * TPM: the provider signs the receipt and quotes it through tpm2-tools (`tpm2_quote` over sha256:0-7 with the
 * receipt hash as nonce, against a real swtpm on loopback, the AK at its persistent handle), the package is
 * encoded, then decoded and fully verified in TypeScript (receipt signature, task, provider, freshness, AK,
 * quote signature, nonce, PCR digest, PCR policy). Software-only: the same without the quote.
 *
 * KITH_BENCH_EVIDENCE_QUOTES sets the quotes per run (default 100), KITH_BENCH_EVIDENCE_SOFTWARE the
 * software-only packages per run (default 2000).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { configSchema } from '../../src/config/schema.ts'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import {
  createEvidenceProvider,
  encodeEvidence,
  type EvidenceProvider,
  hashValue,
  type ReceiptFields,
  verifyEvidence,
} from '../../src/trust/evidence/index.ts'
import { HAVE_SWTPM, startSwtpm } from '../../test/fixtures/tpm/swtpm.ts'
import { inOrder } from './lib/stats.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'

export const name = 'evidence'
export const description =
  'Tier 3 evidence packages, provider and requester in one process, one at a time (ms each). `tpm-create-verify`: ' +
  'receipt signed (Ed25519, node:crypto) and quoted by a real swtpm 0.7 through tpm2-tools 5.4 (`tpm2_quote` ' +
  'over sha256:0-7, receipt hash as nonce, ECC P-256 AK at a persistent handle: one child process per quote), ' +
  'package encoded, then decoded and verified in TypeScript (receipt signature, task, provider, freshness, AK ' +
  'name, ECDSA quote signature, nonce, PCR digest, a PCR policy over all 8 PCRs); `tpm-create` and `tpm-verify` ' +
  'are its two halves. `software-*`: the same without a quote. The swtpm process shares the 2 CPUs.'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'tpm-create-verify': { max: 30 },
  'software-create-verify': { max: 1 },
}

const ORDER = [
  'tpm-create-verify',
  'tpm-create',
  'tpm-verify',
  'software-create-verify',
  'software-create',
  'software-verify',
]

function fields(task: string): ReceiptFields {
  const now = Date.now()
  return {
    task,
    cap: 'hall.lock',
    codeHash: hashValue('function run(input) { return { locked: input.lock } }'),
    inputHash: hashValue({ lock: true }),
    outputHash: hashValue({ locked: true }),
    start: now - 3,
    end: now,
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  if (!HAVE_SWTPM) throw new Error('needs swtpm and tpm2-tools: apt-get install swtpm swtpm-tools tpm2-tools')
  const quotes = ctx.envInt('KITH_BENCH_EVIDENCE_QUOTES', 100)
  const softwareCount = ctx.envInt('KITH_BENCH_EVIDENCE_SOFTWARE', 2000)
  await mkdir(join(ctx.tmpDir, 'swtpm'))
  const tpm = await startSwtpm(join(ctx.tmpDir, 'swtpm'))
  let provider: EvidenceProvider | undefined
  try {
    const identity = await createIdentity(join(ctx.tmpDir, 'identity.key'))
    const peer = identity.peerId.toString()
    const config = configSchema.parse({ trust: { tpm: { enabled: true, tcti: tpm.tcti } } })
    provider = createEvidenceProvider({ config, identity, dataDir: ctx.tmpDir })
    await provider.start()
    const attest = provider.describe()
    if (!attest.tpm) throw new Error('the provider found no TPM at the swtpm')
    const policy = Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`sha256:${i}`, ['00'.repeat(32)]]))
    // one verifier for the run, as a node keeps one: its key cache is part of the steady state
    const verify = createVerifier()
    const samples = new Map<string, MetricSamples>(
      ORDER.map((metric) => [metric, { metric, unit: 'ms', samples: [] }]),
    )
    const push = (metric: string, value: number) => samples.get(metric)?.samples.push(value)

    const once = async (task: string, tpmWanted: boolean, record: boolean) => {
      const t0 = performance.now()
      const pkg = await provider!.produce(fields(task), { tpm: tpmWanted })
      const bytes = encodeEvidence(pkg)
      const t1 = performance.now()
      const verdict = verifyEvidence(bytes, {
        expectedTask: task,
        expectedProvider: peer,
        providerDescriptorAttest: attest,
        policy,
        requireHardware: tpmWanted,
        verify,
      })
      const t2 = performance.now()
      if (!verdict.ok) throw new Error(`evidence refused: ${verdict.reason}: ${verdict.message}`)
      if (!record) return
      const kind = tpmWanted ? 'tpm' : 'software'
      push(`${kind}-create-verify`, t2 - t0)
      push(`${kind}-create`, t1 - t0)
      push(`${kind}-verify`, t2 - t1)
    }

    // warm up: V8 optimises both paths, the tools' libraries are in the page cache
    for (let i = 0; i < 10; i++) await once(`task-warm-tpm-${i}`, true, false)
    for (let i = 0; i < 200; i++) await once(`task-warm-sw-${i}`, false, false)

    for (let r = 1; r <= ctx.runs; r++) {
      for (let i = 0; i < quotes; i++) await once(`task-${r}-tpm-${i}`, true, true)
      for (let i = 0; i < softwareCount; i++) await once(`task-${r}-sw-${i}`, false, true)
      const median = (metric: string) => {
        const s = [...(samples.get(metric)?.samples ?? [])].sort((a, b) => a - b)
        return (s[s.length >> 1] ?? 0).toFixed(3)
      }
      ctx.log(
        `run ${r}/${ctx.runs} (median so far): tpm-create-verify ${median('tpm-create-verify')} ms, ` +
          `software-create-verify ${median('software-create-verify')} ms`,
      )
    }
    return {
      results: inOrder(samples, ORDER),
      comparisons: [
        {
          name: 'TPM evidence vs software-only, create+verify',
          numerator: 'tpm-create-verify',
          denominator: 'software-create-verify',
        },
        { name: 'TPM evidence: verifying vs making it', numerator: 'tpm-verify', denominator: 'tpm-create' },
      ],
    }
  } finally {
    await provider?.stop()
    await tpm.stop()
  }
}
