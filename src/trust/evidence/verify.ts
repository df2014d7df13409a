/**
 * The requester's check of a task's evidence package (Tier 3): the receipt is well formed, signed by the
 * provider the task went to, about this task, fresh and not seen before; software-only evidence is accepted as
 * such unless the policy requires hardware; a quote is checked against the provider's advertised attestation
 * key and the PCR policy (verify-quote.ts). Never throws: bad input gives `{ok: false, reason}`.
 */
import type { SignatureVerifier } from '../../discovery/descriptor.ts'
import { createVerifier } from '../../discovery/verify.ts'
import { EvidenceError, type EvidenceRejectReason } from './errors.ts'
import { decodeEvidence, type EvidenceKind, type EvidencePackage, type PcrValues } from './package.ts'
import type { PcrPolicy } from './policy.ts'
import { type Receipt, receiptHash, verifyReceipt } from './receipt.ts'
import type { ReceiptReplayGuard } from './replay.ts'
import { type EvidenceCheck, verifyQuote } from './verify-quote.ts'

export type { EvidenceCheck }

/** How old a receipt may be when it is checked (ms after its end); a task lasts at most 10 minutes. */
export const DEFAULT_MAX_RECEIPT_AGE_MS = 15 * 60_000
/** How far a receipt's start may lie in the requester's future (the providers' clocks differ). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000

export interface VerifyEvidenceOptions {
  /** the task id the requester sent */
  expectedTask: string
  /** the peer id the task was delegated to */
  expectedProvider: string
  expectedCap?: string
  /** hashes the requester can compute itself (`hashValue(input)`, `hashValue(output)`), checked when given */
  expectedInputHash?: Uint8Array
  expectedOutputHash?: Uint8Array
  expectedCodeHash?: Uint8Array
  /** `attest` of the provider's verified descriptor: where the AK public key comes from */
  providerDescriptorAttest?: { tpm: boolean; akPub?: Uint8Array | undefined }
  /** known-good PCR values (`trust.tpm.policy`); absent: any values, but the quote must verify */
  policy?: PcrPolicy | undefined
  /** refuse software-only evidence (see `requiresHardware` and `trust.evidence.requireHardware`) */
  requireHardware?: boolean
  /** ms epoch; default Date.now() */
  now?: number
  maxAgeMs?: number
  maxClockSkewMs?: number
  /** refuses receipts accepted before and remembers this one when it passes */
  replay?: ReceiptReplayGuard
  /** Ed25519 check by peer id; default a fresh `createVerifier()` (pass one to reuse its key cache) */
  verify?: SignatureVerifier
}

export type EvidenceVerdict =
  | {
      ok: true
      kind: EvidenceKind
      receipt: Receipt
      receiptHash: Uint8Array
      /** the quoted PCR values, for tpm evidence */
      pcrs?: PcrValues
      checks: EvidenceCheck[]
    }
  | { ok: false; reason: EvidenceRejectReason; message: string; kind?: EvidenceKind; checks: EvidenceCheck[] }

const equal = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && Buffer.from(a).equals(b)

/**
 * Verifies an evidence package (its wire bytes or a decoded one) for the task the requester delegated.
 *
 * @example
 * const verdict = verifyEvidence(reply.receipt, {
 *   expectedTask: request.id,
 *   expectedProvider: peer,
 *   providerDescriptorAttest: descriptor.attest,
 *   policy: config.trust.tpm.policy,
 *   requireHardware: requiresHardware(capability, config.trust.evidence.requireHardware),
 * })
 * if (!verdict.ok) penalise(peer, verdict.reason)
 */
export function verifyEvidence(
  input: Uint8Array | EvidencePackage,
  options: VerifyEvidenceOptions,
): EvidenceVerdict {
  const checks: EvidenceCheck[] = []
  let kind: EvidenceKind | undefined
  const pass = (name: string) => checks.push({ name, ok: true })
  const fail = (name: string, reason: EvidenceRejectReason, message: string): EvidenceVerdict => {
    checks.push({ name, ok: false, reason, message })
    return { ok: false, reason, message, ...(kind != null ? { kind } : {}), checks }
  }
  try {
    let pkg: EvidencePackage
    try {
      pkg = input instanceof Uint8Array ? decodeEvidence(input) : input
      if ((pkg.kind === 'tpm') !== (pkg.quote != null))
        throw new EvidenceError('malformed', 'a quote if and only if kind is tpm')
    } catch (err) {
      if (err instanceof EvidenceError) return fail('format', err.reason, err.message)
      throw err
    }
    kind = pkg.kind
    const { receipt } = pkg
    pass('format')

    if (!verifyReceipt(receipt, pkg.sig, options.verify ?? createVerifier(16))) {
      return fail(
        'signature',
        'bad-signature',
        `receipt signature does not match the key of ${receipt.provider}`,
      )
    }
    pass('signature')
    if (receipt.task !== options.expectedTask)
      return fail('task', 'wrong-task', `receipt is for task ${receipt.task}`)
    pass('task')
    if (receipt.provider !== options.expectedProvider) {
      return fail('provider', 'wrong-provider', `receipt is from ${receipt.provider}`)
    }
    pass('provider')
    if (options.expectedCap != null) {
      if (receipt.cap !== options.expectedCap)
        return fail('cap', 'wrong-cap', `receipt is for capability ${receipt.cap}`)
      pass('cap')
    }
    const hashes = [
      ['input', 'wrong-input', options.expectedInputHash, receipt.inputHash],
      ['output', 'wrong-output', options.expectedOutputHash, receipt.outputHash],
      ['code', 'wrong-code', options.expectedCodeHash, receipt.codeHash],
    ] as const
    for (const [name, reason, expected, actual] of hashes) {
      if (expected == null) continue
      if (!equal(expected, actual))
        return fail(name, reason, `receipt's ${name} hash differs from the expected one`)
      pass(name)
    }

    const now = options.now ?? Date.now()
    const maxAge = options.maxAgeMs ?? DEFAULT_MAX_RECEIPT_AGE_MS
    if (receipt.end < now - maxAge) return fail('fresh', 'stale', `receipt ended ${now - receipt.end} ms ago`)
    if (receipt.start > now + (options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS)) {
      return fail('fresh', 'clock-skew', `receipt starts ${receipt.start - now} ms in the future`)
    }
    pass('fresh')
    const hash = receiptHash(receipt)
    if (options.replay != null) {
      if (options.replay.has(hash)) return fail('replay', 'replayed', 'this receipt was accepted before')
      pass('replay')
    }

    if (pkg.kind === 'software' || pkg.quote == null) {
      if (options.requireHardware === true) {
        return fail(
          'hardware',
          'hardware-required',
          'software-only evidence; this capability requires a TPM quote',
        )
      }
    } else {
      const akPub = options.providerDescriptorAttest?.akPub
      if (akPub == null) return fail('ak', 'no-ak', "the provider's descriptor names no attestation key")
      const quote = verifyQuote(pkg.quote, { akPub, nonce: hash, policy: options.policy }, checks)
      if (!quote.ok) return { ok: false, reason: quote.reason, message: quote.message, kind, checks }
    }
    options.replay?.remember(hash)
    return {
      ok: true,
      kind: pkg.kind,
      receipt,
      receiptHash: hash,
      ...(pkg.quote != null ? { pcrs: pkg.quote.pcrs } : {}),
      checks,
    }
  } catch (err) {
    return fail('unexpected', 'malformed', `evidence could not be checked: ${(err as Error).message}`)
  }
}
