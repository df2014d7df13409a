/**
 * The capability descriptor (DESIGN.md, "Descriptor"): what a node can do right now, signed by its own key.
 *
 * Wire form: the canonical msgpack encoding of every field, `sig` included. Canonical means keys sorted at
 * every level and msgpackr's minimal headers, so signer and verifier agree byte for byte; a received
 * descriptor whose bytes are not canonical is rejected (no two encodings of one descriptor).
 * `sig` = Ed25519 over the canonical encoding of every other field; `digest` = sha256 of the wire bytes.
 */
import { createHash } from 'node:crypto'
import { Packr } from 'msgpackr'
import { z } from 'zod'

export const DESCRIPTOR_VERSION = 1
/** Largest descriptor accepted or produced, encoded. */
export const MAX_DESCRIPTOR_BYTES = 16 * 1024

const text = (max: number) => z.string().max(max)
const jsonSchema = z.record(z.string().max(64), z.unknown())
const bytes = (min: number, max: number) =>
  z.custom<Uint8Array>(
    (v) => v instanceof Uint8Array && v.byteLength >= min && v.byteLength <= max,
    `expected ${min}-${max} bytes`,
  )

export const capabilitySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  title: text(120).min(1),
  description: text(2000),
  tags: z.array(text(40).min(1)).max(32),
  kind: z.enum(['script', 'device', 'sensor']),
  risk: z.enum(['low', 'medium', 'high']),
  input: jsonSchema,
  output: jsonSchema,
  deterministic: z.boolean().optional(),
})

export const stateSchema = z.strictObject({
  /** percent 0-100; absent on mains power */
  battery: z.number().min(0).max(100).optional(),
  charging: z.boolean().optional(),
  /** 1-minute load average divided by the core count */
  load: z.number().min(0).max(1000),
  /** bytes */
  memFree: z.number().int().min(0),
  /** CPU temperature in °C, where the machine reports one */
  thermal: z.number().min(-50).max(200).optional(),
  /** tasks waiting or running */
  queue: z.number().int().min(0),
})

const unsignedSchema = z.strictObject({
  v: z.literal(DESCRIPTOR_VERSION),
  peer: text(128).min(1),
  seq: z.number().int().min(0),
  iat: z.number().int().min(0),
  ttl: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600_000),
  addrs: z.array(text(256)).max(16),
  state: stateSchema,
  caps: z.array(capabilitySchema).max(64),
  attest: z.strictObject({ tpm: z.boolean(), akPub: bytes(1, 1024).optional() }),
})

export const descriptorSchema = unsignedSchema.extend({ sig: bytes(64, 64) })

export type Capability = z.output<typeof capabilitySchema>
export type NodeState = z.output<typeof stateSchema>
export type UnsignedDescriptor = z.output<typeof unsignedSchema>
export type Descriptor = z.output<typeof descriptorSchema>

/** Why a descriptor was refused; each reason has its own counter. */
export type RejectReason = 'oversize' | 'malformed' | 'bad_signature' | 'stale_seq' | 'expired' | 'clock_skew'

export class DescriptorError extends Error {
  readonly reason: RejectReason
  constructor(reason: RejectReason, message: string) {
    super(message)
    this.name = 'DescriptorError'
    this.reason = reason
  }
}

const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value == null || typeof value !== 'object' || value instanceof Uint8Array) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}

/**
 * True when `value`, as msgpackr decoded it, would encode to itself canonically: every map's keys already in
 * sorted order, no undefined field, no non-plain object. Then packing it as is equals
 * `canonicalEncode(value)` without the copy that sorting makes; when false, the caller takes the slow path.
 */
function alreadyCanonical(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(alreadyCanonical)
  if (value == null || typeof value !== 'object' || value instanceof Uint8Array) return true
  if (Object.getPrototypeOf(value) !== Object.prototype) return false
  let previous: string | undefined
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || (previous !== undefined && previous >= key) || !alreadyCanonical(v)) return false
    previous = key
  }
  return true
}

