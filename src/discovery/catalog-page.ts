/**
 * Catalog pages (descriptor v2): a node's capabilities, cut into content-addressed msgpack maps of at most
 * 16 KiB, `{v, peer, caps, schemas}`. A page carries no signature: its digest (sha256 of its bytes) is listed
 * in the node's signed summary (summary.ts), so a page is authentic exactly when it hashes to a listed digest.
 *
 * Input and output JSON schemas are shared by reference: each distinct schema is stored once in the page's
 * `schemas` table and a capability names it by index (`in`, `out`). A hub's devices repeat the same few
 * schemas (on/off, a reading), so this keeps 300 capabilities in a handful of pages.
 *
 * Decoders tolerate fields they do not know (a later version may add some); they check every field they use.
 */
import { z } from 'zod'
import { type Capability, capabilitySchema } from './descriptor.ts'
import { canonicalEncode, decodeMsgpack, sha256 } from '../util/canonical.ts'
import { KithError } from '../util/errors.ts'

/** Largest page accepted or produced, encoded. */
export const MAX_PAGE_BYTES = 16 * 1024
/** Most pages one summary may list: 64 pages of 16 KiB bound a node's catalog at 1 MiB. */
export const MAX_PAGES = 64
/** Most capabilities, and most schemas, in one page. */
export const MAX_PAGE_ENTRIES = 512
/** Room a page keeps for its own fields and headers when filled. */
const PAGE_OVERHEAD = 512

/** Why a page was refused; each reason has its own counter. */
export type PageRejectReason = 'oversize' | 'malformed' | 'digest_mismatch' | 'foreign' | 'count_mismatch'

/** A catalog page or summary from a peer that kith refuses; `reason` says why. */
export class PageError extends KithError {
  static override readonly code = 'bad_catalog_page'
  static override readonly status = 502
  readonly reason: PageRejectReason
  constructor(reason: PageRejectReason, message: string) {
    super(message)
    this.name = 'PageError'
    this.reason = reason
  }
}

const shape = capabilitySchema.shape
const pageCapSchema = z.object({
  id: shape.id,
  title: shape.title,
  description: shape.description,
  tags: shape.tags,
  kind: shape.kind,
  risk: shape.risk,
  in: z.number().int().min(0).max(MAX_PAGE_ENTRIES),
  out: z.number().int().min(0).max(MAX_PAGE_ENTRIES),
  deterministic: z.boolean().optional(),
})

const pageSchema = z.object({
  v: z.literal(2),
  peer: z.string().min(1).max(128),
  caps: z.array(pageCapSchema).min(1).max(MAX_PAGE_ENTRIES),
  schemas: z.array(shape.input).max(MAX_PAGE_ENTRIES),
})

/** A page as built by its owner: the bytes served, their digest, and how many capabilities they hold. */
export interface CatalogPage {
  bytes: Uint8Array
  digest: Uint8Array
  count: number
}

/** A page being filled: its capabilities, its schema table and about how many bytes they take. */
class PageBuilder {
  readonly caps: Record<string, unknown>[] = []
  readonly schemas: Record<string, unknown>[] = []
  readonly #index = new Map<string, number>()
  size = PAGE_OVERHEAD

