/**
 * Identities of simulated nodes: real Ed25519 keys and libp2p peer ids, derived from the node's index, so a
 * peer id is the same in every run and the keys are made once per process (a {@link KeyRing} is shared by
 * all the runs of one command). Which node plays which role is the seed's business, not the key's.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { SignatureVerifier } from '../src/discovery/descriptor.ts'
import { createVerifier } from '../src/discovery/verify.ts'

/** Verdicts remembered by {@link KeyRing.verifier} before it starts afresh. */
const MAX_VERDICTS = 200_000

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface SimIdentity {
  peerId: PeerId
  /** `peerId.toString()`, kept once */
  peer: string
  sign(data: Uint8Array): Uint8Array
}

/**
 * @example
 * const ring = new KeyRing()
 * ring.get(3).peer // '12D3KooW…', the same on every run
 */
export class KeyRing {
  readonly #ids: SimIdentity[] = []
  readonly #verdicts = new Map<string, boolean>()
  readonly #verify = createVerifier()

  /**
   * kith's Ed25519 verifier (node:crypto), with its verdicts remembered across simulated nodes and runs.
   * Verification is a pure function of (key, data, signature), so this changes no outcome; it spares the
   * simulator from checking the same descriptor once per receiving node, which was most of a run's time.
   * Every node's intake still makes and counts each check a real node would make.
   */
  readonly verifier: SignatureVerifier = (peer, data, sig) => {
    const key = `${peer}:${Buffer.from(sig).toString('base64')}:${createHash('sha256').update(data).digest('base64')}`
    let verdict = this.#verdicts.get(key)
    if (verdict === undefined) {
      verdict = this.#verify(peer, data, sig)
      if (this.#verdicts.size >= MAX_VERDICTS) this.#verdicts.clear()
      this.#verdicts.set(key, verdict)
    }
    return verdict
  }

  get(index: number): SimIdentity {
    let id = this.#ids[index]
    if (id === undefined) this.#ids[index] = id = deriveIdentity(index)
    return id
  }
}

function deriveIdentity(index: number): SimIdentity {
  const seed = createHash('sha256').update(`kith-sim-node:${index}`).digest()
  const key: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  const raw = new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))
  const peerId = peerIdFromPublicKey(publicKeyFromRaw(raw))
  return { peerId, peer: peerId.toString(), sign: (data) => new Uint8Array(sign(null, data, key)) }
}
