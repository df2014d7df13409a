/**
 * Checks a TPM2 quote in TypeScript alone, without tpm2-tools: the attestation key from the provider's
 * descriptor is a restricted signing key and is the one the quote names, its signature covers the attest,
 * the attest's qualifying data is the expected nonce, the reported PCR values are the ones the attest's digest
 * covers, and those values meet the PCR policy. Never throws: each check passes or gives its reason.
 */
import { constants, createHash, type KeyObject, verify as cryptoVerify } from 'node:crypto'
import type { EvidenceRejectReason } from './errors.ts'
import { type PcrValues, PCR_DIGEST_SIZE, type TpmQuote } from './package.ts'
import { checkPcrPolicy, type PcrPolicy } from './policy.ts'
import { parseAttest, parseSignature, type QuoteSignature } from './quote.ts'
import {
  curveSize,
  isAttestationKey,
  padTo,
  parsePublic,
  publicName,
  type TpmPublic,
  toKeyObject,
} from './tpm-public.ts'
import { HASHES, hashAlgId } from './tpm-reader.ts'

export interface EvidenceCheck {
  name: string
  ok: boolean
  reason?: EvidenceRejectReason
  message?: string
}

export type CheckOutcome = { ok: true } | { ok: false; reason: EvidenceRejectReason; message: string }

export interface QuoteExpectation {
  /** the provider's AK public area (TPM2B_PUBLIC), from its descriptor's `attest.akPub` */
  akPub: Uint8Array
  /** the qualifying data the quote must carry: the receipt's hash */
  nonce: Uint8Array
  policy?: PcrPolicy
}

const equal = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && Buffer.from(a).equals(b)

function signatureValid(pub: TpmPublic, key: KeyObject, attest: Uint8Array, sig: QuoteSignature): boolean {
  const hash = HASHES.get(sig.hash)?.name
  if (hash == null) return false
  try {
    if (sig.alg === 'ecdsa') {
      const size = curveSize(pub.key)
      if (size == null) return false
      const r = padTo(sig.r, size)
      const s = padTo(sig.s, size)
      if (r == null || s == null) return false
      return cryptoVerify(hash, attest, { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]))
    }
    if (pub.key.type !== 'rsa') return false
    return cryptoVerify(hash, attest, { key, padding: constants.RSA_PKCS1_PADDING }, sig.sig)
  } catch {
    return false
  }
}

/** The attest's PCR selection is exactly the reported bank and PCRs, and its digest covers their values. */
function pcrDigestMatches(
  pcrs: PcrValues,
  select: { hash: number; pcrs: number[] }[],
  digest: Uint8Array,
  sigHash: number,
): CheckOutcome {
  const bank = hashAlgId(pcrs.alg)
  const only = select.length === 1 ? select[0] : undefined
  if (only == null || only.hash !== bank || only.pcrs.join(',') !== pcrs.selection.join(',')) {
    return {
      ok: false,
      reason: 'pcr-digest',
      message: `the quote selects other PCRs than the ${pcrs.alg}:${pcrs.selection.join(',')} reported`,
    }
  }
  if (pcrs.values.some((v) => v.byteLength !== PCR_DIGEST_SIZE[pcrs.alg])) {
    return { ok: false, reason: 'pcr-digest', message: 'a PCR value has the wrong size' }
  }
  // the TPM hashes the selected values with the signing scheme's hash
  const h = createHash(HASHES.get(sigHash)!.name)
  for (const v of pcrs.values) h.update(v)
  if (!equal(h.digest(), digest)) {
    return {
      ok: false,
      reason: 'pcr-digest',
      message: 'the reported PCR values are not those the quote signed',
    }
  }
  return { ok: true }
}

/**
 * Runs every quote check in order, appending each result to `checks`, and stops at the first failure.
 *
 * @example
 * const checks: EvidenceCheck[] = []
 * verifyQuote(pkg.quote, { akPub: descriptor.attest.akPub, nonce: receiptHash(pkg.receipt) }, checks).ok
 */
export function verifyQuote(
  quote: TpmQuote,
  expect: QuoteExpectation,
  checks: EvidenceCheck[] = [],
): CheckOutcome {
  const pass = (name: string) => checks.push({ name, ok: true })
  const fail = (name: string, reason: EvidenceRejectReason, message: string): CheckOutcome => {
    checks.push({ name, ok: false, reason, message })
    return { ok: false, reason, message }
  }
  try {
    const pub = parsePublic(expect.akPub)
    if (!pub.ok) return fail('ak', 'bad-ak', `descriptor akPub: ${pub.reason}`)
    if (!isAttestationKey(pub.value))
      return fail('ak', 'bad-ak', 'descriptor akPub is not a restricted signing key of a TPM')
    if (!equal(publicName(pub.value), quote.akName)) {
      return fail('ak', 'wrong-ak', 'the quote was made with another key than the descriptor names')
    }
    const key = toKeyObject(pub.value)
    if (!key.ok) return fail('ak', 'bad-ak', `descriptor akPub: ${key.reason}`)
    pass('ak')

    const attest = parseAttest(quote.attest)
    if (!attest.ok) return fail('quote-signature', 'quote-malformed', `attest: ${attest.reason}`)
    const sig = parseSignature(quote.signature)
    if (!sig.ok) return fail('quote-signature', 'quote-malformed', `signature: ${sig.reason}`)
    if (!signatureValid(pub.value, key.value, quote.attest, sig.value)) {
      return fail('quote-signature', 'quote-signature', 'the attest is not signed by the AK')
    }
    pass('quote-signature')

    if (!equal(attest.value.extraData, expect.nonce)) {
      return fail('nonce', 'wrong-nonce', "the quote's nonce is not this receipt's hash")
    }
    pass('nonce')

    const digest = pcrDigestMatches(
      quote.pcrs,
      attest.value.pcrSelect,
      attest.value.pcrDigest,
      sig.value.hash,
    )
    if (!digest.ok) return fail('pcr-digest', digest.reason, digest.message)
    pass('pcr-digest')

    const policy = checkPcrPolicy(quote.pcrs, expect.policy)
    if (!policy.ok) return fail('pcr-policy', 'pcr-policy', policy.message)
    pass('pcr-policy')
    return { ok: true }
  } catch (err) {
    return fail('quote', 'quote-malformed', `unexpected: ${(err as Error).message}`)
  }
}
