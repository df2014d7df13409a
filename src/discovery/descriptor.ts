/**
 * The capability descriptor (DESIGN.md, "Descriptor"): what a node can do right now, signed by its own key.
 *
 * Wire form: a msgpack map of every field, `sig` included. `sig` = Ed25519 over the encoding of every other
 * field (the body); `digest` = sha256 of the body. A signer writes both canonically (keys sorted at every
 * level, msgpackr's minimal headers), so an honest descriptor has one encoding.
 *
 * A receiver cuts the body out of the wire bytes (the wire minus its `sig` field), checks the signature over
 * exactly those bytes, and decodes the fields from those same bytes. It does not re-encode to check canonical
 * form, because that adds nothing to safety: the fields a receiver uses are always bytes the owner signed,
 * and the digest is taken over them, so a relay that moves `sig` elsewhere in the wire changes neither; only
 * the owner can sign a second encoding, and two bodies of one seq are refused as equivocation by digest.
 */
import { z } from 'zod'
import { canonicalEncode, sha256 } from '../util/canonical.ts'
import type { CatalogInfo } from './summary.ts'
import { decodeChecked } from '../util/bounded-decode.ts'
import { KithError } from '../util/errors.ts'

export const DESCRIPTOR_VERSION = 1
/** Largest descriptor accepted or produced, encoded. */
export const MAX_DESCRIPTOR_BYTES = 16 * 1024
/** Most capabilities one v1 descriptor carries. */
export const MAX_DESCRIPTOR_CAPS = 64

const text = (max: number) => z.string().max(max)
const bytes = (min: number, max: number) =>
  z.custom<Uint8Array>(
    (v) => v instanceof Uint8Array && v.byteLength >= min && v.byteLength <= max,
    `expected ${min}-${max} bytes`,
  )

/**
 * A JSON Schema is carried as an opaque object: checked for shape here (a map whose keys are at most 64
 * characters), not walked, because a receiver only stores it and the matcher reads it. `z.record` would copy
 * every schema on every decode, which was a third of the cost of validating a descriptor.
 */
function isSchemaObject(v: unknown): v is Record<string, unknown> {
  if (v == null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false
  for (const key in v) if (key.length > 64) return false
  return true
}
const jsonSchema = z.custom<Record<string, unknown>>(isSchemaObject, 'expected a JSON Schema object')

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
  caps: z.array(capabilitySchema).max(MAX_DESCRIPTOR_CAPS),
  attest: z.strictObject({ tpm: z.boolean(), akPub: bytes(1, 1024).optional() }),
})

export const descriptorSchema = unsignedSchema.extend({ sig: bytes(64, 64) })

export type Capability = z.output<typeof capabilitySchema>
export type NodeState = z.output<typeof stateSchema>
export type UnsignedDescriptor = z.output<typeof unsignedSchema>
/**
 * A descriptor as the store and every consumer see it: a v1 descriptor as signed, or a v2 summary with the
 * capabilities of its catalog pages put back in `caps` and the summary's `catalog` beside them (summary.ts).
 */
export type Descriptor = Omit<z.output<typeof descriptorSchema>, 'v'> & {
  v: 1 | 2
  catalog?: CatalogInfo
}

/** Why a descriptor was refused; each reason has its own counter. */
export type RejectReason = 'oversize' | 'malformed' | 'bad_signature' | 'stale_seq' | 'expired' | 'clock_skew'

/** A descriptor that cannot be used (a peer's, or ours grown too large); `reason` says why. */
export class DescriptorError extends KithError {
  static override readonly code = 'bad_descriptor'
  static override readonly status = 502
  readonly reason: RejectReason
  constructor(reason: RejectReason, message: string) {
    super(message)
    this.name = 'DescriptorError'
    this.reason = reason
  }
}

/** `sig` as msgpack writes the field: fixstr "sig", then bin8 of 64 bytes. */
const SIG_FIELD = [0xa3, 0x73, 0x69, 0x67, 0xc4, 0x40] as const
const SIG_FIELD_BYTES = SIG_FIELD.length + 64

/**
 * Where the last `sig` field with 64 bytes after it starts, or -1. A plain scan from the end: on canonical
 * bytes the field is within the last hundred or so, which this finds several times faster than
 * `Buffer.lastIndexOf`.
 */
function lastSigField(wire: Uint8Array): number {
  for (let i = wire.byteLength - SIG_FIELD_BYTES; i >= 0; i--) {
    if (
      wire[i] === SIG_FIELD[0] &&
      wire[i + 1] === SIG_FIELD[1] &&
      wire[i + 2] === SIG_FIELD[2] &&
      wire[i + 3] === SIG_FIELD[3] &&
      wire[i + 4] === SIG_FIELD[4] &&
      wire[i + 5] === SIG_FIELD[5]
    )
      return i
  }
  return -1
}
/** The header of a msgpack map: how many fields it has and how many bytes the header takes, or undefined. */
function mapHeader(wire: Uint8Array): { fields: number; size: number } | undefined {
  const first = wire[0]
  if (first == null) return undefined
  if (first >= 0x80 && first <= 0x8f) return { fields: first & 0x0f, size: 1 }
  const view = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength)
  if (first === 0xde && wire.byteLength >= 3) return { fields: view.readUInt16BE(1), size: 3 }
  if (first === 0xdf && wire.byteLength >= 5) return { fields: view.readUInt32BE(1), size: 5 }
  return undefined
}

/** The header msgpackr writes for a map of `fields` fields (the smallest form that holds the count). */
function encodeMapHeader(fields: number): Uint8Array {
  if (fields < 16) return Uint8Array.of(0x80 | fields)
  if (fields < 0x10000) return Uint8Array.of(0xde, fields >> 8, fields & 0xff)
  const out = Buffer.alloc(5)
  out[0] = 0xdf
  out.writeUInt32BE(fields, 1)
  return out
}

