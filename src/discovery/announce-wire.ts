/**
 * What differs between descriptor wire versions, behind one interface so that the announcer's gossip logic
 * (notices, heartbeats, pulls from the forwarder or the origin, penalties) is written once:
 *
 * - v1 (`kith/announce/1`, `/kith/descriptor/1.0.0`): one signed descriptor of at most 16 KiB, caps inside.
 * - v2 (`kith/announce/2`, `/kith/catalog/2.0.0`): a signed summary listing content-addressed catalog pages,
 *   pulled when a summary names pages this node does not hold (summary.ts, catalog-page.ts).
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { KithLibp2p } from '../connectivity/host.ts'
import { type CatalogPage, PageError } from './catalog-page.ts'
import { CatalogIntake, type CatalogIntakeCounters } from './catalog-intake.ts'
import { type CatalogServeCounters, pullCatalog, serveCatalog } from './catalog-exchange.ts'
import {
  type Capability,
  type SignatureVerifier,
  type SignedDescriptor,
  signDescriptor,
  type UnsignedDescriptor,
} from './descriptor.ts'
import { pullDescriptor, serveDescriptors } from './exchange.ts'
import { DescriptorIntake, type IntakeCounters, type IntakeNotice, type IntakeOutcome } from './intake.ts'
import type { PageCache } from './page-cache.ts'
import type { DescriptorStore } from './store.ts'
import { signSummary } from './summary.ts'
import {
  ANNOUNCE_TOPIC,
  CATALOG_PROTOCOL,
  CATALOG_TOPIC,
  decodeAnnounce,
  decodeNoticeV2,
  DESCRIPTOR_PROTOCOL,
  type Announce,
} from './wire.ts'

/** This node's own signed body, as the announcer holds and serves it. */
export interface OwnBody extends SignedDescriptor {
  /** v2: the catalog pages the summary lists */
  pages?: CatalogPage[]
  /** capabilities the body could not carry (v1: over 16 KiB; v2: over 64 pages) */
  left?: Capability[]
}

export interface AnnounceWire {
  readonly version: 1 | 2
  readonly topic: string
  readonly protocol: string
  /** what taking bodies in cost and refused */
  readonly counters: IntakeCounters
  /** v2: pages served, and page digests asked for that this node does not hold */
  readonly served?: CatalogServeCounters
  decodeNotice(bytes: Uint8Array): Announce
  sign(unsigned: Omit<UnsignedDescriptor, 'v'>, sign: (data: Uint8Array) => Uint8Array): OwnBody
  /** serves pulls of bodies this node holds (`own` first, then the store's entries of this version) */
  serve(host: KithLibp2p, own: () => OwnBody | undefined, onBytes: (n: number) => void): Promise<void>
  /** pulls `peer`'s body (with `digest`, only that one) from `from` */
  pull(host: KithLibp2p, from: PeerId, peer: string, digest?: Uint8Array): Promise<Uint8Array | undefined>
  /** takes a pulled body in; v2 pulls the pages it lacks from `from`, then from the origin */
  take(
    host: KithLibp2p,
    from: PeerId,
    bytes: Uint8Array,
    notice: IntakeNotice,
    onBytes: (n: number) => void,
  ): Promise<IntakeOutcome>
}

interface WireComponents {
  store: DescriptorStore
  verify: SignatureVerifier
  self: string
}

/** The body the store holds for `peer` in `version`, if it is the one asked for. */
function heldBytes(
  store: DescriptorStore,
  version: 1 | 2,
  peer: string,
  digest?: Uint8Array,
): Uint8Array | undefined {
  const entry = store.get(peer)
  if (entry == null || entry.descriptor.v !== version) return undefined
  if (digest != null && !Buffer.from(entry.digest).equals(digest)) return undefined
  return entry.bytes
}

function ownBytes(own: OwnBody | undefined, digest?: Uint8Array): Uint8Array | undefined {
  if (own == null || (digest != null && !Buffer.from(own.digest).equals(digest))) return undefined
  return own.bytes
}

