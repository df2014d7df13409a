/**
 * The node's identity: one Ed25519 key in a PKCS#8 PEM file (mode 0600). The libp2p peer id derives from
 * it, so the address is the key. A missing, unreadable, exposed or corrupt file is an error, never a
 * reason to make a new identity quietly.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { open, readFile, stat } from 'node:fs/promises'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { EXIT, KithError } from '../util/errors.ts'

const MAX_KEY_FILE_BYTES = 4096

/** An identity key file that cannot be used; the message names the file and what to do. */
export class IdentityError extends KithError {
  static override readonly code = 'bad_identity'
  static override readonly exitCode = EXIT.config
  readonly file: string

  constructor(file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'IdentityError'
    this.file = file
  }
}

/**
 * How a key file's problems are reported: the node identity by default; fleet/owner.ts keeps the owner key in
 * the same kind of file and gives its own error and advice.
 */
export interface KeyFileKind {
  /** the error for a problem with `file`: `problem` says what is wrong, `hint` (if any) what to do */
  error(file: string, problem: string, hint?: string): KithError
  /** what is said, and what to do, when the file is missing */
  missing: { problem: string; hint: string }
  /** why an existing file is not replaced, and what to do instead */
  exists: { problem: string; hint?: string }
}

const IDENTITY_FILE: KeyFileKind = {
  error: (file, problem, hint) =>
    new IdentityError(file, hint === undefined ? problem : `${problem}; ${hint}`),
  missing: { problem: 'no identity key here', hint: 'create one with `kith init`' },
  exists: { problem: 'already exists; refusing to replace an identity' },
}

export interface Identity {
  peerId: PeerId
  /** the key in libp2p's form, for the host */
  privateKey: PrivateKey
  /** the same key for node:crypto, which signs about ten times faster than pure JS */
  keyObject: KeyObject
  /** the raw 32-byte public key */
  publicKey: Uint8Array
  /** Ed25519 signature over `data` */
  sign(data: Uint8Array): Uint8Array
}

async function fromKeyObject(keyObject: KeyObject): Promise<Identity> {
  const jwk = keyObject.export({ format: 'jwk' })
  if (jwk.d == null || jwk.x == null) throw new Error('not an Ed25519 private key')
  const privateKey = await generateKeyPairFromSeed('Ed25519', Buffer.from(jwk.d, 'base64url'))
  return {
    peerId: peerIdFromPrivateKey(privateKey),
    privateKey,
    keyObject,
    publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')),
    sign: (data) => new Uint8Array(sign(null, data, keyObject)),
  }
}

/**
 * Creates a new identity file; refuses to overwrite an existing one.
 *
 * @example
 * const id = await createIdentity('.kith/identity.key')
 * id.peerId.toString() // '12D3KooW…'
 */
export async function createIdentity(file: string, kind: KeyFileKind = IDENTITY_FILE): Promise<Identity> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' })
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(file, 'wx', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw kind.error(file, kind.exists.problem, kind.exists.hint)
    throw kind.error(file, `cannot create: ${code}`)
  }
  try {
    await handle.writeFile(pem)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return fromKeyObject(privateKey)
}

/** Loads the identity file, checking its permissions and contents. */
export async function loadIdentity(file: string, kind: KeyFileKind = IDENTITY_FILE): Promise<Identity> {
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw kind.error(file, kind.missing.problem, kind.missing.hint)
    throw kind.error(file, `cannot read: ${code}`)
  }
  if (!info.isFile()) throw kind.error(file, 'not a regular file')
  if ((info.mode & 0o077) !== 0) {
    throw kind.error(
      file,
      `readable by others (mode ${(info.mode & 0o777).toString(8)})`,
      'run chmod 600 on it',
    )
  }
  if (info.size > MAX_KEY_FILE_BYTES) throw kind.error(file, 'too large to be a key file')
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (err) {
    throw kind.error(file, `cannot read: ${(err as NodeJS.ErrnoException).code}`)
  }
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    throw kind.error(file, 'not a PEM private key (corrupt?)')
  }
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    throw kind.error(file, `holds a ${keyObject.asymmetricKeyType} key; kith needs Ed25519`)
  }
  return fromKeyObject(keyObject)
}
