/**
 * Descriptor verifications per second on one core (discovery issue): every body a node pulls or is flooded
 * with goes through `DescriptorIntake.take` (parse, freshness checks, then the Ed25519 signature), so this
 * rate bounds how fast a node can take in changed descriptors, and the cheap paths bound what junk costs.
 *
 * The benchmark signs 64 distinct descriptors of one peer (seq 1…64; 5 script capabilities with JSON Schemas,
 * about 2.8 KB each) with an identity from `createIdentity`, then times each path below for a fixed time on
 * the main thread (one core), interleaved, so that a slow moment of the shared machine hits all alike:
 *
 *
 * - `decode-verify`: `decodeDescriptor(bytes, createVerifier())` over those descriptors in turn, so that no
 *   two consecutive calls see the same bytes (parse: size, cut of the signed body, msgpack, zod schema,
 *   sha256 digest; then the node:crypto Ed25519 signature over the body);
 * - `intake-new`: the node's real intake path for a descriptor not seen before (the same, plus the store's
 *   freshness checks, the verified-body cache and the store put), seq after seq, with a new store and intake
 *   every 64 calls so that none is a replay;
 * - `sig-node-crypto`: the signature check alone over the same bodies, so the ratio of the two is the cost
 *   of everything that is not the signature, measured in the same run;
 * - the cheap paths, none of which checks a signature: `intake-duplicate` (the held body again),
 *   `intake-stale` (an older seq), `intake-malformed` (bytes that are not a descriptor), `parse-only`;
 * - the parts of the parse alone, the previous full path (`decode-verify-before`: whole wire decoded, JSON
 *   Schemas copied by `z.record`, canonical re-encode check, digest over the wire bytes), and pure-JS
 *   @noble/ed25519 v3 (sha512 from node:crypto) for the signature.
 *
 * KITH_BENCH_VERIFY_MS sets the time per measurement (default 1000 ms).
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import * as ed from '@noble/ed25519'
import { Packr } from 'msgpackr'
import { z } from 'zod'
import { createIdentity } from '../../src/connectivity/identity.ts'
import {
  type Capability,
  capabilitySchema,
  DescriptorError,
  decodeDescriptor,
  descriptorSchema,
  parseDescriptor,
  type SignedDescriptor,
  signDescriptor,
} from '../../src/discovery/descriptor.ts'
import { DescriptorIntake } from '../../src/discovery/intake.ts'
import { DescriptorStore } from '../../src/discovery/store.ts'
import { createVerifier, ed25519KeyOf } from '../../src/discovery/verify.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'
import { canonicalEncode, sha256 } from '../../src/util/canonical.ts'

export const name = 'verify'
export const description =
  'Descriptor checks per second on one core, main thread, 1 s per measurement, interleaved, in one process. ' +
  '64 distinct signed descriptors of one peer (5 script capabilities, about 2.8 KB each) are taken in turn. ' +
  '`decode-verify` (the 8,000/s target): `decodeDescriptor(bytes, createVerifier())`, the full check of a ' +
  'descriptor not seen before (size, cut of the signed body, msgpack, zod schema, sha256 digest, Ed25519 ' +
  'signature by node:crypto over the body); `intake-new`: the node’s intake path for a new descriptor (the ' +
  'same plus store freshness checks, verified-body cache, store put; a fresh store every 64, so none is a ' +
  'replay); `sig-node-crypto`: the signature check alone over the same bodies, the bound for any full path on ' +
  'this CPU. Paths that check no signature: `intake-duplicate` (a held body again), `intake-stale` (an older ' +
  'seq), `intake-malformed` (not a descriptor), `parse-only` (everything but the signature). `part-*`: parts ' +
  'of the parse alone. `decode-verify-before`: the previous full path, for comparison (whole wire decoded, ' +
  'JSON Schemas copied by z.record, canonical re-encode check, digest of the wire bytes). `sig-noble`: pure-JS ' +
  '@noble/ed25519 v3 (sha512 from node:crypto).'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'decode-verify': { min: 8000 },
}

/**
 * Distinct descriptors taken in turn: enough that no call sees the bytes of the one before, few enough (about
 * 180 KB) to stay in the CPU caches as bytes just read from a socket would.
 */
const POOL = 64

