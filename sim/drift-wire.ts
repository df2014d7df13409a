/**
 * What the drift scenario's messages cost, in two measures:
 *
 * - `payload`: the bytes kith hands to gossipsub or to the pull stream (what the announcer's own counters
 *   count): the real notice encoding (`encodeAnnounce`), the real pull request (`encodePullRequest`) and the
 *   signed descriptor's real wire bytes;
 * - `wire`: what crosses the link for one receiver. A gossip message is encoded with gossipsub's own
 *   protobuf codec as js-libp2p's StrictSign publishes it: `from` (the 38-byte peer id), an 8-byte seqno,
 *   the topic, the 64-byte signature and the 36-byte protobuf public key, which js-libp2p sends even though
 *   an Ed25519 peer id already holds it. Below gossipsub the framing is estimated, not measured: a varint
 *   length prefix, one yamux data frame (12-byte header) in one Noise message (2-byte length, 16-byte tag).
 *   A pull opens a yamux stream, selects `/kith/descriptor/1.0.0` optimistically (the multistream header and
 *   protocol line go with the request and are echoed with the answer), writes one length-prefixed frame
 *   each way and closes both ends.
 *
 * Each message is counted once per receiver: an ideal broadcast, without gossipsub's mesh duplicates,
 * IHAVE/IWANT gossip or heartbeats, which cost both modes alike per message (scenario 3 models the mesh).
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { RPC } from '@libp2p/gossipsub/message'
import type { NodeState } from '../src/discovery/descriptor.ts'
import { ANNOUNCE_TOPIC, encodeAnnounce, encodePullRequest, FLOOD_TOPIC } from '../src/discovery/wire.ts'
import type { SimIdentity } from './keys.ts'

/** yamux frame header, Noise length prefix and tag */
const FRAME_BYTES = 12 + 2 + 16
/** `/multistream/1.0.0\n` and `/kith/descriptor/1.0.0\n`, each with its varint length */
const MULTISTREAM_BYTES = 1 + 19 + 1 + 23

/** A message's cost: `payload` is what kith hands over, `wire` what crosses the link. */
export interface Cost {
  payload: number
  wire: number
}

/**
 * The envelope gossipsub adds to a message of a given size, for one sender (its peer id and key are in it).
 *
 * @example
 * const wire = new DriftWire(keys.get(0))
 * wire.gossip(notice.byteLength, 'kith') // { payload: 178, wire: 387 }: a notice and its envelope
 */
export class DriftWire {
  readonly #from: Uint8Array
  readonly #key: Uint8Array
  readonly #sizes = new Map<string, number>()

  constructor(identity: SimIdentity) {
    this.#from = identity.peerId.toMultihash().bytes
    const publicKey = identity.peerId.publicKey
    if (publicKey === undefined) throw new Error('a simulated peer id holds its public key')
    this.#key = publicKeyToProtobuf(publicKey)
  }

  /** One gossip message (a notice, or a flooded body) of `bytes` bytes, to one receiver. */
  gossip(bytes: number, mode: 'kith' | 'flood'): Cost {
    const id = `${mode}:${bytes}`
    let wire = this.#sizes.get(id)
    if (wire === undefined) {
      const message = {
        from: this.#from,
        data: new Uint8Array(bytes),
        seqno: new Uint8Array(8),
        topic: mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC,
        signature: new Uint8Array(64),
        key: this.#key,
      }
      wire = framed(RPC.encode({ subscriptions: [], messages: [message] }).byteLength)
      this.#sizes.set(id, wire)
    }
    return { payload: bytes, wire }
  }
}

/**
 * The notice the announcer gossips, in its real encoding.
 *
 * @example
 * notice(peer, 3, digest, at, { load: 0.2, memFree: 1e9, queue: 0 }).byteLength // about 160
 */
export function notice(
  peer: string,
  seq: number,
  digest: Uint8Array,
  at: number,
  state: NodeState,
): Uint8Array {
  return encodeAnnounce({ peer, seq, digest, at, state })
}

/**
 * A pull's request side: stream opened (a window-update frame), protocol selected, the request, closed.
 *
 * @example
 * pullRequestCost(peer, digest) // { payload: 101, wire: 236 }: the real encodePullRequest size, and framing
 */
export function pullRequestCost(peer: string, digest: Uint8Array): Cost {
  const payload = encodePullRequest({ peer, digest }).byteLength
  return { payload, wire: 3 * FRAME_BYTES + MULTISTREAM_BYTES + varint(payload) + payload }
}

/**
 * A pull's answer side: stream acknowledged, selection echoed, the body (or an empty frame), closed.
 *
 * @example
 * pullAnswerCost(body.byteLength).wire // the body plus 136 bytes of framing
 */
export function pullAnswerCost(bodyBytes: number): Cost {
  return { payload: bodyBytes, wire: 3 * FRAME_BYTES + MULTISTREAM_BYTES + varint(bodyBytes) + bodyBytes }
}

/** An RPC on gossipsub's long-lived stream: its varint length, then one frame. */
function framed(bytes: number): number {
  return varint(bytes) + bytes + FRAME_BYTES
}

function varint(n: number): number {
  let bytes = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++
  return bytes
}
