/**
 * Catalog pages held for other peers' summaries, by digest: bounded by bytes and by count, shared by every
 * summary that lists the same page (a peer that re-signs after one device changed lists mostly the same
 * pages, which are then not pulled again). A page lives as long as a live summary in the store names it:
 * the cache follows the store's events, counting references, and drops a page when its last summary goes.
 * A page taken in but not (yet) named by a held summary is the first to make room.
 */
import type { Capability } from './descriptor.ts'
import type { DescriptorStore, StoreEvent } from './store.ts'

export interface PageCacheInit {
  /** bytes of page wire held at most */
  maxBytes?: number
  /** pages held at most */
  maxPages?: number
}

export const PAGE_CACHE_DEFAULTS = { maxBytes: 32 * 1024 * 1024, maxPages: 4096 }

/** A page held: its wire bytes (served to peers that pull it from here) and its capabilities, opened. */
export interface HeldPage {
  bytes: Uint8Array
  caps: Capability[]
}

export interface PageCacheCounters {
  held: number
  bytes: number
  /** pages no summary named any more, dropped */
  released: number
  /** pages taken in but never named, dropped to make room */
  evicted: number
  /** pages refused because every page held is named by a live summary and there is no room */
  full: number
}

interface Slot extends HeldPage {
  refs: number
}

export class PageCache {
  readonly counters: PageCacheCounters = { held: 0, bytes: 0, released: 0, evicted: 0, full: 0 }
  readonly #pages = new Map<string, Slot>()
  readonly #maxBytes: number
  readonly #maxPages: number

  constructor(init: PageCacheInit = {}) {
    this.#maxBytes = init.maxBytes ?? PAGE_CACHE_DEFAULTS.maxBytes
    this.#maxPages = init.maxPages ?? PAGE_CACHE_DEFAULTS.maxPages
  }

  get size(): number {
    return this.#pages.size
  }

  get(digestHex: string): HeldPage | undefined {
    return this.#pages.get(digestHex)
  }

  /**
   * The page of `digestHex`, kept for the caller (an intake assembling a summary) until it calls
   * {@link release}; undefined when not held.
   */
  hold(digestHex: string): HeldPage | undefined {
    const slot = this.#pages.get(digestHex)
    if (slot != null) slot.refs++
    return slot
  }

  /**
   * Holds an opened page for the caller until {@link release}, as {@link hold} does; false (counted as
   * `full`) when there is no room even after dropping the pages no summary or intake names.
   */
  add(digestHex: string, page: HeldPage): boolean {
    if (this.hold(digestHex) != null) return true
    const size = page.bytes.byteLength
    if (!this.#room(size)) {
      this.counters.full++
      return false
    }
    this.#pages.set(digestHex, { ...page, refs: 1 })
    this.counters.held = this.#pages.size
    this.counters.bytes += size
    return true
  }

  /** Lets go of pages taken with {@link hold} or {@link add}; a page nothing else names is dropped. */
  release(digests: string[]): void {
    this.#ref(digests, -1)
  }

  /** Keeps the pages of every summary the store holds, and only those; returns the unsubscribe function. */
  follow(store: DescriptorStore): () => void {
    return store.onChange((event: StoreEvent) => {
      if (event.type === 'state') return
      // the new summary's pages first: a page both list must not be dropped in between
      if (event.type === 'put') this.#ref(pagesOf(event.entry.descriptor.catalog), 1)
      const gone = event.type === 'put' ? event.previous : event.entry
      if (gone != null) this.#ref(pagesOf(gone.descriptor.catalog), -1)
    })
  }

  #ref(digests: string[], by: 1 | -1): void {
    for (const digest of digests) {
      const slot = this.#pages.get(digest)
      if (slot == null) continue
      slot.refs += by
      if (slot.refs <= 0 && by < 0) {
        this.#drop(digest, slot)
        this.counters.released++
      }
    }
  }

  #room(size: number): boolean {
    const fits = () => this.#pages.size < this.#maxPages && this.counters.bytes + size <= this.#maxBytes
    if (fits()) return true
    for (const [digest, slot] of this.#pages) {
      if (slot.refs > 0) continue
      this.#drop(digest, slot)
      this.counters.evicted++
      if (fits()) return true
    }
    return fits()
  }

  #drop(digest: string, slot: Slot): void {
    this.#pages.delete(digest)
    this.counters.bytes -= slot.bytes.byteLength
    this.counters.held = this.#pages.size
  }
}

/** The digests (hex) a summary's catalog lists; none for a v1 descriptor. */
export function pagesOf(catalog: { pages: Array<{ digest: Uint8Array }> } | undefined): string[] {
  return catalog?.pages.map((p) => Buffer.from(p.digest).toString('hex')) ?? []
}
