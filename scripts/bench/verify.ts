/**
 * Descriptor verifications per second on one core (discovery issue): every gossiped or pulled descriptor
 * goes through `decodeDescriptor` (size, msgpack, zod schema, canonical re-encode, Ed25519 signature,
 * sha256 digest), so this rate bounds how fast a node can take in announcements and how much an attacker
 * who floods it with bodies can cost it.
 *
 * One realistic descriptor (5 script capabilities with JSON Schemas, about 2 KB) is signed with an identity
 * made by `createIdentity`; each run then calls `decodeDescriptor(bytes, createVerifier())` in a tight loop
 * for a fixed time on the main thread (one core). The same run times the parts of that path on their own,
 * so the table shows what dominates, and the signature check alone with node:crypto (the verifier kith
 * uses) against pure-JS @noble/ed25519 v3 (its sha512 set to node:crypto's).
 *
 * KITH_BENCH_VERIFY_MS sets the time per measurement (default 1000 ms).
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { join } from 'node:path'
import * as ed from '@noble/ed25519'
import { Packr } from 'msgpackr'
import { createIdentity } from '../../src/connectivity/identity.ts'
import {
  type Capability,
  canonicalEncode,
  decodeDescriptor,
  descriptorSchema,
  type SignedDescriptor,
  sha256,
  signDescriptor,
} from '../../src/discovery/descriptor.ts'
import { createVerifier, ed25519KeyOf } from '../../src/discovery/verify.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'

export const name = 'verify'
export const description =
  'Descriptor checks per second on one core: `decodeDescriptor(bytes, createVerifier())` on one signed ' +
  'descriptor with 5 script capabilities, about 2.8 KB (full path: msgpack decode, zod schema, ' +
  'canonical re-encode, Ed25519 signature by node:crypto, sha256 digest) in a tight loop on the main ' +
  'thread; the same path as it was before it encoded once instead of twice; the parts of the path timed ' +
  'alone; and the signature check alone with node:crypto against pure-JS @noble/ed25519 v3 (sha512 from ' +
  'node:crypto). Interleaved, 1 s each, in one process.'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'decode-verify': { min: 8000 },
}

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

/** Calls `fn` for `ms` milliseconds (checking the clock every `batch` calls); returns calls per second. */
function rate(ms: number, fn: () => unknown, batch = 64): number {
  let calls = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn()
    calls += batch
    now = performance.now()
  }
  return (calls * 1000) / (now - start)
}

const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

/**
 * `decodeDescriptor` as it was before it reused the decoded value and cut the signed body out of the wire
 * bytes: it re-encoded the whole descriptor (sorting a copy) for the canonical check, then encoded the
 * body again for the signature. Kept here as the baseline of that change.
 */
function decodeTwoEncodes(bytes: Uint8Array, verify: ReturnType<typeof createVerifier>): SignedDescriptor {
  const descriptor = descriptorSchema.parse(packr.unpack(bytes))
  if (!Buffer.from(canonicalEncode(descriptor)).equals(bytes)) throw new Error('not in canonical form')
  const { sig, ...unsigned } = descriptor
  if (!verify(descriptor.peer, canonicalEncode(unsigned), sig)) throw new Error('bad signature')
  return { descriptor, bytes, digest: sha256(bytes) }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const ms = ctx.envInt('KITH_BENCH_VERIFY_MS', 1000)
  ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest())

  const identity = await createIdentity(join(ctx.tmpDir, 'identity.key'))
  const peer = identity.peerId.toString()
  const signed: SignedDescriptor = signDescriptor(
    {
      v: 1,
      peer,
      seq: 42,
      iat: Date.now(),
      ttl: 15_000,
      addrs: ['/ip4/192.168.1.20/tcp/7701', '/ip4/127.0.0.1/tcp/7701'],
      state: { load: 0.18, memFree: 412_000_000, queue: 0, thermal: 47.5 },
      caps: realisticCapabilities(5),
      attest: { tpm: false },
    },
    identity.sign,
  )
  const { bytes } = signed
  const { sig, ...unsigned } = signed.descriptor
  const body = canonicalEncode(unsigned)
  const publicKey = ed25519KeyOf(peer)
  if (publicKey == null) throw new Error('the identity is not Ed25519')
  const verifier = createVerifier()
  const publicKeyObject = createPublicKey(identity.keyObject)
  const decoded = packr.unpack(bytes)
  const parsed = descriptorSchema.parse(decoded)

  // every path must accept before it is timed
  decodeDescriptor(bytes, verifier)
  if (!ed.verify(sig, body, publicKey)) throw new Error('@noble/ed25519 rejects the signature')
  if (!cryptoVerify(null, body, publicKeyObject, sig)) throw new Error('node:crypto rejects the signature')
  ctx.log(`descriptor: ${bytes.byteLength} bytes, ${signed.descriptor.caps.length} capabilities`)

  const parts: [string, () => unknown][] = [
    ['decode-verify', () => decodeDescriptor(bytes, verifier)],
    ['decode-verify-two-encodes', () => decodeTwoEncodes(bytes, verifier)],
    ['part-msgpack-unpack', () => packr.unpack(bytes)],
    ['part-zod-parse', () => descriptorSchema.parse(decoded)],
    ['part-canonical-encode', () => canonicalEncode(parsed)],
    ['part-sha256', () => sha256(bytes)],
    ['sig-node-crypto', () => verifier(peer, body, sig)],
    ['sig-noble', () => ed.verify(sig, body, publicKey)],
  ]
  const samples = new Map<string, number[]>(parts.map(([metric]) => [metric, []]))
  for (const [, fn] of parts) rate(Math.min(ms, 300), fn) // warm up: let V8 optimise each path

  for (let i = 1; i <= ctx.runs; i++) {
    // interleaved, so a slow moment of the shared machine hits every metric alike
    for (const [metric, fn] of parts) samples.get(metric)?.push(rate(ms, fn, metric === 'sig-noble' ? 4 : 64))
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
        name: 'decodeDescriptor now vs before (one encode, body cut from the wire bytes)',
        numerator: 'decode-verify',
        denominator: 'decode-verify-two-encodes',
      },
      {
        name: 'signature alone: node:crypto vs @noble/ed25519',
        numerator: 'sig-node-crypto',
        denominator: 'sig-noble',
      },
      {
        name: 'signature alone vs the full decode path',
        numerator: 'sig-node-crypto',
        denominator: 'decode-verify',
      },
      {
        name: 'zod parse alone vs the full decode path',
        numerator: 'part-zod-parse',
        denominator: 'decode-verify',
      },
      {
        name: 'canonical encode alone vs the full decode path (which encodes once)',
        numerator: 'part-canonical-encode',
        denominator: 'decode-verify',
      },
    ],
  }
}
