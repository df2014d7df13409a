/**
 * One TPM2 quote with the node's attestation key: `tpm2_quote` over the configured PCRs with a nonce as
 * qualifying data, writing the TPMS_ATTEST, its TPMT_SIGNATURE and the PCR values (`-F values`: the digests
 * concatenated in selection order) to files in the private scratch directory. Run inside
 * `TpmTools.exclusive`.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AttestationKey } from './attestation-key.ts'
import { PCR_DIGEST_SIZE, type PcrHash, type TpmQuote } from './package.ts'
import { MAX_ATTEST_BYTES, MAX_SIGNATURE_BYTES } from './quote.ts'
import type { TpmTools } from './tpm-tools.ts'

export interface QuoteInit {
  tools: TpmTools
  ak: AttestationKey
  workDir: string
  /** one bank and its PCRs, ascending */
  pcrs: { hash: PcrHash; pcrs: readonly number[] }
}

async function readBounded(file: string, max: number, what: string): Promise<Uint8Array> {
  const data = new Uint8Array(await readFile(file))
  if (data.byteLength === 0 || data.byteLength > max) {
    throw new Error(`tpm2_quote wrote ${data.byteLength} bytes of ${what}; expected 1-${max}`)
  }
  return data
}

/**
 * Quotes the PCRs with `nonce` (at most 64 bytes; kith passes the receipt hash) as qualifying data.
 *
 * @example
 * const quote = await tools.exclusive(() => makeQuote({ tools, ak, workDir, pcrs }, receiptHash(receipt)))
 */
export async function makeQuote(init: QuoteInit, nonce: Uint8Array): Promise<TpmQuote> {
  const { tools, ak, workDir, pcrs } = init
  const attestFile = join(workDir, 'quote.attest')
  const sigFile = join(workDir, 'quote.sig')
  const pcrFile = join(workDir, 'quote.pcrs')
  // a failed run must never leave the previous quote's files to be read as this one's
  await Promise.all([attestFile, sigFile, pcrFile].map((f) => rm(f, { force: true })))
  try {
    await tools.run('tpm2_quote', [
      ...['-c', ak.ref, '-l', `${pcrs.hash}:${pcrs.pcrs.join(',')}`],
      ...['-q', Buffer.from(nonce).toString('hex'), '-g', 'sha256'],
      ...['-m', attestFile, '-s', sigFile, '-o', pcrFile, '-F', 'values'],
    ])
  } finally {
    // a key loaded from its context stays loaded; without a resource manager nobody else unloads it
    if (!ak.persistent) await tools.flush().catch(() => undefined)
  }
  const size = PCR_DIGEST_SIZE[pcrs.hash]
  const [attest, signature, values] = await Promise.all([
    readBounded(attestFile, MAX_ATTEST_BYTES, 'attest'),
    readBounded(sigFile, MAX_SIGNATURE_BYTES, 'signature'),
    readBounded(pcrFile, 24 * 64, 'PCR values'),
  ])
  if (values.byteLength !== size * pcrs.pcrs.length) {
    throw new Error(
      `tpm2_quote wrote ${values.byteLength} bytes of PCR values; expected ${size * pcrs.pcrs.length}`,
    )
  }
  return {
    attest,
    signature,
    akName: ak.name,
    pcrs: {
      alg: pcrs.hash,
      selection: [...pcrs.pcrs],
      values: pcrs.pcrs.map((_, i) => values.slice(i * size, (i + 1) * size)),
    },
  }
}