/**
 * Splits wire bytes into the signed body and the signature: the last `sig` field is cut out and the map
 * header is made one field shorter, whatever the number of fields (so a later wire version may add fields
 * and an older receiver still cuts it). Canonical order puts `sig` after every field whose name sorts before
 * it; on honest bytes the last such field is the field. On other bytes the cut is still deterministic, and
 * the signature check then decides: only the owner's body verifies.
 *
 * @example
 * const cut = splitSigned(wire) // { body, sig } or undefined when there is no map with a 64-byte sig
 */
export function splitSigned(wire: Uint8Array): { body: Uint8Array; sig: Uint8Array } | undefined {
  const header = mapHeader(wire)
  if (header == null || header.fields < 1) return undefined
  const at = lastSigField(wire)
  if (at < header.size) return undefined
  const bodyHeader = encodeMapHeader(header.fields - 1)
  const rest = wire.byteLength - SIG_FIELD_BYTES - header.size
  // every byte is written below, so the zero-fill of a safe allocation would be wasted
  const body = Buffer.allocUnsafe(bodyHeader.byteLength + rest)
  body.set(bodyHeader, 0)
  body.set(wire.subarray(header.size, at), bodyHeader.byteLength)
  body.set(wire.subarray(at + SIG_FIELD_BYTES), bodyHeader.byteLength + at - header.size)
  return { body, sig: wire.slice(at + SIG_FIELD.length, at + SIG_FIELD_BYTES) }
}

export interface SignedDescriptor {
  descriptor: Descriptor
  /** the wire bytes, as signed and served to peers */
  bytes: Uint8Array
  /** sha256 of the signed body */
  digest: Uint8Array
}

/** Wire bytes decoded and schema-checked, whose signature has NOT been checked yet. */
export interface ParsedDescriptor {
  unverified: Descriptor
  bytes: Uint8Array
  /** the signed body cut from `bytes`: what `sig` must verify over */
  body: Uint8Array
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
  const fields = unsignedSchema.parse(unsigned)
  const body = canonicalEncode(fields)
  const sig = sign(body)
  const descriptor: Descriptor = { ...fields, sig }
  const bytes = canonicalEncode(descriptor)
  if (bytes.byteLength > MAX_DESCRIPTOR_BYTES) {
    throw new DescriptorError(
      'oversize',
      `descriptor is ${bytes.byteLength} bytes; the limit is ${MAX_DESCRIPTOR_BYTES}`,
    )
  }
  // a receiver finds the body by cutting the last `sig` field; make sure that cut gives back what was signed
  const cut = splitSigned(bytes)
  if (cut == null || !Buffer.from(cut.body).equals(body)) {
    throw new DescriptorError('malformed', 'this descriptor would not split back into its signed body')
  }
  return { descriptor, bytes, digest: sha256(body) }
}

/** Checks the signature of a decoded descriptor: `verify(publicKeyOwner, data, sig)`. */
export type SignatureVerifier = (peer: string, data: Uint8Array, sig: Uint8Array) => boolean

function oversize(bytes: Uint8Array): never {
  throw new DescriptorError(
    'oversize',
    `descriptor is ${bytes.byteLength} bytes; the limit is ${MAX_DESCRIPTOR_BYTES}`,
  )
}

/**
 * Everything before the signature, which is most of what junk costs: size, cut, msgpack, schema, digest.
 * Throws {@link DescriptorError} (`oversize` or `malformed`). The result is not to be trusted until
 * {@link checkSignature} has passed it.
 *
 * @example
 * const parsed = parseDescriptor(bytes)
 * if (store.has(parsed.unverified.peer, parsed.unverified.seq)) return // stale: no signature to check
 * const signed = checkSignature(parsed, verify)
 */
export function parseDescriptor(bytes: Uint8Array): ParsedDescriptor {
  if (bytes.byteLength > MAX_DESCRIPTOR_BYTES) oversize(bytes)
  const cut = splitSigned(bytes)
  if (cut == null) throw new DescriptorError('malformed', 'not a descriptor map with a 64-byte sig field')
  // the body is shorter than the bytes already checked: what can fail here is msgpack and the schema
  const fields = decodeChecked(cut.body, unsignedSchema, {
    what: 'descriptor',
    maxBytes: MAX_DESCRIPTOR_BYTES,
    fail: (reason, message) => new DescriptorError(reason, message),
  })
  return {
    unverified: { ...fields, sig: cut.sig },
    bytes,
    body: cut.body,
    digest: sha256(cut.body),
  }
}

/** Checks `parsed`'s signature by the key its peer id names; throws `bad_signature`. */
export function checkSignature(parsed: ParsedDescriptor, verify: SignatureVerifier): SignedDescriptor {
  const { unverified: descriptor } = parsed
  if (!verify(descriptor.peer, parsed.body, descriptor.sig)) {
    throw new DescriptorError('bad_signature', `signature does not match the key of ${descriptor.peer}`)
  }
  return { descriptor, bytes: parsed.bytes, digest: parsed.digest }
}

/**
 * Decodes and verifies wire bytes: {@link parseDescriptor}, then {@link checkSignature}. Freshness (seq,
 * expiry, skew) is the store's business. Throws {@link DescriptorError}.
 *
 * @example
 * const { descriptor, digest } = decodeDescriptor(bytes, createVerifier())
 */
export function decodeDescriptor(bytes: Uint8Array, verify: SignatureVerifier): SignedDescriptor {
  return checkSignature(parseDescriptor(bytes), verify)
}