  /** The bytes `cap` would add: its entry, plus its schemas not yet in the table. */
  cost(cap: Capability): number {
    // indexes are written as 0 here and take up to 2 more bytes each once real
    let n = canonicalEncode(entryOf(cap, 0, 0)).byteLength + 4
    for (const schema of new Set([key(cap.input), key(cap.output)]))
      if (!this.#index.has(schema)) n += schema.length + 2
    return n
  }

  add(cap: Capability, cost: number): void {
    this.caps.push(entryOf(cap, this.#ref(cap.input), this.#ref(cap.output)))
    this.size += cost
  }

  full(): boolean {
    return this.caps.length >= MAX_PAGE_ENTRIES || this.schemas.length >= MAX_PAGE_ENTRIES - 1
  }

  #ref(schema: Record<string, unknown>): number {
    const k = key(schema)
    const held = this.#index.get(k)
    if (held != null) return held
    this.schemas.push(schema)
    this.#index.set(k, this.schemas.length - 1)
    return this.schemas.length - 1
  }
}

/** A schema's identity: its canonical encoding, as text so it can key a map. */
function key(schema: Record<string, unknown>): string {
  return Buffer.from(canonicalEncode(schema)).toString('latin1')
}

function entryOf(cap: Capability, input: number, output: number): Record<string, unknown> {
  const { input: _i, output: _o, ...rest } = cap
  return { ...rest, in: input, out: output }
}

/**
 * Cuts `caps` into pages of `peer`'s catalog, in order, each under {@link MAX_PAGE_BYTES}. Order is kept so
 * that a capability added at the end (a device imported) changes only the last page and peers pull only it.
 * Capabilities that do not fit (one too large for a page alone, or beyond {@link MAX_PAGES}) are returned in
 * `left`, never dropped silently.
 *
 * @example
 * const { pages, left } = buildPages(peerId, caps)
 */
export function buildPages(peer: string, caps: Capability[]): { pages: CatalogPage[]; left: Capability[] } {
  const pages: CatalogPage[] = []
  const left: Capability[] = []
  let page = new PageBuilder()
  const flush = () => {
    if (page.caps.length === 0) return
    const bytes = canonicalEncode({ v: 2, peer, caps: page.caps, schemas: page.schemas })
    // the estimate is an upper bound by construction; a page over the cap would be refused by every peer
    if (bytes.byteLength > MAX_PAGE_BYTES) throw new PageError('oversize', 'a built page exceeds 16 KiB')
    pages.push({ bytes, digest: sha256(bytes), count: page.caps.length })
    page = new PageBuilder()
  }
  for (const cap of caps) {
    if (pages.length >= MAX_PAGES) {
      left.push(cap)
      continue
    }
    let cost = page.cost(cap)
    if (page.size + cost > MAX_PAGE_BYTES || page.full()) {
      flush()
      if (pages.length >= MAX_PAGES) {
        left.push(cap)
        continue
      }
      cost = page.cost(cap)
    }
    if (PAGE_OVERHEAD + cost > MAX_PAGE_BYTES) {
      left.push(cap)
      continue
    }
    page.add(cap, cost)
  }
  flush()
  return { pages, left }
}

/**
 * Checks that `bytes` are the page announced as `digest` for `peer` and returns its capabilities with their
 * schemas put back in place. Throws {@link PageError}: `oversize`, `digest_mismatch` (checked before decoding,
 * so junk costs one hash), `malformed`, `foreign` (a page of another peer).
 *
 * @example
 * const caps = openPage(bytes, digest, summary.peer)
 */
export function openPage(bytes: Uint8Array, digest: Uint8Array, peer: string): Capability[] {
  if (bytes.byteLength > MAX_PAGE_BYTES)
    throw new PageError('oversize', `page is ${bytes.byteLength} bytes; the limit is ${MAX_PAGE_BYTES}`)
  if (!Buffer.from(sha256(bytes)).equals(digest))
    throw new PageError('digest_mismatch', 'page does not hash to the digest its summary lists')
  let raw: unknown
  try {
    raw = decodeMsgpack(bytes)
  } catch (err) {
    throw new PageError('malformed', `page is not msgpack: ${(err as Error).message}`)
  }
  const parsed = pageSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new PageError('malformed', `page ${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  const page = parsed.data
  if (page.peer !== peer) throw new PageError('foreign', `page of ${page.peer}, not of ${peer}`)
  return page.caps.map(({ in: input, out: output, ...rest }) => {
    const inSchema = page.schemas[input]
    const outSchema = page.schemas[output]
    if (inSchema == null || outSchema == null)
      throw new PageError('malformed', `capability ${rest.id} names a schema the page does not hold`)
    return { ...rest, input: inSchema, output: outSchema }
  })
}
