/**
 * The evidence package that travels with a task's result (in the task reply's `receipt` field, at most 8 KiB):
 * the provider's signed receipt and, where the provider has a TPM, a quote whose nonce is the receipt's hash.
 * Evidence without a quote says so: `kind: 'software'`.
 *
 * Wire form: a msgpack map `{v: 1, kind, receipt, sig, quote?}` where `receipt` is the receipt's canonical
 * encoding (the signed bytes) and `quote` is `{attest, signature, akName, pcrs: {alg, selection, values}}`:
 * the TPMS_ATTEST and TPMT_SIGNATURE bytes exactly as the TPM made them, the TPM name of the attestation key
 * that signed (nameAlg + hash of its public area), and the PCR values the quote's digest covers. The package
 * map itself is not signed: each part carries its own proof (the receipt its Ed25519 signature, the quote the
 * AK signature over the attest, which binds the receipt through its nonce and the PCR values through its
 * digest), so a relay that re-encodes the map changes nothing that is checked.
 */
import { EvidenceError, type EvidenceRejectReason } from './errors.ts'
import { MAX_ATTEST_BYTES, MAX_SIGNATURE_BYTES } from './quote.ts'
import { decodeReceipt, encodeReceipt, MAX_RECEIPT_BYTES, type Receipt } from './receipt.ts'
import { canonicalEncode } from '../../util/canonical.ts'
import { decodeBounded } from '../../util/bounded-decode.ts'

export const EVIDENCE_VERSION = 1
/** Largest package accepted or produced: the task reply's cap on its `receipt` field. */
export const MAX_EVIDENCE_BYTES = 8192

export type EvidenceKind = 'software' | 'tpm'
export type PcrHash = 'sha1' | 'sha256' | 'sha384' | 'sha512'
export const PCR_DIGEST_SIZE: Readonly<Record<PcrHash, number>> = {
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
}

/** One PCR bank as quoted: its hash, the PCR indices (ascending) and their values in that order. */
export interface PcrValues {
  alg: PcrHash
  selection: number[]
  values: Uint8Array[]
}

export interface TpmQuote {
  /** TPMS_ATTEST, as signed */
  attest: Uint8Array
  /** TPMT_SIGNATURE over `attest` */
  signature: Uint8Array
  /** the TPM name of the attestation key that signed */
  akName: Uint8Array
  pcrs: PcrValues
}

export interface EvidencePackage {
  receipt: Receipt
  /** the provider's Ed25519 signature over the receipt's encoding */
  sig: Uint8Array
  kind: EvidenceKind
  quote?: TpmQuote
}

const PACKAGE_KEYS = new Set(['v', 'kind', 'receipt', 'sig', 'quote'])
const QUOTE_KEYS = new Set(['attest', 'signature', 'akName', 'pcrs'])
const PCR_KEYS = new Set(['alg', 'selection', 'values'])

