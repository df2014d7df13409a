/**
 * What each message of the scale scenario costs on the wire, in bytes of TCP payload (what the
 * control-bytes benchmark's `tcp` measure counts: no IP or TCP headers). kith's own parts are real
 * encodings: the notice (`encodeAnnounce`), the pull request (`encodePullRequest`) and the signed
 * descriptor's wire bytes. gossipsub's RPCs are encoded with gossipsub's own protobuf codec (StrictSign: a
 * 38-byte `from`, 8-byte seqno, the topic and a 64-byte signature; message ids are the 36-byte protobuf key
 * and the seqno). Below them, estimated from the protocols' framing rather than measured: each RPC is
 * length-prefixed on gossipsub's long-lived stream and goes in one yamux data frame (12-byte header) in one
 * Noise transport message (2-byte length, 16-byte tag). A pull opens a yamux stream (SYN window update),
 * selects `/kith/descriptor/1.0.0` optimistically (multistream-select header and protocol line sent with the
 * request, both echoed by the answer), writes one length-prefixed frame each way and closes both ends (FIN).
 */
import { RPC } from '@libp2p/gossipsub/message'
import type { NodeState } from '../src/discovery/descriptor.ts'
import { ANNOUNCE_TOPIC, encodeAnnounce, encodePullRequest, FLOOD_TOPIC } from '../src/discovery/wire.ts'

/** yamux frame header plus Noise's length prefix and tag: what one frame adds on the wire. */
export const FRAME_BYTES = 12 + 2 + 16
/** `/multistream/1.0.0\n` and `/kith/descriptor/1.0.0\n`, each with its varint length. */
const MULTISTREAM_BYTES = 1 + 19 + 1 + 23
const ID_BYTES = 36 + 8

/** A message's cost: `wire` crosses the network, `payload` is what kith hands to it. */
export interface Cost {
  wire: number
  payload: number
}

/**
 * @example
 * const wire = new WireSizes(identity.peerId.toMultihash().bytes)
 * wire.gossip(notice.byteLength, 'kith') // bytes of one copy of the notice sent to one peer
 */
export class WireSizes {
  readonly #from: Uint8Array
  readonly #gossip = new Map<string, number>()
  /** an IHAVE RPC to one peer without its ids */
  readonly ihaveFrame: number
  /** what each message id adds to an IHAVE */
  readonly ihaveId: number
  /** an IWANT or IDONTWANT RPC for one message id */
  readonly iwant: number
  readonly idontwant: number

  constructor(from: Uint8Array) {
    this.#from = from
    const id = new Uint8Array(ID_BYTES)
    const control = (c: Partial<RPC.ControlMessage>) =>
      rpcWire(
        RPC.encode({
          subscriptions: [],
          messages: [],
          control: { ihave: [], iwant: [], graft: [], prune: [], idontwant: [], ...c },
        }).byteLength,
      )
    const one = control({ ihave: [{ topicID: ANNOUNCE_TOPIC, messageIDs: [id] }] })
    const two = control({ ihave: [{ topicID: ANNOUNCE_TOPIC, messageIDs: [id, id] }] })
    this.ihaveId = two - one
    this.ihaveFrame = one - this.ihaveId
    this.iwant = control({ iwant: [{ messageIDs: [id] }] })
    this.idontwant = control({ idontwant: [{ messageIDs: [id] }] })
  }

  /** One copy of a gossipsub message carrying `dataBytes` (a notice, or a body when flooding) to one peer. */
  gossip(dataBytes: number, mode: 'kith' | 'flood'): number {
    const key = `${mode}:${dataBytes}`
    let bytes = this.#gossip.get(key)
    if (bytes === undefined) {
      const message = {
        from: this.#from,
        data: new Uint8Array(dataBytes),
        seqno: new Uint8Array(8),
        topic: mode === 'flood' ? FLOOD_TOPIC : ANNOUNCE_TOPIC,
        signature: new Uint8Array(64),
      }
      bytes = rpcWire(RPC.encode({ subscriptions: [], messages: [message] }).byteLength)
      this.#gossip.set(key, bytes)
    }
    return bytes
  }

  /** The pull's request side: stream open, protocol selection, the request, close. */
  pullRequest(peer: string, digest: Uint8Array): Cost {
    const payload = encodePullRequest({ peer, digest }).byteLength
    return { wire: 3 * FRAME_BYTES + MULTISTREAM_BYTES + varint(payload) + payload, payload }
  }

  /** The pull's answer side: stream acknowledged, selection echoed, the body, close. */
  pullAnswer(bodyBytes: number): Cost {
    return { wire: 4 * FRAME_BYTES + MULTISTREAM_BYTES + varint(bodyBytes) + bodyBytes, payload: bodyBytes }
  }
}

/**
 * The notice kith gossips for a descriptor, encoded as the announcer encodes it.
 *
 * @example
 * noticeBytes(peer, 3, digest, Date.now(), state).byteLength // about 150
 */
export function noticeBytes(
  peer: string,
  seq: number,
  digest: Uint8Array,
  at: number,
  state: NodeState,
): Uint8Array {
  return encodeAnnounce({ peer, seq, digest, at, state })
}

/** An RPC of `bytes` on gossipsub's stream: its varint length prefix, then one frame. */
function rpcWire(bytes: number): number {
  return varint(bytes) + bytes + FRAME_BYTES
}

function varint(n: number): number {
  let bytes = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++
  return bytes
}