/** `sig` as canonical msgpack writes the field: fixstr "sig", then bin8 of 64 bytes. */
const SIG_FIELD = Uint8Array.of(0xa3, 0x73, 0x69, 0x67, 0xc4, 0x40)

/**
 * The signed body (the canonical encoding without `sig`) cut out of canonical wire bytes, which saves a
 * second encode per verification. The wire form is a fixmap of the 10 fields; `sig` sorts after `seq`, and
 * only `state`, `ttl` and `v` (numbers and booleans, no binary) follow it, so the last occurrence of the
 * field with this very signature is the field. Undefined when the bytes are not of that shape.
 */
function bodyOf(bytes: Uint8Array, sig: Uint8Array): Uint8Array | undefined {
  if (bytes[0] !== 0x8a) return undefined
  const field = Buffer.concat([SIG_FIELD, sig])
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf(field)
  if (at < 1) return undefined
  const body = new Uint8Array(bytes.byteLength - field.byteLength)
  body[0] = 0x89
  body.set(bytes.subarray(1, at), 1)
  body.set(bytes.subarray(at + field.byteLength), at)
  return body
}

/** The canonical msgpack encoding of any JSON-like value (keys sorted, undefined fields dropped). */
export function canonicalEncode(value: unknown): Uint8Array {
  return packr.pack(sortKeys(value))
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

export interface SignedDescriptor {
  descriptor: Descriptor
  bytes: Uint8Array
  digest: Uint8Array
}

/**
 * Signs `unsigned` with `sign` (the node's Ed25519 key) and returns the wire bytes and digest.
 *
 * @example
 * const { bytes, digest } = signDescriptor(unsigned, identity.sign)
 */
export function signDescriptor(
  unsigned: UnsignedDescriptor,
  sign: (data: Uint8Array) => Uint8Array,
): SignedDescriptor {
  const body = unsignedSchema.parse(unsigned)
  const sig = sign(canonicalEncode(body))
  const descriptor: Descriptor = { ...body, sig }
  const bytes = canonicalEncode(descriptor)
  if (bytes.byteLength > MAX_DESCRIPTOR_BYTES) {
    throw new DescriptorError(
      'oversize',
      `descriptor is ${bytes.byteLength} bytes; the limit is ${MAX_DESCRIPTOR_BYTES}`,
    )
  }
  return { descriptor, bytes, digest: sha256(bytes) }
}

/** Checks the signature of a decoded descriptor: `verify(publicKeyOwner, data, sig)`. */
export type SignatureVerifier = (peer: string, data: Uint8Array, sig: Uint8Array) => boolean

/**
 * Decodes and verifies wire bytes: size, msgpack, schema, canonical form, then the signature by the key the
 * peer id names. Freshness (seq, expiry, skew) is the store's business. Throws {@link DescriptorError}.
 */
export function decodeDescriptor(bytes: Uint8Array, verify: SignatureVerifier): SignedDescriptor {
  if (bytes.byteLength > MAX_DESCRIPTOR_BYTES) {
    throw new DescriptorError(
      'oversize',
      `descriptor is ${bytes.byteLength} bytes; the limit is ${MAX_DESCRIPTOR_BYTES}`,
    )
  }
  let raw: unknown
  try {
    raw = packr.unpack(bytes)
  } catch (err) {
    throw new DescriptorError('malformed', `not msgpack: ${(err as Error).message}`)
  }
  const parsed = descriptorSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new DescriptorError('malformed', `${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  const descriptor = parsed.data
  // zod's output holds the same values as `raw`, so `raw` may stand in for it when already in order
  const canonical = alreadyCanonical(raw) ? packr.pack(raw) : canonicalEncode(descriptor)
  if (!Buffer.from(canonical).equals(bytes)) {
    throw new DescriptorError('malformed', 'not in canonical form')
  }
  const { sig, ...unsigned } = descriptor
  const body = bodyOf(bytes, sig) ?? canonicalEncode(unsigned)
  if (!verify(descriptor.peer, body, sig)) {
    throw new DescriptorError('bad_signature', `signature does not match the key of ${descriptor.peer}`)
  }
  return { descriptor, bytes, digest: sha256(bytes) }
}