function isRecord(v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function fail(reason: EvidenceRejectReason, message: string): never {
  throw new EvidenceError(reason, message)
}

function only(
  v: Record<string, unknown>,
  keys: ReadonlySet<string>,
  what: string,
  reason: EvidenceRejectReason,
) {
  for (const key in v) if (!keys.has(key)) fail(reason, `${what}: ${key}: unknown field`)
}

function bytes(v: unknown, min: number, max: number, what: string, reason: EvidenceRejectReason): Uint8Array {
  if (!(v instanceof Uint8Array) || v.byteLength < min || v.byteLength > max) {
    fail(reason, `${what}: expected ${min}-${max} bytes`)
  }
  // a copy: msgpackr hands out Buffers over the frame it decoded
  return new Uint8Array(v)
}

function checkPcrs(raw: unknown): PcrValues {
  const what = 'quote.pcrs'
  if (!isRecord(raw)) fail('quote-malformed', `${what}: expected a map`)
  only(raw, PCR_KEYS, what, 'quote-malformed')
  const alg = raw.alg
  if (typeof alg !== 'string' || !Object.hasOwn(PCR_DIGEST_SIZE, alg))
    fail('quote-malformed', `${what}.alg: unknown`)
  const size = PCR_DIGEST_SIZE[alg as PcrHash]
  const { selection, values } = raw
  if (!Array.isArray(selection) || selection.length < 1 || selection.length > 24) {
    fail('quote-malformed', `${what}.selection: expected 1-24 PCR indices`)
  }
  selection.forEach((p: unknown, i) => {
    if (
      !Number.isInteger(p) ||
      (p as number) < 0 ||
      (p as number) > 23 ||
      (i > 0 && (p as number) <= selection[i - 1])
    ) {
      fail('quote-malformed', `${what}.selection: expected ascending PCR indices 0-23`)
    }
  })
  if (!Array.isArray(values) || values.length !== selection.length) {
    fail('quote-malformed', `${what}.values: expected one value per selected PCR`)
  }
  return {
    alg: alg as PcrHash,
    selection: selection as number[],
    values: values.map((v: unknown) => bytes(v, size, size, `${what}.values`, 'quote-malformed')),
  }
}

function checkQuote(raw: unknown): TpmQuote {
  if (!isRecord(raw)) fail('quote-malformed', 'quote: expected a map')
  only(raw, QUOTE_KEYS, 'quote', 'quote-malformed')
  return {
    attest: bytes(raw.attest, 1, MAX_ATTEST_BYTES, 'quote.attest', 'quote-malformed'),
    signature: bytes(raw.signature, 1, MAX_SIGNATURE_BYTES, 'quote.signature', 'quote-malformed'),
    akName: bytes(raw.akName, 2, 66, 'quote.akName', 'quote-malformed'),
    pcrs: checkPcrs(raw.pcrs),
  }
}

/**
 * The wire bytes of a package. Throws {@link EvidenceError} when a field is out of bounds or the whole is over
 * {@link MAX_EVIDENCE_BYTES}.
 *
 * @example
 * reply.receipt = encodeEvidence(await evidence.produce(fields))
 */
export function encodeEvidence(pkg: EvidencePackage): Uint8Array {
  if ((pkg.kind === 'tpm') !== (pkg.quote != null))
    fail('malformed', 'evidence: a quote if and only if kind is tpm')
  const quote = pkg.quote != null ? checkQuote(pkg.quote) : undefined
  const out = canonicalEncode({
    v: EVIDENCE_VERSION,
    kind: pkg.kind,
    receipt: encodeReceipt(pkg.receipt),
    sig: bytes(pkg.sig, 64, 64, 'sig', 'malformed'),
    quote,
  })
  if (out.byteLength > MAX_EVIDENCE_BYTES)
    fail('oversize', `evidence is ${out.byteLength} bytes; the limit is ${MAX_EVIDENCE_BYTES}`)
  return out
}

/**
 * Decodes a package from the network: bounded, every field checked. Throws {@link EvidenceError} with the
 * reason; signatures and the quote are checked by `verifyEvidence`.
 *
 * @example
 * const pkg = decodeEvidence(reply.receipt)
 */
export function decodeEvidence(data: Uint8Array): EvidencePackage {
  if (!(data instanceof Uint8Array)) fail('malformed', 'evidence: expected bytes')
  const raw = decodeBounded(data, {
    what: 'evidence',
    maxBytes: MAX_EVIDENCE_BYTES,
    fail: (reason, message) =>
      new EvidenceError(reason, reason === 'malformed' ? `evidence: ${message}` : message),
  })
  if (!isRecord(raw)) fail('malformed', 'evidence: expected a map')
  only(raw, PACKAGE_KEYS, 'evidence', 'malformed')
  if (raw.v !== EVIDENCE_VERSION) fail('malformed', `evidence: v: expected ${EVIDENCE_VERSION}`)
  if (raw.kind !== 'software' && raw.kind !== 'tpm')
    fail('malformed', 'evidence: kind: expected software or tpm')
  if ((raw.kind === 'tpm') !== (raw.quote !== undefined))
    fail('malformed', 'evidence: a quote if and only if kind is tpm')
  const pkg: EvidencePackage = {
    receipt: decodeReceipt(bytes(raw.receipt, 1, MAX_RECEIPT_BYTES, 'evidence: receipt', 'malformed')),
    sig: bytes(raw.sig, 64, 64, 'evidence: sig', 'malformed'),
    kind: raw.kind,
  }
  if (raw.quote !== undefined) pkg.quote = checkQuote(raw.quote)
  return pkg
}