/** Five capabilities as a household hub would list them: titles, prose, tags, small JSON Schemas. */
export function realisticCapabilities(count = 5): Capability[] {
  const topics = ['light', 'thermostat', 'camera', 'speaker', 'garden', 'garage', 'washer', 'blinds']
  return Array.from({ length: count }, (_, i) => {
    const topic = topics[i % topics.length] as string
    return {
      id: `${topic}.control-${i}`,
      title: `${topic[0]?.toUpperCase()}${topic.slice(1)} control ${i}`,
      description:
        `Reads and sets the ${topic} in the living room and hallway; answers with the state it ended in. ` +
        'Refuses values outside the safe range and reports why.',
      tags: [topic, 'home', 'control', `room-${i}`],
      kind: 'script',
      risk: i % 3 === 0 ? 'low' : i % 3 === 1 ? 'medium' : 'high',
      input: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['get', 'set', 'toggle'] },
          value: { type: 'number', minimum: 0, maximum: 100 },
          room: { type: 'string' },
        },
        required: ['action'],
      },
      output: {
        type: 'object',
        properties: { state: { type: 'number' }, changed: { type: 'boolean' } },
      },
      deterministic: i % 2 === 0,
    }
  })
}

/** Calls `fn(i)` with i = 0, 1, 2, … for `ms` milliseconds (checking the clock every `batch` calls); returns calls per second. */
function rate(ms: number, fn: (i: number) => unknown, batch = 64): number {
  let calls = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn(calls + i)
    calls += batch
    now = performance.now()
  }
  return (calls * 1000) / (now - start)
}

const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

/** The previous schema: JSON Schemas as `z.record`, which copies each one on every decode. */
const schemaBefore = descriptorSchema.extend({
  caps: z
    .array(
      capabilitySchema.extend({
        input: z.record(z.string().max(64), z.unknown()),
        output: z.record(z.string().max(64), z.unknown()),
      }),
    )
    .max(64),
})

/**
 * The previous `decodeDescriptor`, for comparison: decode the whole wire, schema, re-encode it to check
 * canonical form, cut the body out, verify, digest over the wire bytes.
 */
