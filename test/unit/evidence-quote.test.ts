/**
 * The TPM quote verifier on real quotes: fixtures made once by swtpm and tpm2-tools (test/fixtures/tpm/make.sh),
 * an ECC P-256 AK with ECDSA and an RSA 2048 AK with RSASSA, each quoting sha256:0-7 with a known nonce after
 * PCR 7 was extended. Then hostile input: truncated and mutated attest, signature and public blobs never throw
 * and always give a reason.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { TpmQuote } from '../../src/trust/evidence/package.ts'
import { parseAttest, parsePcrSpec, parseSignature } from '../../src/trust/evidence/quote.ts'
import {
  isAttestationKey,
  parsePublic,
  publicName,
  toKeyObject,
} from '../../src/trust/evidence/tpm-public.ts'
import { type EvidenceCheck, verifyQuote } from '../../src/trust/evidence/verify-quote.ts'

const DIR = join(import.meta.dirname, '../fixtures/tpm')
const meta = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8')) as { nonce: string; pcr7: string }
const nonce = new Uint8Array(Buffer.from(meta.nonce, 'hex'))
const read = (name: string) => new Uint8Array(readFileSync(join(DIR, name)))

function fixture(kind: 'ecc' | 'rsa'): { akPub: Uint8Array; quote: TpmQuote } {
  const akPub = read(`${kind}-ak.pub`)
  const pub = parsePublic(akPub)
  if (!pub.ok) throw new Error(pub.reason)
  const values = read(`${kind}-quote.pcrs`)
  return {
    akPub,
    quote: {
      attest: read(`${kind}-quote.attest`),
      signature: read(`${kind}-quote.sig`),
      akName: publicName(pub.value),
      pcrs: {
        alg: 'sha256',
        selection: [0, 1, 2, 3, 4, 5, 6, 7],
        values: Array.from({ length: 8 }, (_, i) => values.slice(i * 32, (i + 1) * 32)),
      },
    },
  }
}

const flip = (bytes: Uint8Array, at: number, mask = 0x01) => {
  const out = bytes.slice()
  out[at] = (out[at] ?? 0) ^ mask
  return out
}

describe('TPMS_ATTEST, TPMT_SIGNATURE and TPM2B_PUBLIC from swtpm', () => {
  it('parses a quote: magic, type, nonce, PCR selection and digest', () => {
    const parsed = parseAttest(read('ecc-quote.attest'))
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(Buffer.from(parsed.value.extraData).toString('hex')).toBe(meta.nonce)
    expect(parsed.value.pcrSelect).toEqual([{ hash: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }])
    expect(parsed.value.pcrDigest.byteLength).toBe(32)
    expect(parsed.value.qualifiedSigner.byteLength).toBe(34)
    expect(parsed.value.clock.safe).toBe(true)
  })

  it('parses an ECDSA and an RSASSA signature', () => {
    const ecdsa = parseSignature(read('ecc-quote.sig'))
    expect(ecdsa.ok && ecdsa.value.alg === 'ecdsa' && ecdsa.value.hash === 0x000b).toBe(true)
    const rsassa = parseSignature(read('rsa-quote.sig'))
    expect(rsassa.ok && rsassa.value.alg === 'rsassa' && rsassa.value.sig.byteLength === 256).toBe(true)
  })

  it('parses the ECC and RSA attestation keys into restricted signing keys node:crypto can use', () => {
    for (const kind of ['ecc', 'rsa'] as const) {
      const pub = parsePublic(read(`${kind}-ak.pub`))
      expect(pub.ok).toBe(true)
      if (!pub.ok) continue
      expect(pub.value.key.type).toBe(kind)
      expect(isAttestationKey(pub.value)).toBe(true)
      const key = toKeyObject(pub.value)
      expect(key.ok && key.value.asymmetricKeyType).toBe(kind === 'ecc' ? 'ec' : 'rsa')
    }
  })

  it('names a key as the TPM does (tpm2_createak -n)', () => {
    for (const kind of ['ecc', 'rsa'] as const) {
      const pub = parsePublic(read(`${kind}-ak.pub`))
      expect(pub.ok && publicName(pub.value)).toEqual(read(`${kind}-ak.name`))
    }
  })

  it('reads PCR specs from the config', () => {
    expect(parsePcrSpec('sha256:7,0,7')).toEqual({ ok: true, value: { hash: 'sha256', pcrs: [0, 7] } })
    expect(parsePcrSpec('sha256:24').ok).toBe(false)
    expect(parsePcrSpec('md5:1').ok).toBe(false)
  })
})

describe('verifyQuote', () => {
  for (const kind of ['ecc', 'rsa'] as const) {
    it(`accepts the ${kind} quote with its AK, nonce and PCR values`, () => {
      const { akPub, quote } = fixture(kind)
      const checks: EvidenceCheck[] = []
      expect(verifyQuote(quote, { akPub, nonce }, checks)).toEqual({ ok: true })
      expect(checks.map((c) => c.name)).toEqual([
        'ak',
        'quote-signature',
        'nonce',
        'pcr-digest',
        'pcr-policy',
      ])
    })
  }

  it('accepts PCR values the policy knows and refuses others', () => {
    const { akPub, quote } = fixture('ecc')
    expect(
      verifyQuote(quote, { akPub, nonce, policy: { 'sha256:7': ['00'.repeat(32), meta.pcr7] } }).ok,
    ).toBe(true)
    const off = verifyQuote(quote, { akPub, nonce, policy: { 'sha256:7': ['00'.repeat(32)] } })
    expect(off).toMatchObject({ ok: false, reason: 'pcr-policy' })
    const uncovered = verifyQuote(quote, { akPub, nonce, policy: { 'sha256:8': ['00'.repeat(32)] } })
    expect(uncovered).toMatchObject({ ok: false, reason: 'pcr-policy' })
    const otherBank = verifyQuote(quote, { akPub, nonce, policy: { 'sha1:7': ['00'.repeat(20)] } })
    expect(otherBank).toMatchObject({ ok: false, reason: 'pcr-policy' })
  })

  it('refuses a quote with another nonce', () => {
    const { akPub, quote } = fixture('ecc')
    expect(verifyQuote(quote, { akPub, nonce: flip(nonce, 0) })).toMatchObject({
      ok: false,
      reason: 'wrong-nonce',
    })
  })

  it('refuses a tampered attest, whatever byte changed', () => {
    const { akPub, quote } = fixture('ecc')
    // a byte of the clock, of the nonce, and of the PCR digest
    for (const at of [0x50, 0x30, quote.attest.byteLength - 1]) {
      const result = verifyQuote({ ...quote, attest: flip(quote.attest, at) }, { akPub, nonce })
      expect(result).toMatchObject({ ok: false, reason: 'quote-signature' })
    }
  })

  it('refuses reported PCR values that are not the quoted ones', () => {
    const { akPub, quote } = fixture('rsa')
    const values = quote.pcrs.values.map((v, i) => (i === 7 ? flip(v, 0) : v))
    const result = verifyQuote({ ...quote, pcrs: { ...quote.pcrs, values } }, { akPub, nonce })
    expect(result).toMatchObject({ ok: false, reason: 'pcr-digest' })
    const fewer = { alg: 'sha256' as const, selection: [0, 1], values: quote.pcrs.values.slice(0, 2) }
    expect(verifyQuote({ ...quote, pcrs: fewer }, { akPub, nonce })).toMatchObject({ reason: 'pcr-digest' })
  })

  it('refuses a quote made with another AK than the descriptor names', () => {
    const ecc = fixture('ecc')
    const rsa = fixture('rsa')
    expect(verifyQuote(ecc.quote, { akPub: rsa.akPub, nonce })).toMatchObject({
      ok: false,
      reason: 'wrong-ak',
    })
    // the name matches, but the signature is another key's
    const swapped = { ...ecc.quote, signature: rsa.quote.signature }
    expect(verifyQuote(swapped, { akPub: ecc.akPub, nonce })).toMatchObject({ reason: 'quote-signature' })
  })

  it('refuses a descriptor key that is not a restricted signing key', () => {
    const { akPub, quote } = fixture('ecc')
    // objectAttributes is at offset 6 of the TPM2B: clear `restricted` (bit 16)
    const unrestricted = flip(akPub, 7, 0x01)
    expect(verifyQuote(quote, { akPub: unrestricted, nonce })).toMatchObject({ ok: false, reason: 'bad-ak' })
    expect(verifyQuote(quote, { akPub: akPub.subarray(0, 40), nonce })).toMatchObject({ reason: 'bad-ak' })
  })
})

describe('hostile bytes', () => {
  const blobs = {
    attest: read('ecc-quote.attest'),
    ecdsa: read('ecc-quote.sig'),
    rsassa: read('rsa-quote.sig'),
    eccPub: read('ecc-ak.pub'),
    rsaPub: read('rsa-ak.pub'),
  }
  const parsers = [parseAttest, parseSignature, parsePublic] as const

  it('refuses every truncation of every structure, with a reason', () => {
    const cases = [
      [parseAttest, blobs.attest],
      [parseSignature, blobs.ecdsa],
      [parseSignature, blobs.rsassa],
      [parsePublic, blobs.eccPub],
      [parsePublic, blobs.rsaPub],
    ] as const
    for (const [parse, bytes] of cases) {
      expect(parse(bytes).ok).toBe(true)
      for (let n = 0; n < bytes.byteLength; n++) {
        const result = parse(bytes.subarray(0, n))
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.reason).toMatch(/\w/)
      }
      const longer = new Uint8Array(bytes.byteLength + 1)
      longer.set(bytes)
      expect(parse(longer)).toMatchObject({ ok: false, reason: expect.stringMatching(/trailing/) })
    }
  })

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        for (const parse of parsers) {
          const result = parse(bytes)
          if (!result.ok) expect(typeof result.reason).toBe('string')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on mutated quotes, and refuses each real change with a reason', () => {
    const { akPub, quote } = fixture('ecc')
    const part = fc.constantFrom('attest', 'signature', 'akPub')
    fc.assert(
      fc.property(part, fc.nat(), fc.integer({ min: 1, max: 255 }), (which, index, mask) => {
        const target = which === 'akPub' ? akPub : quote[which]
        const mutated = flip(target, index % target.byteLength, mask)
        const result =
          which === 'akPub'
            ? verifyQuote(quote, { akPub: mutated, nonce })
            : verifyQuote({ ...quote, [which]: mutated }, { akPub, nonce })
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.reason).toMatch(/^[a-z-]+$/)
      }),
      { numRuns: 1500 },
    )
  })

  it('never throws on truncated or extended quote parts', () => {
    const { akPub, quote } = fixture('rsa')
    fc.assert(
      fc.property(
        fc.constantFrom('attest', 'signature', 'akPub'),
        fc.nat({ max: 400 }),
        fc.uint8Array({ maxLength: 8 }),
        (which, cut, tail) => {
          const target = which === 'akPub' ? akPub : quote[which]
          const changed = new Uint8Array([...target.subarray(0, Math.min(cut, target.byteLength)), ...tail])
          if (Buffer.from(changed).equals(target)) return
          const result =
            which === 'akPub'
              ? verifyQuote(quote, { akPub: changed, nonce })
              : verifyQuote({ ...quote, [which]: changed }, { akPub, nonce })
          expect(result.ok).toBe(false)
        },
      ),
      { numRuns: 1500 },
    )
  })
})
