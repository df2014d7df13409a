/**
 * Tier 3 evidence (DESIGN.md, "Tiers"): receipts signed by the provider, TPM2 quotes over them made with
 * tpm2-tools, and their verification in TypeScript alone.
 *
 * Provider: `createEvidenceProvider({config, identity, dataDir, logger})`, `start()`, put `describe()` into the
 * descriptor's `attest`, and send `encodeEvidence(await produce(fields))` with each result. Requester:
 * `verifyEvidence(bytes, {expectedTask, expectedProvider, providerDescriptorAttest, policy, requireHardware})`.
 */
export { type EvidenceRejectReason, EvidenceError } from './errors.ts'
export {
  decodeEvidence,
  encodeEvidence,
  type EvidenceKind,
  type EvidencePackage,
  MAX_EVIDENCE_BYTES,
  type PcrValues,
  type TpmQuote,
} from './package.ts'
export { checkPcrPolicy, type PcrPolicy, requiresHardware } from './policy.ts'
export { createEvidenceProvider, type EvidenceProvider, type EvidenceProviderInit } from './provider.ts'
export {
  decodeReceipt,
  encodeReceipt,
  hashValue,
  MAX_RECEIPT_BYTES,
  type Receipt,
  type ReceiptFields,
  receiptHash,
  signReceipt,
  verifyReceipt,
} from './receipt.ts'
export { ReceiptReplayGuard } from './replay.ts'
export {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_RECEIPT_AGE_MS,
  type EvidenceCheck,
  type EvidenceVerdict,
  verifyEvidence,
  type VerifyEvidenceOptions,
} from './verify.ts'
