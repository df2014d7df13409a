/**
 * The parts of a TPM2 quote as `tpm2_quote` writes them (TPM 2.0 Library, Part 2: Structures): the signed
 * message TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE, and its TPMT_SIGNATURE. Parsing is bounded and
 * defensive: every length is checked against the bytes that remain, nothing is allocated from a length, and
 * bytes that do not parse give a reason instead of an exception.
 */
import { HASHES, type ParseResult, parseWith, TPM_ALG, TpmParseError, type TpmReader } from './tpm-reader.ts'

/** TPM_GENERATED_VALUE: the TPM made this structure itself (it refuses to sign outside data that starts so). */
export const TPM_GENERATED_VALUE = 0xff544347
export const TPM_ST_ATTEST_QUOTE = 0x8018
/** Largest attestation message accepted; a quote of 24 PCRs with a SHA-512 name and nonce is under 300. */
export const MAX_ATTEST_BYTES = 1024
/** Largest signature accepted: an RSA 4096 signature with its header is 518. */
export const MAX_SIGNATURE_BYTES = 1024

/** One bank of a PCR selection: the hash (TPM_ALG_ID) and the PCR indices, ascending. */
export interface PcrBank {
  hash: number
  pcrs: number[]
}

export interface QuoteAttest {
  /** the qualified name of the key that signed */
  qualifiedSigner: Uint8Array
  /** the qualifying data given to TPM2_Quote: kith's nonce, the receipt hash */
  extraData: Uint8Array
  clock: { clock: bigint; resetCount: number; restartCount: number; safe: boolean }
  firmwareVersion: bigint
  pcrSelect: PcrBank[]
  /** hash, by the signing scheme's algorithm, of the selected PCR values concatenated */
  pcrDigest: Uint8Array
}

export type QuoteSignature =
  | { alg: 'ecdsa'; hash: number; r: Uint8Array; s: Uint8Array }
  | { alg: 'rsassa'; hash: number; sig: Uint8Array }

/** At most this many banks in a selection (HASH_COUNT of any real TPM is well below it). */
const MAX_BANKS = 16
/** At most 64 PCRs per bank; TPMs have 24. */
const MAX_SELECT_BYTES = 8

function readPcrSelection(r: TpmReader): PcrBank[] {
  const count = r.u32('pcrSelect.count')
  if (count > MAX_BANKS) throw new TpmParseError(`pcrSelect.count: ${count}; at most ${MAX_BANKS}`)
  const banks: PcrBank[] = []
  for (let i = 0; i < count; i++) {
    const hash = r.u16('pcrSelect.hash')
    const size = r.u8('pcrSelect.sizeofSelect')
    if (size > MAX_SELECT_BYTES) throw new TpmParseError(`pcrSelect.sizeofSelect: ${size}`)
    const bitmap = r.raw(size, 'pcrSelect.pcrSelect')
    const pcrs: number[] = []
    // octet i, bit j selects PCR 8i + j
    for (let byte = 0; byte < size; byte++) {
      for (let bit = 0; bit < 8; bit++) if (((bitmap[byte] ?? 0) >> bit) & 1) pcrs.push(byte * 8 + bit)
    }
    banks.push({ hash, pcrs })
  }
  return banks
}

/**
 * Parses a TPMS_ATTEST that must be a quote made by a TPM (magic and type checked).
 *
 * @example
 * const parsed = parseAttest(attestBytes)
 * if (parsed.ok) parsed.value.extraData // the nonce
 */
export function parseAttest(bytes: unknown): ParseResult<QuoteAttest> {
  if (bytes instanceof Uint8Array && bytes.byteLength > MAX_ATTEST_BYTES) {
    return { ok: false, reason: `attest is ${bytes.byteLength} bytes; at most ${MAX_ATTEST_BYTES}` }
  }
  return parseWith(bytes, (r) => {
    const magic = r.u32('magic')
    if (magic !== TPM_GENERATED_VALUE)
      throw new TpmParseError(`magic: 0x${magic.toString(16)}, not TPM_GENERATED`)
    const type = r.u16('type')
    if (type !== TPM_ST_ATTEST_QUOTE) throw new TpmParseError(`type: 0x${type.toString(16)}, not a quote`)
    const qualifiedSigner = r.sized(2 + 64, 'qualifiedSigner')
    const extraData = r.sized(64, 'extraData')
    const clock = {
      clock: r.u64('clockInfo.clock'),
      resetCount: r.u32('clockInfo.resetCount'),
      restartCount: r.u32('clockInfo.restartCount'),
      safe: r.u8('clockInfo.safe') !== 0,
    }
    const firmwareVersion = r.u64('firmwareVersion')
    const pcrSelect = readPcrSelection(r)
    const pcrDigest = r.sized(64, 'pcrDigest')
    r.end('attest')
    return { qualifiedSigner, extraData, clock, firmwareVersion, pcrSelect, pcrDigest }
  })
}

function readHash(r: TpmReader, what: string): number {
  const hash = r.u16(what)
  if (!HASHES.has(hash)) throw new TpmParseError(`${what}: unsupported hash 0x${hash.toString(16)}`)
  return hash
}

/**
 * Parses a TPMT_SIGNATURE: ECDSA (r, s) or RSASSA-PKCS1-v1_5, each with its hash.
 *
 * @example
 * const sig = parseSignature(sigBytes)
 * if (sig.ok && sig.value.alg === 'ecdsa') sig.value.r
 */
export function parseSignature(bytes: unknown): ParseResult<QuoteSignature> {
  if (bytes instanceof Uint8Array && bytes.byteLength > MAX_SIGNATURE_BYTES) {
    return { ok: false, reason: `signature is ${bytes.byteLength} bytes; at most ${MAX_SIGNATURE_BYTES}` }
  }
  return parseWith(bytes, (r): QuoteSignature => {
    const sigAlg = r.u16('sigAlg')
    let out: QuoteSignature
    if (sigAlg === TPM_ALG.ECDSA) {
      const hash = readHash(r, 'ecdsa.hash')
      out = { alg: 'ecdsa', hash, r: r.sized(66, 'ecdsa.r'), s: r.sized(66, 'ecdsa.s') }
    } else if (sigAlg === TPM_ALG.RSASSA) {
      const hash = readHash(r, 'rsassa.hash')
      out = { alg: 'rsassa', hash, sig: r.sized(512, 'rsassa.sig') }
    } else {
      throw new TpmParseError(`sigAlg: 0x${sigAlg.toString(16)} is neither ECDSA nor RSASSA`)
    }
    r.end('signature')
    return out
  })
}

/**
 * The PCR indices of `spec` (`sha256:0,1,2,3,4,5,6,7`), ascending and without repeats; one bank, PCRs 0-23.
 *
 * @example
 * parsePcrSpec('sha256:7,0') // { ok: true, value: { hash: 'sha256', pcrs: [0, 7] } }
 */
export function parsePcrSpec(spec: string): ParseResult<{ hash: string; pcrs: number[] }> {
  const match = /^(sha1|sha256|sha384|sha512):(\d{1,2}(?:,\d{1,2})*)$/.exec(spec)
  if (match == null) return { ok: false, reason: `"${spec}" is not of the form sha256:0,1,2` }
  const pcrs = [...new Set(match[2]!.split(',').map(Number))].sort((a, b) => a - b)
  if (pcrs.some((p) => p > 23)) return { ok: false, reason: `"${spec}": PCRs are 0-23` }
  return { ok: true, value: { hash: match[1]!, pcrs } }
}
