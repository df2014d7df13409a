/**
 * The receipt of a task (DESIGN.md, "Tiers", Tier 3): `{task, cap, codeHash, inputHash, outputHash, start,
 * end, provider}`, signed by the provider with its node identity (Ed25519, the key its peer id names).
 *
 * Wire form: the canonical msgpack encoding (src/util/canonical.ts, `canonicalEncode`) of those fields
 * plus `t: 'rcpt'` and `v: 1`, so that no receipt can be read as a descriptor or a task request signed by the
 * same key. A receipt has exactly one encoding: a decoder refuses any other, so `receiptHash` (SHA-256 of the
 * encoding, the nonce of the TPM quote) identifies a receipt on both sides.
 */
import type { SignatureVerifier } from '../../discovery/descriptor.ts'
import { EvidenceError } from './errors.ts'
import { canonicalEncode, sha256 } from '../../util/canonical.ts'
import { decodeBounded } from '../../util/bounded-decode.ts'

export const RECEIPT_VERSION = 1
/** Largest receipt encoding accepted or produced; an honest one is about 250 bytes. */
export const MAX_RECEIPT_BYTES = 512

/** What the provider states about a task it ran; hashes are SHA-256 (see {@link hashValue}), times ms epoch. */
export interface ReceiptFields {
  /** the task id of the request */
  task: string
  /** the capability id */
  cap: string
  /** hash of the code that ran (script source, device profile) */
  codeHash: Uint8Array
  /** hash of the input as received */
  inputHash: Uint8Array
  /** hash of the output as returned */
  outputHash: Uint8Array
  start: number
  end: number
}

export interface Receipt extends ReceiptFields {
  /** the provider's peer id: whose key signs the receipt */
  provider: string
}

const CAP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
const KEYS = new Set([
  't',
  'v',
  'task',
  'cap',
  'codeHash',
  'inputHash',
  'outputHash',
  'start',
  'end',
  'provider',
])

const malformed = (message: string) => new EvidenceError('malformed', `receipt: ${message}`)

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw malformed(`${field}: expected a string of 1 to ${max} characters`)
  }
  return value
}

function hash(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength !== 32)
    throw malformed(`${field}: expected 32 bytes`)
  // a copy: msgpackr hands out Buffers over the frame it decoded
  return new Uint8Array(value)
}

function time(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw malformed(`${field}: expected ms since epoch`)
  return value as number
}

/** Checks every field; throws {@link EvidenceError} `malformed`. Unknown fields are refused. */
function check(raw: unknown): Receipt {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw malformed('expected a map')
  }
  const r = raw as Record<string, unknown>
  for (const key in r) if (!KEYS.has(key)) throw malformed(`${key}: unknown field`)
  const receipt: Receipt = {
    task: text(r.task, 'task', 64),
    cap: text(r.cap, 'cap', 64),
    codeHash: hash(r.codeHash, 'codeHash'),
    inputHash: hash(r.inputHash, 'inputHash'),
    outputHash: hash(r.outputHash, 'outputHash'),
    start: time(r.start, 'start'),
    end: time(r.end, 'end'),
    provider: text(r.provider, 'provider', 128),
  }
  if (!CAP_ID.test(receipt.cap)) throw malformed('cap: not a capability id')
  if (receipt.end < receipt.start) throw malformed('end is before start')
  return receipt
}

/**
 * The canonical encoding of a receipt: what the provider signs and what {@link receiptHash} hashes. Throws
 * {@link EvidenceError} when a field is out of bounds.
 *
 * @example
 * const bytes = encodeReceipt(receipt)
 * const sig = identity.sign(bytes)
 */
export function encodeReceipt(receipt: Receipt): Uint8Array {
  const r = check({ ...receipt, t: 'rcpt', v: RECEIPT_VERSION })
  const bytes = canonicalEncode({ ...r, t: 'rcpt', v: RECEIPT_VERSION })
  if (bytes.byteLength > MAX_RECEIPT_BYTES) {
    throw new EvidenceError(
      'oversize',
      `receipt is ${bytes.byteLength} bytes; the limit is ${MAX_RECEIPT_BYTES}`,
    )
  }
  return bytes
}

/**
 * SHA-256 of the receipt's canonical encoding: the qualifying data (nonce) of its TPM quote.
 *
 * @example
 * await tpm.quote(receiptHash(receipt))
 */
export function receiptHash(receipt: Receipt): Uint8Array {
  return sha256(encodeReceipt(receipt))
}

/**
 * SHA-256 of the canonical encoding of a JSON-like value: how a receipt's `inputHash` and `outputHash` are
 * taken, the same way by the provider and the requester.
 *
 * @example
 * hashValue({ a: 1, b: 2 }) // equal to hashValue({ b: 2, a: 1 })
 */
export function hashValue(value: unknown): Uint8Array {
  return sha256(canonicalEncode(value ?? null))
}

/** Signs a receipt with the provider's key: `sign` is the node identity's Ed25519 signer. */
export function signReceipt(receipt: Receipt, sign: (data: Uint8Array) => Uint8Array): Uint8Array {
  return sign(encodeReceipt(receipt))
}

/**
 * Decodes receipt bytes from the network: bounded, every field checked, canonical form required. Throws
 * {@link EvidenceError} (`oversize` or `malformed`); the signature is checked apart ({@link verifyReceipt}).
 */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  const raw = decodeBounded(bytes, {
    what: 'receipt',
    maxBytes: MAX_RECEIPT_BYTES,
    fail: (reason, message) =>
      reason === 'malformed' ? malformed(message) : new EvidenceError(reason, message),
  })
  const r = raw as Record<string, unknown> | null
  if (r != null && typeof r === 'object' && (r.t !== 'rcpt' || r.v !== RECEIPT_VERSION)) {
    throw malformed(`expected t: rcpt and v: ${RECEIPT_VERSION}`)
  }
  const receipt = check(raw)
  if (!Buffer.from(encodeReceipt(receipt)).equals(bytes)) throw malformed('not in canonical form')
  return receipt
}

/**
 * True when `sig` is the receipt's provider's signature over its encoding. Never throws.
 *
 * @example
 * verifyReceipt(receipt, sig, createVerifier())
 */
export function verifyReceipt(receipt: Receipt, sig: Uint8Array, verify: SignatureVerifier): boolean {
  try {
    return sig.byteLength === 64 && verify(receipt.provider, encodeReceipt(receipt), sig)
  } catch {
    return false
  }
}
