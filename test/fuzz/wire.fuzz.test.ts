/**
 * Fuzzing every decoder of bytes a peer sends: descriptors, announce notices, pull requests, task frames and
 * their length prefix, opinions, receipts, evidence packages and the TPM structures inside them. Each gets
 * hostile inputs built from real encodings (test/fuzz/harness.ts) and must return a value or refuse with its
 * own error and a reason.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import {
  decodeDescriptor,
  DescriptorError,
  MAX_DESCRIPTOR_BYTES,
  signDescriptor,
} from '../../src/discovery/descriptor.ts'
import { MAX_PAGE_BYTES, openPage, PageError } from '../../src/discovery/catalog-page.ts'
import { MAX_SUMMARY_BYTES, parseSummary, signSummary } from '../../src/discovery/summary.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import {
  decodeAnnounce,
  decodeCatalogRequest,
  decodeNoticeV2,
  encodeCatalogRequest,
  MAX_CATALOG_REQUEST_BYTES,
  decodePullRequest,
  encodeAnnounce,
  encodePullRequest,
  MAX_ANNOUNCE_BYTES,
  MAX_PULL_REQUEST_BYTES,
  WireError,
} from '../../src/discovery/wire.ts'
import {
  decodeFrame,
  decodeFrameLength,
  encodeFrame,
  FrameError,
  MAX_FRAME_BYTES,
  MAX_LENGTH_BYTES,
  signRequest,
} from '../../src/execution/task-wire.ts'
import {
  decodeEvidence,
  decodeReceipt,
  encodeEvidence,
  encodeReceipt,
  EvidenceError,
  hashValue,
  type Receipt,
  signReceipt,
} from '../../src/trust/evidence/index.ts'
import { parseAttest, parseSignature } from '../../src/trust/evidence/quote.ts'
import { parsePublic } from '../../src/trust/evidence/tpm-public.ts'
import { MAX_OPINION_BYTES } from '../../src/trust/reputation/constants.ts'
import { decodeOpinion, OpinionError, signOpinion } from '../../src/trust/reputation/opinion.ts'
import { TOPICS } from '../../src/trust/reputation/topic.ts'
import { tempDir } from '../helpers.ts'
import { fuzz, hostileBytes, Tally } from './harness.ts'

const verify = createVerifier()
let me: Identity
let cleanup: () => Promise<void>
const NOW = 1_800_000_000_000

beforeAll(async () => {
  const tmp = await tempDir('kith-fuzz-')
  cleanup = tmp.cleanup
  me = await createIdentity(join(tmp.dir, 'id.key'))
})
afterAll(() => cleanup())

const peer = () => me.peerId.toString()
const sha = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest())

function descriptorSample(): Uint8Array {
  return signDescriptor(
    {
      v: 1,
      peer: peer(),
      seq: 7,
      iat: NOW,
      ttl: 15_000,
      addrs: ['/ip4/127.0.0.1/tcp/4001'],
      state: { load: 0.4, memFree: 512, queue: 1, battery: 80 },
      caps: [
        {
          id: 'kitchen.light',
          title: 'Kitchen light',
          description: 'turns the kitchen light on and off',
          tags: ['light', 'kitchen'],
          kind: 'device',
          risk: 'low',
          input: { on: { type: 'boolean' } },
          output: {},
        },
      ],
      attest: { tpm: false },
    },
    me.sign,
  ).bytes
}

function receipt(): Receipt {
  return {
    task: 'task-0123456789',
    cap: 'kitchen.light',
    codeHash: hashValue('function run(input) { return input }'),
    inputHash: hashValue({ on: true }),
    outputHash: hashValue({ on: true }),
    start: NOW - 40,
    end: NOW - 5,
    provider: peer(),
  }
}

const TPM = join(import.meta.dirname, '../fixtures/tpm')
const tpmFile = (name: string) => new Uint8Array(readFileSync(join(TPM, name)))

describe('fuzzing the wire decoders', () => {
  it('descriptor', () => {
    const tally = new Tally('descriptor')
    fuzz(tally, hostileBytes([descriptorSample()], MAX_DESCRIPTOR_BYTES), (bytes) =>
      tally.check(bytes, () => decodeDescriptor(bytes, verify), DescriptorError),
    )
    expect(tally.refused.size).toBeGreaterThan(0)
  })

  it('announce notice and pull request', () => {
    const digest = new Uint8Array(32).fill(7)
    const announce = new Tally('announce')
    const samples = [
      encodeAnnounce({ peer: peer(), seq: 3, digest, at: NOW }),
      encodeAnnounce({ peer: peer(), seq: 3, digest, at: NOW, state: { load: 1, memFree: 10, queue: 0 } }),
    ]
    fuzz(announce, hostileBytes(samples, MAX_ANNOUNCE_BYTES), (bytes) =>
      announce.check(bytes, () => decodeAnnounce(bytes), WireError),
    )
    const pull = new Tally('pull-request')
    const pulls = [encodePullRequest({ peer: peer() }), encodePullRequest({ peer: peer(), digest })]
    fuzz(pull, hostileBytes(pulls, MAX_PULL_REQUEST_BYTES), (bytes) =>
      pull.check(bytes, () => decodePullRequest(bytes), WireError),
    )
  })

  it('descriptor v2: summary, catalog page, v2 notice and catalog request', () => {
    const caps = Array.from({ length: 6 }, (_, i) => ({
      id: `plug${i}.switch`,
      title: `Plug ${i}`,
      description: 'turns the plug on and off',
      tags: ['plug'],
      kind: 'device' as const,
      risk: 'low' as const,
      input: { type: 'object', properties: { on: { type: 'boolean' } } },
      output: {},
    }))
    const own = signSummary(
      {
        peer: peer(),
        seq: 2,
        iat: NOW,
        ttl: 15_000,
        addrs: ['/ip4/127.0.0.1/tcp/4001'],
        state: { load: 0.4, memFree: 512, queue: 1 },
        attest: { tpm: false },
        caps,
      },
      me.sign,
    )
    const summary = new Tally('summary')
    fuzz(summary, hostileBytes([own.bytes], MAX_SUMMARY_BYTES), (bytes) =>
      summary.check(bytes, () => parseSummary(bytes), DescriptorError),
    )
    expect(summary.refused.size).toBeGreaterThan(0)
    // a flipped page is refused by its digest; junk under the right digest must still be refused cleanly
    const page = own.pages[0]!
    const pages = new Tally('catalog-page')
    fuzz(pages, hostileBytes([page.bytes], MAX_PAGE_BYTES), (bytes) =>
      pages.check(bytes, () => openPage(bytes, sha(bytes), peer()), PageError),
    )
    const digest = new Uint8Array(32).fill(9)
    const notice = new Tally('notice-v2')
    fuzz(
      notice,
      hostileBytes([encodeAnnounce({ peer: peer(), seq: 2, digest, at: NOW })], MAX_ANNOUNCE_BYTES),
      (b) => notice.check(b, () => decodeNoticeV2(b), WireError),
    )
    const request = new Tally('catalog-request')
    const requests = [
      encodeCatalogRequest({ peer: peer() }),
      encodeCatalogRequest({ pages: [digest, digest] }),
    ]
    fuzz(request, hostileBytes(requests, MAX_CATALOG_REQUEST_BYTES), (b) =>
      request.check(b, () => decodeCatalogRequest(b), WireError),
    )
  })

  it('task frames, signed requests and replies, and their length prefix', () => {
    const request = signRequest(
      { id: 't1', from: peer(), cap: 'echo', input: { x: [1, 'two'] }, deadline: NOW, evidence: 'none' },
      me.sign,
    )
    const samples = [
      encodeFrame(request),
      encodeFrame({ t: 'res', id: 't1', status: 'ok', output: { x: 1 }, receipt: new Uint8Array(40) }),
      encodeFrame({ t: 'res', id: 't1', status: 'error', error: { code: 'E', message: 'no' } }),
    ]
    const frames = new Tally('task-frame')
    fuzz(frames, hostileBytes(samples, MAX_FRAME_BYTES), (bytes) =>
      frames.check(bytes, () => decodeFrame(bytes, verify), FrameError),
    )
    // the prefix decoder signals "more bytes needed" with a RangeError by design; every other outcome is a
    // length a 3-byte varint can hold (lpStream's maxDataLength then refuses what is over MAX_FRAME_BYTES)
    // or a FrameError
    const prefix = new Tally('frame-length-prefix')
    fuzz(prefix, fc.uint8Array({ maxLength: 12 }), (bytes) =>
      prefix.check(
        bytes,
        () => {
          try {
            const n = decodeFrameLength({ byteLength: bytes.byteLength, get: (i) => bytes[i]! })
            if (!(n >= 0 && n < 2 ** (7 * MAX_LENGTH_BYTES))) throw new Error(`length ${n} out of bounds`)
          } catch (err) {
            if (err instanceof RangeError) return
            throw err
          }
        },
        FrameError,
      ),
    )
  })

  it('opinion', () => {
    const entries = [{ peer: peer(), value: 0.5 }]
    const samples = [
      signOpinion({ from: peer(), topic: [...TOPICS][0]!, seq: 1, at: NOW, entries }, me.sign),
      signOpinion(
        { from: peer(), topic: [...TOPICS][1]!, seq: 2, at: NOW, entries, caught: [peer()] },
        me.sign,
      ),
    ]
    const tally = new Tally('opinion')
    fuzz(tally, hostileBytes(samples, MAX_OPINION_BYTES), (bytes) =>
      tally.check(bytes, () => decodeOpinion(bytes, verify), OpinionError),
    )
  })

  it('receipt and evidence package, software and TPM', () => {
    const r = receipt()
    const receipts = new Tally('receipt')
    fuzz(receipts, hostileBytes([encodeReceipt(r)], 1024), (bytes) =>
      receipts.check(bytes, () => decodeReceipt(bytes), EvidenceError),
    )
    const values = tpmFile('ecc-quote.pcrs')
    const quote = {
      attest: tpmFile('ecc-quote.attest'),
      signature: tpmFile('ecc-quote.sig'),
      akName: tpmFile('ecc-ak.name'),
      pcrs: {
        alg: 'sha256' as const,
        selection: [0, 1, 2, 3, 4, 5, 6, 7],
        values: Array.from({ length: 8 }, (_, i) => values.slice(i * 32, (i + 1) * 32)),
      },
    }
    const sig = signReceipt(r, me.sign)
    const samples = [
      encodeEvidence({ receipt: r, sig, kind: 'software' }),
      encodeEvidence({ receipt: r, sig, kind: 'tpm', quote }),
    ]
    const evidence = new Tally('evidence')
    fuzz(evidence, hostileBytes(samples, 16 * 1024), (bytes) =>
      evidence.check(bytes, () => decodeEvidence(bytes), EvidenceError),
    )
  })

  it('TPM attest, signature and public-key structures', () => {
    class Refused extends Error {
      readonly reason: string
      constructor(reason: string) {
        super(reason)
        this.reason = reason.split(/[:(]/)[0]!.trim().slice(0, 60)
      }
    }
    const parsers = {
      'tpm-attest': [parseAttest, ['ecc-quote.attest', 'rsa-quote.attest']],
      'tpm-signature': [parseSignature, ['ecc-quote.sig', 'rsa-quote.sig']],
      'tpm-public': [parsePublic, ['ecc-ak.pub', 'rsa-ak.pub']],
    } as const
    for (const [name, [parse, files]] of Object.entries(parsers)) {
      const tally = new Tally(name)
      fuzz(tally, hostileBytes(files.map(tpmFile), 2048), (bytes) =>
        tally.check(
          bytes,
          () => {
            const result = (parse as (b: unknown) => { ok: boolean; reason?: string })(bytes)
            if (!result.ok) throw new Refused(result.reason ?? '')
          },
          Refused,
        ),
      )
    }
  })
})