/**
 * v1: today's single descriptor. `fit` chooses the capabilities that go in (a v2 node fits what it can in
 * the copy it offers v1-only peers; a v1 node offers its own list, which must fit).
 *
 * @example
 * const wire = descriptorWire({ store, verify, self })
 */
export function descriptorWire(
  c: WireComponents,
  fit: (caps: Capability[]) => { offered: Capability[]; left: number } = (caps) => ({
    offered: caps,
    left: 0,
  }),
): AnnounceWire {
  const intake = new DescriptorIntake({ store: c.store, verify: c.verify, self: c.self })
  return {
    version: 1,
    topic: ANNOUNCE_TOPIC,
    protocol: DESCRIPTOR_PROTOCOL,
    counters: intake.counters,
    decodeNotice: decodeAnnounce,
    sign(unsigned, sign) {
      const { offered } = fit(unsigned.caps)
      const signed = signDescriptor({ ...unsigned, v: 1, caps: offered }, sign)
      return { ...signed, left: unsigned.caps.filter((cap) => !offered.includes(cap)) }
    },
    serve: (host, own, onBytes) =>
      serveDescriptors(
        host,
        (req) =>
          req.peer === c.self ? ownBytes(own(), req.digest) : heldBytes(c.store, 1, req.peer, req.digest),
        onBytes,
      ),
    pull: (host, from, peer, digest) =>
      pullDescriptor(host, from, { peer, ...(digest != null ? { digest } : {}) }),
    async take(_host, from, bytes, notice) {
      return intake.take(bytes, from.toString(), notice)
    },
  }
}

/** v2: the signed summary and its catalog pages, with pages of other peers held in `pages`. */
export function catalogWire(c: WireComponents & { pages: PageCache }): AnnounceWire & {
  counters: CatalogIntakeCounters
  served: CatalogServeCounters
} {
  const intake = new CatalogIntake({ store: c.store, verify: c.verify, self: c.self, pages: c.pages })
  const served: CatalogServeCounters = { bytesOut: 0, pagesServed: 0, pagesUnknown: 0 }
  return {
    version: 2,
    topic: CATALOG_TOPIC,
    protocol: CATALOG_PROTOCOL,
    counters: intake.counters,
    served,
    decodeNotice: decodeNoticeV2,
    sign: (unsigned, sign) => signSummary(unsigned, sign),
    serve(host, own) {
      return serveCatalog(
        host,
        {
          summary: (peer, digest) =>
            peer === c.self ? ownBytes(own(), digest) : heldBytes(c.store, 2, peer, digest),
          page: (hex) =>
            c.pages.get(hex)?.bytes ??
            own()?.pages?.find((p) => Buffer.from(p.digest).toString('hex') === hex)?.bytes,
        },
        served,
      )
    },
    async pull(host, from, peer, digest) {
      const [bytes] = await pullCatalog(host, from, { peer, ...(digest != null ? { digest } : {}) })
      return bytes
    },
    take(host, from, bytes, notice, onBytes) {
      // the forwarder held every page when it passed the notice on; the origin always holds its own
      const sources = [from, ...(notice.peer !== from.toString() ? [peerIdFromString(notice.peer)] : [])]
      return intake.take(bytes, from.toString(), notice, async (digests) => {
        let answers: Array<Uint8Array | undefined> = digests.map(() => undefined)
        for (const source of sources) {
          const wanted = digests.filter((_, i) => answers[i] == null)
          if (wanted.length === 0) break
          // an unreachable source is tried no further; a page over the cap is that source's fault
          const got = await pullCatalog(host, source, { pages: wanted }).catch((err: Error) => {
            if (err instanceof PageError) throw err
            return wanted.map(() => undefined)
          })
          let j = 0
          answers = answers.map((a) => (a != null ? a : got[j++]))
          for (const page of got) onBytes(page?.byteLength ?? 0)
        }
        return answers
      })
    },
  }
}
