/**
 * `/kith/catalog/2.0.0`: pull a peer's v2 summary, or catalog pages by digest. One short stream per request,
 * the protocol selected optimistically with the request (one round trip), length-prefixed frames with size
 * caps, a deadline on both sides, the stream aborted on any error. A page request names up to 64 digests and
 * is answered with one frame per digest, in order: the page, or an empty frame when this node holds no page
 * of that digest (counted: nobody announced it to this node, or it is gone).
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { KithLibp2p } from '../connectivity/host.ts'
import { MAX_PAGE_BYTES, PageError } from './catalog-page.ts'
import { MAX_SUMMARY_BYTES } from './summary.ts'
import {
  CATALOG_PROTOCOL,
  type CatalogRequest,
  decodeCatalogRequest,
  encodeCatalogRequest,
  MAX_CATALOG_REQUEST_BYTES,
} from './wire.ts'
import { hasErrorName } from '../util/errors.ts'

export const CATALOG_TIMEOUT_MS = 5_000
const MAX_STREAMS = 32
const FRAME_CAP = Math.max(MAX_PAGE_BYTES, MAX_SUMMARY_BYTES)

/** A frame over the cap is a page or summary over 16 KiB: the peer's fault, refused as `oversize`. */
function oversize(err: Error): never {
  if (hasErrorName(err, 'InvalidDataLengthError'))
    throw new PageError('oversize', `a catalog answer is over ${FRAME_CAP} bytes`)
  throw err
}

/** What a node serves: a peer's summary (by digest, or its newest), and pages by digest (hex). */
export interface CatalogSource {
  summary(peer: string, digest?: Uint8Array): Uint8Array | undefined
  page(digestHex: string): Uint8Array | undefined
}

export interface CatalogServeCounters {
  /** bytes answered, summaries and pages */
  bytesOut: number
  pagesServed: number
  /** page digests asked for that this node holds no page of */
  pagesUnknown: number
}

/** Serves catalog requests from `source` until the host stops. */
export async function serveCatalog(
  host: KithLibp2p,
  source: CatalogSource,
  counters: CatalogServeCounters,
): Promise<void> {
  await host.handle(
    CATALOG_PROTOCOL,
    async (stream: Stream) => {
      const signal = AbortSignal.timeout(CATALOG_TIMEOUT_MS)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_CATALOG_REQUEST_BYTES })
        const request = decodeCatalogRequest((await lp.read({ signal })).subarray())
        const answers =
          'pages' in request
            ? request.pages.map((d) => {
                const page = source.page(Buffer.from(d).toString('hex'))
                if (page == null) counters.pagesUnknown++
                else counters.pagesServed++
                return page ?? new Uint8Array(0)
              })
            : [source.summary(request.peer, request.digest) ?? new Uint8Array(0)]
        for (const answer of answers) {
          await lp.write(answer, { signal })
          counters.bytesOut += answer.byteLength
        }
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
      }
    },
    { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS },
  )
}

/**
 * Sends `request` to `from` and reads its answers: one for a summary request, one per digest for a page
 * request; an empty frame comes back as undefined.
 *
 * @example
 * const [summary] = await pullCatalog(host, origin, { peer })
 * const pages = await pullCatalog(host, origin, { pages: missing })
 */
export async function pullCatalog(
  host: KithLibp2p,
  from: PeerId,
  request: CatalogRequest,
  signal: AbortSignal = AbortSignal.timeout(CATALOG_TIMEOUT_MS),
): Promise<Array<Uint8Array | undefined>> {
  const stream = await host.dialProtocol(from, CATALOG_PROTOCOL, { signal, negotiateFully: false })
  try {
    const lp = lpStream(stream, { maxDataLength: FRAME_CAP })
    await lp.write(encodeCatalogRequest(request), { signal })
    const expected = 'pages' in request ? request.pages.length : 1
    const answers: Array<Uint8Array | undefined> = []
    for (let i = 0; i < expected; i++) {
      const answer = (await lp.read({ signal }).catch(oversize)).subarray()
      answers.push(answer.byteLength > 0 ? answer : undefined)
    }
    await stream.close({ signal })
    return answers
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
