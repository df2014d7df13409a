/**
 * The fleet owner key: one Ed25519 key, kept off the nodes, that will sign the fleet's releases. It lives in the
 * same kind of file as a node identity (PKCS#8 PEM, mode 0600), so the identity module writes and reads it; the
 * owner id is the key's libp2p peer id (`12D3KooW…`), the form a node's config names it in (`owner:`).
 */
import { createPublicKey, verify } from 'node:crypto'
import { chmod, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { createIdentity, type KeyFileKind, loadIdentity } from '../connectivity/identity.ts'
import type { Identity } from '../connectivity/identity.ts'
import { EXIT, KithError } from '../util/errors.ts'

/** The file name of the owner key inside the directory given to `kith fleet owner init`. */
export const OWNER_KEY_FILE = 'owner.key'

/** An owner key file that cannot be made or used; the hint says what to do. */
export class OwnerKeyError extends KithError {
  static override readonly code = 'bad_owner_key'
  static override readonly exitCode = EXIT.config
  readonly file: string

  constructor(file: string, message: string, hint?: string) {
    super(`${file}: ${message}`, hint === undefined ? {} : { hint })
    this.name = 'OwnerKeyError'
    this.file = file
  }
}

const OWNER_FILE: KeyFileKind = {
  error: (file, problem, hint) => new OwnerKeyError(file, problem, hint),
  missing: { problem: 'no owner key here', hint: 'create one with `kith fleet owner init --dir DIR`' },
  exists: {
    problem: 'already exists; refusing to replace an owner key',
    hint: 'nodes that name this owner accept only what it signs: keep it, or give another --dir for a new fleet',
  },
}

/** An owner key, loaded: its id and what signs with it. */
export interface OwnerKey {
  /** the owner id: the key's peer id, `12D3KooW…` */
  id: string
  file: string
  identity: Identity
}

/**
 * Creates `dir/owner.key` (mode 0600; `dir` is made 0700 when missing); refuses to replace an existing key,
 * since every node that names the old owner would refuse what the new one signs.
 *
 * @example
 * const owner = await createOwnerKey('/home/me/kith-owner')
 * owner.id // '12D3KooW…'
 */
export async function createOwnerKey(dir: string): Promise<OwnerKey> {
  const file = join(dir, OWNER_KEY_FILE)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new OwnerKeyError(dir, `cannot create the directory: ${(err as NodeJS.ErrnoException).code}`)
  }
  const identity = await createIdentity(file, OWNER_FILE)
  // the mode given to open() is masked by the umask; the key must be 0600 whatever the umask
  await chmod(file, 0o600)
  return { id: identity.peerId.toString(), file, identity }
}

/** Loads an owner key file, refusing one readable by group or others, as a node identity is refused. */
export async function loadOwnerKey(file: string): Promise<OwnerKey> {
  const identity = await loadIdentity(file, OWNER_FILE)
  return { id: identity.peerId.toString(), file, identity }
}

/** The owner's Ed25519 signature over `bytes`. */
export function signAsOwner(key: OwnerKey, bytes: Uint8Array): Uint8Array {
  return key.identity.sign(bytes)
}

/**
 * Whether `signature` is the signature of the owner `id` over `bytes`; false for anything else, a malformed id
 * or a key that is not Ed25519 included, so a caller has one thing to check.
 *
 * @example
 * verifyOwner(owner.id, bytes, signAsOwner(owner, bytes)) // true
 */
export function verifyOwner(id: string, bytes: Uint8Array, signature: Uint8Array): boolean {
  let raw: Uint8Array
  try {
    const peer = peerIdFromString(id)
    if (peer.type !== 'Ed25519') return false
    raw = peer.publicKey.raw
  } catch {
    return false
  }
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  })
  try {
    return verify(null, bytes, key, signature)
  } catch {
    return false
  }
}
