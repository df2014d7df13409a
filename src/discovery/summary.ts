/**
 * Descriptor v2, the signed summary: every field of a v1 descriptor except `caps`, plus a `catalog` that counts
 * the node's capabilities and lists the digest of each catalog page (catalog-page.ts). The summary is signed
 * like a v1 descriptor (`sig` = Ed25519 over the canonical encoding of every other field, `digest` = sha256
 * of that body), so its signature covers every page digest and a page needs no signature of its own.
 *
 * Decoders take fields they know and ignore the rest, at the top level and inside `state`, `attest` and
 * `catalog`: the signature and the digest are over the bytes as sent, unknown fields included, so a later
 * version can add fields (build and config digests, advertised rates) and this one still verifies and uses
 * the summary.
 */
import { z } from 'zod'
import { buildPages, type CatalogPage, MAX_PAGE_ENTRIES, MAX_PAGES } from './catalog-page.ts'
import {
  type Capability,
  type Descriptor,
  DescriptorError,
  descriptorSchema,
  type SignedDescriptor,
  splitSigned,
  stateSchema,
} from './descriptor.ts'
import { canonicalEncode, sha256 } from '../util/canonical.ts'
import { decodeChecked } from '../util/bounded-decode.ts'

export const SUMMARY_VERSION = 2
/** Largest summary accepted or produced, encoded. */
export const MAX_SUMMARY_BYTES = 16 * 1024
/** Most tags a summary lists, the most common first. */
export const MAX_SUMMARY_TAGS = 64

const digest32 = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array && v.byteLength === 32,
  'expected a 32-byte digest',
)
const count = z
  .number()
  .int()
  .min(0)
  .max(MAX_PAGES * MAX_PAGE_ENTRIES)

const catalogSchema = z.object({
  /** capabilities in all pages */
  count,
  /** capabilities per kind */
  kinds: z.object({ script: count, device: count, sensor: count }),
  /** the catalog's tags, most common first */
  tags: z.array(z.string().min(1).max(40)).max(MAX_SUMMARY_TAGS),
  pages: z
    .array(z.object({ digest: digest32, count: z.number().int().min(1).max(MAX_PAGE_ENTRIES) }))
    .max(MAX_PAGES),
})

const v1 = descriptorSchema.shape
const unsignedSummarySchema = z.object({
  v: z.literal(SUMMARY_VERSION),
  peer: v1.peer,
  seq: v1.seq,
  iat: v1.iat,
  ttl: v1.ttl,
  addrs: v1.addrs,
  state: z.object(stateSchema.shape),
  attest: z.object(v1.attest.shape),
  catalog: catalogSchema,
})

export type CatalogInfo = z.output<typeof catalogSchema>
export type UnsignedSummary = z.output<typeof unsignedSummarySchema>
export type Summary = UnsignedSummary & { sig: Uint8Array }

/** What a node's summary says before the catalog is cut: the v1 fields but `caps`, and the capabilities. */
export type SummaryInput = Omit<UnsignedSummary, 'v' | 'catalog'> & { caps: Capability[] }

/** A signed summary as its owner holds it: the view (caps included), the wire bytes, digest and pages. */
export interface SignedSummary extends SignedDescriptor {
  pages: CatalogPage[]
  /** capabilities that fit in no page (over 64 pages, or one larger than a page alone) */
  left: Capability[]
}

/** Wire bytes decoded and schema-checked, whose signature has NOT been checked yet. */
export interface ParsedSummary {
  unverified: Summary
  bytes: Uint8Array
  body: Uint8Array
  digest: Uint8Array
}

