/** Why evidence was refused. Each reason is its own counter, and each counts against the provider that sent it. */
import { KithError } from '../../util/errors.ts'
export type EvidenceRejectReason =
  /** larger than its size cap */
  | 'oversize'
  /** not a receipt or evidence package: msgpack, fields, types, canonical form */
  | 'malformed'
  /** the receipt's Ed25519 signature does not match its provider */
  | 'bad-signature'
  /** the receipt is for another task than the one delegated */
  | 'wrong-task'
  /** the receipt names another provider than the peer the task went to */
  | 'wrong-provider'
  | 'wrong-cap'
  /** the receipt's input, output or code hash differs from what the requester knows */
  | 'wrong-input'
  | 'wrong-output'
  | 'wrong-code'
  /** finished too long ago */
  | 'stale'
  /** starts in the future beyond the allowed clock skew */
  | 'clock-skew'
  /** a receipt already accepted once */
  | 'replayed'
  /** software-only evidence where the policy requires a TPM quote */
  | 'hardware-required'
  /** a quote, but the provider's descriptor names no attestation key */
  | 'no-ak'
  /** the descriptor's attestation key is not a usable restricted signing key */
  | 'bad-ak'
  /** the quote names another attestation key than the provider's descriptor */
  | 'wrong-ak'
  /** the quote's attest, signature or PCR values do not parse or do not fit together */
  | 'quote-malformed'
  /** the quote's signature does not verify with the attestation key */
  | 'quote-signature'
  /** the quote's qualifying data is not the receipt's hash */
  | 'wrong-nonce'
  /** the reported PCR values are not those the quote signed */
  | 'pcr-digest'
  /** a PCR value is not among the known-good ones of the policy */
  | 'pcr-policy'

/** Evidence (a receipt, a TPM quote) that does not prove what it claims; `reason` says which check failed. */
export class EvidenceError extends KithError {
  static override readonly code = 'bad_evidence'
  static override readonly status = 502
  readonly reason: EvidenceRejectReason

  constructor(reason: EvidenceRejectReason, message: string) {
    super(message)
    this.name = 'EvidenceError'
    this.reason = reason
  }
}