function decodeBefore(bytes: Uint8Array, verify: ReturnType<typeof createVerifier>): SignedDescriptor {
  const descriptor = schemaBefore.parse(packr.unpack(bytes))
  if (!Buffer.from(canonicalEncode(descriptor)).equals(bytes)) throw new Error('not in canonical form')
  const { sig, ...unsigned } = descriptor
  const field = Buffer.concat([Buffer.from([0xa3, 0x73, 0x69, 0x67, 0xc4, 0x40]), sig])
  const at = Buffer.from(bytes).lastIndexOf(field)
  const body = new Uint8Array(bytes.byteLength - field.byteLength)
  body[0] = 0x89
  body.set(bytes.subarray(1, at), 1)
  body.set(bytes.subarray(at + field.byteLength), at)
  if (!verify(unsigned.peer, body, sig)) throw new Error('bad signature')
  return { descriptor, bytes, digest: sha256(bytes) }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const windowMs = ctx.envInt('KITH_BENCH_VERIFY_MS', 1000)
  ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest())

  const identity = await createIdentity(join(ctx.tmpDir, 'identity.key'))
  const peer = identity.peerId.toString()
  const iat = Date.now()
  const pool: SignedDescriptor[] = []
  for (let seq = 1; seq <= POOL; seq++) {
    pool.push(
      signDescriptor(
        {
          v: 1,
          peer,
          seq,
          iat,
          // a day, so that no descriptor expires while the benchmark runs
          ttl: 24 * 3600_000,
          addrs: ['/ip4/192.168.1.20/tcp/7701', '/ip4/127.0.0.1/tcp/7701'],
          state: { load: 0.18, memFree: 412_000_000 + seq, queue: 0, thermal: 47.5 },
          caps: realisticCapabilities(5),
          attest: { tpm: false },
        },
        identity.sign,
      ),
    )
  }
  const at = (i: number) => pool[i % POOL] as SignedDescriptor
  const parsedPool = pool.map((s) => parseDescriptor(s.bytes))
  const first = parsedPool[0]
  if (first == null) throw new Error('no descriptors')
  const publicKey = ed25519KeyOf(peer)
  if (publicKey == null) throw new Error('the identity is not Ed25519')
  const verifier = createVerifier()
  const decoded = packr.unpack(first.body)
  const junk = at(0).bytes.slice(0, 600)

  /** A store and an intake over it that no verification budget limits. */
  const intakeOver = () => {
    const store = new DescriptorStore()
    const intake = new DescriptorIntake(
      { store, verify: verifier, self: 'bench' },
      { verifyRatePerSec: 1e12, verifyBurst: 1e12 },
    )
    return { store, intake }
  }
  const held = intakeOver()
  held.intake.take(at(POOL / 2).bytes, 'source')
  const expectIgnored = (i: number) => {
    const outcome = held.intake.take(at(i % (POOL / 2)).bytes, 'source')
    if (outcome.result !== 'ignored') throw new Error(`expected a stale seq, got ${outcome.result}`)
  }
  const expectMalformed = () => {
    try {
      held.intake.take(junk, 'source')
    } catch (err) {
      if (err instanceof DescriptorError) return
      throw err
    }
    throw new Error('junk accepted')
  }

  // every path must behave as meant before it is timed
  decodeDescriptor(at(1).bytes, verifier)
  decodeBefore(at(1).bytes, verifier)
  expectIgnored(1)
  expectMalformed()
  if (!ed.verify(first.unverified.sig, first.body, publicKey)) throw new Error('@noble/ed25519 rejects it')
  ctx.log(
    `descriptors: ${POOL}, ${at(0).bytes.byteLength} bytes each, ${at(0).descriptor.caps.length} capabilities`,
  )

  const parts: [string, (ms: number) => number][] = [
    ['decode-verify', (ms) => rate(ms, (i) => decodeDescriptor(at(i).bytes, verifier))],
    [
      'intake-new',
      (ms) => {
        // seq after seq, with a fresh store and intake every POOL calls: every call is a descriptor not seen
        let { intake } = intakeOver()
        return rate(ms, (i) => {
          if (i % POOL === 0) ({ intake } = intakeOver())
          return intake.take(at(i).bytes, 'source')
        })
      },
    ],
    [
      'sig-node-crypto',
      (ms) =>
        rate(ms, (i) => {
          const p = parsedPool[i % POOL] as (typeof parsedPool)[number]
          return verifier(peer, p.body, p.unverified.sig)
        }),
    ],
    ['intake-duplicate', (ms) => rate(ms, () => held.intake.take(at(POOL / 2).bytes, 'source'))],
    ['intake-stale', (ms) => rate(ms, expectIgnored)],
    ['intake-malformed', (ms) => rate(ms, expectMalformed)],
    ['parse-only', (ms) => rate(ms, (i) => parseDescriptor(at(i).bytes))],
    ['part-msgpack-unpack', (ms) => rate(ms, () => packr.unpack(first.body))],
    [
      'part-zod-parse',
      (ms) => rate(ms, () => descriptorSchema.parse({ ...decoded, sig: first.unverified.sig })),
    ],
    ['part-sha256', (ms) => rate(ms, () => sha256(first.body))],
    ['decode-verify-before', (ms) => rate(ms, (i) => decodeBefore(at(i).bytes, verifier))],
    [
      'sig-noble',
      (ms) =>
        rate(
          ms,
          (i) => {
            const p = parsedPool[i % POOL] as (typeof parsedPool)[number]
            return ed.verify(p.unverified.sig, p.body, publicKey)
          },
          4,
        ),
    ],
  ]
  const samples = new Map<string, number[]>(parts.map(([metric]) => [metric, []]))
  // warm up: let V8 optimise each path
  for (const [, measure] of parts) measure(Math.min(windowMs, 300))

  for (let i = 1; i <= ctx.runs; i++) {
    // interleaved, so a slow moment of the shared machine hits every metric alike
    for (const [metric, measure] of parts) samples.get(metric)?.push(measure(windowMs))
    ctx.log(
      `run ${i}/${ctx.runs}: ${parts
        .map(([metric]) => `${metric} ${Math.round(samples.get(metric)?.at(-1) ?? 0)}/s`)
        .join(', ')}`,
    )
  }

  const results: MetricSamples[] = parts.map(([metric]) => ({
    metric,
    unit: 'ops/s',
    samples: samples.get(metric) ?? [],
  }))
  return {
    results,
    comparisons: [
      {
        name: 'signature alone vs the full check of a new descriptor (1 = nothing but the signature costs)',
        numerator: 'sig-node-crypto',
        denominator: 'decode-verify',
      },
      {
        name: 'signature alone vs the node’s intake of a new descriptor',
        numerator: 'sig-node-crypto',
        denominator: 'intake-new',
      },
      {
        name: 'full check now vs the previous path',
        numerator: 'decode-verify',
        denominator: 'decode-verify-before',
      },
      {
        name: 'a replayed (held) body vs a new one: what the checks before the signature save',
        numerator: 'intake-duplicate',
        denominator: 'intake-new',
      },
      {
        name: 'a stale seq vs a new descriptor',
        numerator: 'intake-stale',
        denominator: 'intake-new',
      },
      {
        name: 'signature alone: node:crypto vs @noble/ed25519',
        numerator: 'sig-node-crypto',
        denominator: 'sig-noble',
      },
    ],
  }
}