/** The catalog of `pages` holding `caps`: counts, kinds, the most common tags, page digests. */
function catalogOf(caps: Capability[], pages: CatalogPage[]): CatalogInfo {
  const kinds = { script: 0, device: 0, sensor: 0 }
  const tags = new Map<string, number>()
  for (const cap of caps) {
    kinds[cap.kind]++
    for (const tag of cap.tags) tags.set(tag, (tags.get(tag) ?? 0) + 1)
  }
  return {
    count: caps.length,
    kinds,
    tags: [...tags.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_SUMMARY_TAGS)
      .map(([tag]) => tag),
    pages: pages.map((p) => ({ digest: p.digest, count: p.count })),
  }
}

/**
 * Cuts `input.caps` into pages and signs the summary that lists them. The returned `descriptor` is the view
 * every consumer reads: the summary's fields with the paged capabilities in `caps`.
 *
 * @example
 * const own = signSummary({ peer, seq, iat, ttl, addrs, state, attest, caps }, identity.sign)
 * own.pages // served to peers by digest
 */
export function signSummary(input: SummaryInput, sign: (data: Uint8Array) => Uint8Array): SignedSummary {
  const { caps, ...rest } = input
  const { pages, left } = buildPages(input.peer, caps)
  const paged = left.length === 0 ? caps : caps.filter((c) => !left.includes(c))
  const fields = unsignedSummarySchema.parse({
    ...rest,
    v: SUMMARY_VERSION,
    catalog: catalogOf(paged, pages),
  })
  const body = canonicalEncode(fields)
  const sig = sign(body)
  const bytes = canonicalEncode({ ...fields, sig })
  if (bytes.byteLength > MAX_SUMMARY_BYTES)
    throw new DescriptorError(
      'oversize',
      `summary is ${bytes.byteLength} bytes; the limit is ${MAX_SUMMARY_BYTES}`,
    )
  const cut = splitSigned(bytes)
  if (cut == null || !Buffer.from(cut.body).equals(body))
    throw new DescriptorError('malformed', 'this summary would not split back into its signed body')
  return { descriptor: viewOf({ ...fields, sig }, paged), bytes, digest: sha256(body), pages, left }
}

/**
 * The descriptor every consumer reads for a summary whose pages are in: its fields, `caps` from the pages
 * in order, and `catalog` beside them.
 */
export function viewOf(summary: Summary, caps: Capability[]): Descriptor {
  const { v: _v, catalog, ...rest } = summary
  return { ...rest, v: SUMMARY_VERSION, caps, catalog }
}

/**
 * Size, cut, msgpack and schema of a summary's wire bytes; throws {@link DescriptorError} (`oversize` or
 * `malformed`). Fields this version does not know are ignored; the signature is still over all of them.
 *
 * @example
 * const parsed = parseSummary(bytes) // then store.precheck, then the signature
 */
export function parseSummary(bytes: Uint8Array): ParsedSummary {
  if (bytes.byteLength > MAX_SUMMARY_BYTES)
    throw new DescriptorError(
      'oversize',
      `summary is ${bytes.byteLength} bytes; the limit is ${MAX_SUMMARY_BYTES}`,
    )
  const cut = splitSigned(bytes)
  if (cut == null) throw new DescriptorError('malformed', 'not a summary map with a 64-byte sig field')
  // the body is shorter than the bytes already checked: what can fail here is msgpack and the schema
  const fields = decodeChecked(cut.body, unsignedSummarySchema, {
    what: 'summary',
    maxBytes: MAX_SUMMARY_BYTES,
    fail: (reason, message) => new DescriptorError(reason, message),
  })
  const { catalog } = fields
  const paged = catalog.pages.reduce((n, p) => n + p.count, 0)
  if (paged !== catalog.count)
    throw new DescriptorError(
      'malformed',
      `catalog counts ${catalog.count} capabilities but its pages hold ${paged}`,
    )
  const distinct = new Set(catalog.pages.map((p) => Buffer.from(p.digest).toString('hex')))
  if (distinct.size !== catalog.pages.length)
    throw new DescriptorError('malformed', 'catalog lists one page twice')
  return { unverified: { ...fields, sig: cut.sig }, bytes, body: cut.body, digest: sha256(cut.body) }
}
