/**
 * Taking in a v2 summary and its catalog pages: the summary goes through every check a v1 body does
 * (intake.ts: size, schema, announced digest, freshness, budget, signature), then the pages it lists that
 * this node does not hold are pulled, each checked against its listed digest (which the signature covers),
 * and only when every page is in does the store get the summary, with all its capabilities in `caps`. A
 * peer's full capability list is therefore either entirely visible or not yet, never half.
 */
import type { Capability, SignatureVerifier } from './descriptor.ts'
import { DescriptorError } from './descriptor.ts'
import { openPage, PageError, type PageRejectReason } from './catalog-page.ts'
import {
  DescriptorIntake,
  type IntakeCounters,
  type IntakeInit,
  type IntakeNotice,
  type IntakeOutcome,
  ignoredOrThrow,
} from './intake.ts'
import type { PageCache } from './page-cache.ts'
import { TokenBuckets } from '../util/token-bucket.ts'
import type { DescriptorStore } from './store.ts'
import { parseSummary, type ParsedSummary, viewOf } from './summary.ts'

export interface CatalogIntakeComponents {
  store: DescriptorStore
  verify: SignatureVerifier
  self: string
  pages: PageCache
}

export interface CatalogIntakeCounters extends IntakeCounters {
  /** pages pulled and taken */
  pagesPulled: number
  /** pages a new summary listed that were held already (not pulled again) */
  pagesReused: number
  /**
   * pages refused, by why; `missing`: no source had it, `no_room`: the page cache is full of live pages,
   * `limited`: the origin's page budget is spent (the summary is taken at a later notice)
   */
  pagesRejected: Record<PageRejectReason | 'missing' | 'no_room' | 'limited', number>
}

export interface CatalogIntakeInit extends IntakeInit {
  /** pages one origin may make this node pull per second, sustained */
  pageRatePerSec?: number
  /** and in a burst: two full catalogs */
  pageBurst?: number
}

export const CATALOG_INTAKE_DEFAULTS = { pageRatePerSec: 2, pageBurst: 128 }

/** Pulls pages by digest from wherever the summary came from; an entry is undefined when nobody served it. */
export type PageFetcher = (digests: Uint8Array[]) => Promise<Array<Uint8Array | undefined>>

export class CatalogIntake {
  readonly counters: CatalogIntakeCounters
  readonly #c: CatalogIntakeComponents
  readonly #intake: DescriptorIntake
  /**
   * Pages pulled per origin: an origin can sign new summaries listing new pages as fast as the signature
   * budget lets it, and each may name 1 MiB of pages; an honest hub changes a page or two per device change.
   */
  readonly #pageBudget: TokenBuckets

  constructor(components: CatalogIntakeComponents, init: CatalogIntakeInit = {}) {
    this.#c = components
    this.#intake = new DescriptorIntake(components, init)
    this.#pageBudget = new TokenBuckets({
      ratePerSec: init.pageRatePerSec ?? CATALOG_INTAKE_DEFAULTS.pageRatePerSec,
      burst: init.pageBurst ?? CATALOG_INTAKE_DEFAULTS.pageBurst,
      ...(init.now != null ? { now: init.now } : {}),
    })
    this.counters = Object.assign(this.#intake.counters, {
      pagesPulled: 0,
      pagesReused: 0,
      pagesRejected: {
        oversize: 0,
        malformed: 0,
        digest_mismatch: 0,
        foreign: 0,
        count_mismatch: 0,
        missing: 0,
        no_room: 0,
        limited: 0,
      },
    })
  }

  /**
   * Takes summary `bytes` sent by `from`, pulling the pages it lists that are not held through `fetch`.
   * Throws {@link DescriptorError} or DigestMismatchError for a bad summary and {@link PageError} for a bad
   * page (all the sender's fault); a page nobody could serve leaves the summary out (`ignored`), to be
   * tried again at its origin's next notice.
   *
   * @example
   * const outcome = await intake.take(bytes, source.toString(), notice, (d) => pullPages(source, d))
   */
  async take(
    bytes: Uint8Array,
    from: string,
    notice: IntakeNotice | undefined,
    fetch: PageFetcher,
  ): Promise<IntakeOutcome> {
    const parsed = this.#parse(bytes)
    const admitted = this.#intake.admit(parsed, from, notice)
    if ('result' in admitted) return admitted
    // pages are held for this intake until the store holds the summary (which then names them) or not
    const held: string[] = []
    try {
      const caps = await this.#capabilities(parsed, fetch, held)
      if (caps == null) return { result: 'ignored', why: 'catalog pages unavailable' }
      const signed = {
        descriptor: viewOf(parsed.unverified, caps),
        bytes: parsed.bytes,
        digest: parsed.digest,
      }
      return { result: this.#c.store.put(signed, admitted.vouch), signed }
    } catch (err) {
      return ignoredOrThrow(err)
    } finally {
      this.#c.pages.release(held)
    }
  }

  /** Every page's capabilities in catalog order, pulling those not held; undefined when one is unavailable. */
  async #capabilities(
    parsed: ParsedSummary,
    fetch: PageFetcher,
    holding: string[],
  ): Promise<Capability[] | undefined> {
    const { peer, catalog } = parsed.unverified
    const held = new Map<string, Capability[]>()
    const missing: Uint8Array[] = []
    for (const { digest } of catalog.pages) {
      const hex = Buffer.from(digest).toString('hex')
      const page = this.#c.pages.hold(hex)
      if (page != null) {
        holding.push(hex)
        held.set(hex, page.caps)
      } else missing.push(digest)
    }
    this.counters.pagesReused += held.size
    if (missing.length > 0 && !this.#pageBudget.take(peer, missing.length)) {
      this.counters.pagesRejected.limited++
      return undefined
    }
    const answers = missing.length > 0 ? await this.#fetch(fetch, missing) : []
    for (const [i, digest] of missing.entries()) {
      const bytes = answers[i]
      if (bytes == null) {
        this.counters.pagesRejected.missing++
        return undefined
      }
      const caps = this.#open(bytes, digest, peer)
      const hex = Buffer.from(digest).toString('hex')
      if (!this.#c.pages.add(hex, { bytes, caps })) {
        this.counters.pagesRejected.no_room++
        return undefined
      }
      holding.push(hex)
      this.counters.pagesPulled++
      held.set(hex, caps)
    }
    const caps: Capability[] = []
    for (const { digest, count } of catalog.pages) {
      const page = held.get(Buffer.from(digest).toString('hex')) ?? []
      if (page.length !== count) {
        this.counters.pagesRejected.count_mismatch++
        throw new PageError(
          'count_mismatch',
          `a page holds ${page.length} capabilities; its summary says ${count}`,
        )
      }
      caps.push(...page)
    }
    return caps
  }

  async #fetch(fetch: PageFetcher, digests: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    try {
      return await fetch(digests)
    } catch (err) {
      if (err instanceof PageError) this.counters.pagesRejected[err.reason]++
      throw err
    }
  }

  #open(bytes: Uint8Array, digest: Uint8Array, peer: string): Capability[] {
    try {
      return openPage(bytes, digest, peer)
    } catch (err) {
      if (err instanceof PageError) this.counters.pagesRejected[err.reason]++
      throw err
    }
  }

  #parse(bytes: Uint8Array): ParsedSummary {
    try {
      return parseSummary(bytes)
    } catch (err) {
      if (err instanceof DescriptorError) this.#c.store.reject(err.reason)
      throw err
    }
  }
}
