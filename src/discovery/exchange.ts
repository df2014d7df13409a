/**
 * `/kith/descriptor/1.0.0`: pull a peer's descriptor body by digest. One short stream per pull (a pull
 * happens once per change, not per query; the protocol is selected optimistically, with the request, so a
 * pull costs one round trip), length-prefixed frames with size caps, a deadline on both sides, and the
 * stream aborted on any error.
 */

import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { KithLibp2p } from '../connectivity/host.ts'
import { MAX_DESCRIPTOR_BYTES } from './descriptor.ts'
import {
  DESCRIPTOR_PROTOCOL,
  decodePullRequest,
  encodePullRequest,
  MAX_PULL_REQUEST_BYTES,
  type PullRequest,
} from './wire.ts'

export const PULL_TIMEOUT_MS = 5_000
const MAX_STREAMS = 32

/** Answers a pull: the wire bytes held for the request, or undefined. */
export type DescriptorSource = (request: PullRequest) => Uint8Array | undefined

/** Serves pulls from `source` until the host stops. */
export async function serveDescriptors(
  host: KithLibp2p,
  source: DescriptorSource,
  onBytes: (n: number) => void,
): Promise<void> {
  await host.handle(
    DESCRIPTOR_PROTOCOL,
    async (stream: Stream) => {
      const signal = AbortSignal.timeout(PULL_TIMEOUT_MS)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_PULL_REQUEST_BYTES })
        const request = decodePullRequest((await lp.read({ signal })).subarray())
        const bytes = source(request) ?? new Uint8Array(0)
        await lp.write(bytes, { signal })
        onBytes(bytes.byteLength)
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS },
  )
}

/**
 * Pulls `request` from `from`; resolves with the bytes, or undefined when the peer does not hold them.
 *
 * @example
 * const bytes = await pullDescriptor(host, sourcePeer, { peer, digest })
 */
export async function pullDescriptor(
  host: KithLibp2p,
  from: PeerId,
  request: PullRequest,
  signal: AbortSignal = AbortSignal.timeout(PULL_TIMEOUT_MS),
): Promise<Uint8Array | undefined> {
  // one protocol only: its name goes out with the request instead of in a round trip of its own
  const stream = await host.dialProtocol(from, DESCRIPTOR_PROTOCOL, { signal, negotiateFully: false })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_DESCRIPTOR_BYTES })
    await lp.write(encodePullRequest(request), { signal })
    const answer = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    return answer.byteLength > 0 ? answer : undefined
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
