/**
 * The signed release manifest: what a fleet owner publishes and every node checks before it applies anything.
 * It names the fleet file, per node the digest of its rendered config and of its scripts, the binaries by
 * target and the wave plan. The owner signs the canonical encoding, so the signature covers exact bytes and a
 * node that decodes, checks the shape and verifies the owner knows the manifest came whole from its owner.
 * Publishing, carrying and applying releases come later (issue 24); this is the part they all share.
 */
import { z } from 'zod'
import { isPeerId } from '../config/schema.ts'
import { decodeBounded } from '../util/bounded-decode.ts'
import { canonicalEncode } from '../util/canonical.ts'
import { KithError } from '../util/errors.ts'
import { signAsOwner, verifyOwner } from './owner.ts'
import type { OwnerKey } from './owner.ts'

/** The largest encoded manifest a node decodes: 1,024 nodes with a few scripts each fit well below it. */
export const MAX_RELEASE_BYTES = 256 * 1024
/** The most nodes one release names. */
export const MAX_RELEASE_NODES = 1024
/** The manifest format this module writes and reads. */
export const RELEASE_VERSION = 1

/** Why a release is refused; each is counted under its own name. */
export type ReleaseRejectReason =
  'too_large' | 'malformed' | 'bad_signature' | 'wrong_owner' | 'unknown_version' | 'stale' | 'bad_waves'

/** A release that kith refuses; `reason` says why and is what the refusal is counted under. */
export class ReleaseError extends KithError {
  static override readonly code = 'bad_release'
  static override readonly status = 400
  readonly reason: ReleaseRejectReason

  constructor(reason: ReleaseRejectReason, message: string, hint?: string) {
    super(message, hint === undefined ? {} : { hint })
    this.name = 'ReleaseError'
    this.reason = reason
  }
}

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase SHA-256 hex digest')
const peerIdSchema = z.string().max(128).refine(isPeerId, 'not a valid libp2p peer id')
const timeMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** One wave's cumulative size: a count of nodes, or a percentage of the fleet ("25%"). */
export const waveSizeSchema = z.union([
  z.number().int().min(1).max(MAX_RELEASE_NODES),
  z.string().regex(/^(100|[1-9][0-9]?)%$/, 'expected a percentage from 1% to 100%'),
])
export type WaveSize = z.infer<typeof waveSizeSchema>

/** Cumulative sizes of one kind must grow; counts against percentages are compared once the fleet is known. */
export function wavesProblem(waves: readonly WaveSize[]): string | undefined {
  if (waves.length === 0) return 'the wave list is empty'
  let count = 0
  let percent = 0
  for (const wave of waves) {
    if (typeof wave === 'number') {
      if (wave <= count) return `wave ${wave} is not larger than the count before it (${count})`
      count = wave
    } else {
      const p = Number(wave.slice(0, -1))
      if (p <= percent) return `wave ${wave} is not larger than the percentage before it (${percent}%)`
      percent = p
    }
  }
  return undefined
}

const wavesSchema = z
  .array(waveSizeSchema)
  .max(16)
  .superRefine((waves, ctx) => {
    const problem = wavesProblem(waves)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  })

const nodeSchema = z.strictObject({
  name: z.string().min(1).max(64),
  peerId: peerIdSchema,
  config: sha256HexSchema,
  scripts: z.array(z.strictObject({ path: z.string().min(1).max(256), sha256: sha256HexSchema })).max(64),
})

const binarySchema = z.strictObject({
  target: z.enum(['linux-x64', 'linux-arm64']),
  sha256: sha256HexSchema,
  bytes: z
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024),
})

/** The release manifest, version 1: every field bounded, no field beyond these. */
export const releaseManifestSchema = z.strictObject({
  v: z.literal(RELEASE_VERSION),
  owner: peerIdSchema,
  release: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: timeMs,
  fleet: sha256HexSchema,
  nodes: z.array(nodeSchema).min(1).max(MAX_RELEASE_NODES),
  binaries: z.array(binarySchema).max(2).optional(),
  waves: wavesSchema,
  healthWindowMs: z
    .number()
    .int()
    .min(0)
    .max(24 * 60 * 60 * 1000),
})
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>

/** A signed release: the manifest's exact canonical bytes and the owner's signature over them. */
export interface SignedRelease {
  manifest: Uint8Array
  sig: Uint8Array
}

/**
 * Checks `manifest`, encodes it canonically and signs the bytes with the owner key. Refuses a manifest that
 * does not fit the schema, over the size cap, or that names another owner, so nothing a node would refuse is
 * ever signed.
 *
 * @example
 * const { manifest, sig } = signRelease({ v: 1, owner: owner.id, release: 7, ... }, owner)
 */
export function signRelease(manifest: ReleaseManifest, key: OwnerKey): SignedRelease {
  const parsed = releaseManifestSchema.safeParse(manifest)
  if (!parsed.success) throw malformed(parsed.error)
  if (parsed.data.owner !== key.id)
    throw new ReleaseError(
      'wrong_owner',
      `the manifest names owner ${parsed.data.owner}, the key is ${key.id}`,
    )
  const bytes = canonicalEncode(parsed.data)
  if (bytes.byteLength > MAX_RELEASE_BYTES)
    throw new ReleaseError(
      'too_large',
      `release is ${bytes.byteLength} bytes; the limit is ${MAX_RELEASE_BYTES}`,
    )
  return { manifest: bytes, sig: signAsOwner(key, bytes) }
}

/**
 * Decodes and checks a signed release for a node whose owner is `expectedOwner`: size, msgpack, version,
 * shape, owner, then the signature over the exact bytes. Throws {@link ReleaseError} with the reason.
 *
 * @example
 * const manifest = openRelease(bytes, sig, config.owner) // throws ReleaseError('bad_signature', …) on a forgery
 */
export function openRelease(bytes: Uint8Array, sig: Uint8Array, expectedOwner: string): ReleaseManifest {
  const raw = decodeBounded(bytes, {
    what: 'release',
    maxBytes: MAX_RELEASE_BYTES,
    fail: (reason, message) => new ReleaseError(reason === 'oversize' ? 'too_large' : 'malformed', message),
  })
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ReleaseError('malformed', 'a release is a map')
  const version = (raw as { v?: unknown }).v
  if (version === undefined) throw new ReleaseError('malformed', 'v: a release names its format version')
  if (version !== RELEASE_VERSION)
    throw new ReleaseError(
      'unknown_version',
      `release format ${String(version)} is unknown; this kith reads version ${RELEASE_VERSION}`,
      'upgrade kith on this node by hand, then publish again',
    )
  const parsed = releaseManifestSchema.safeParse(raw)
  if (!parsed.success) throw malformed(parsed.error)
  if (parsed.data.owner !== expectedOwner)
    throw new ReleaseError(
      'wrong_owner',
      `release by owner ${parsed.data.owner}; this node's owner is ${expectedOwner}`,
    )
  if (!verifyOwner(expectedOwner, bytes, sig))
    throw new ReleaseError('bad_signature', `release ${parsed.data.release} is not signed by its owner`)
  return parsed.data
}

function malformed(error: z.ZodError): ReleaseError {
  const issue = error.issues[0]
  return new ReleaseError('malformed', `${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
}
