/**
 * Tells MCP sessions when the tool list changed. It polls the catalog, whose snapshot key changes exactly
 * when the live capabilities do, so a poll where nothing changed costs one walk over the live descriptors
 * (in the node) or one `GET /v1/descriptors` (in `kith mcp`). Changes within one interval are coalesced
 * into one notification; a descriptor that only refreshes its seq or state changes nothing.
 */
import type { ToolCatalog } from './catalog.ts'

export interface ToolListWatcherInit {
  catalog: ToolCatalog
  intervalMs: number
  /** a failed poll (the node unreachable); the watcher keeps polling */
  onError?(err: unknown): void
}

/**
 * Polls only while someone listens.
 *
 * @example
 * const watcher = new ToolListWatcher({ catalog, intervalMs: 1000 })
 * const off = watcher.subscribe(() => void server.sendToolListChanged())
 */
export class ToolListWatcher {
  readonly #init: ToolListWatcherInit
  readonly #listeners = new Set<() => void>()
  #timer: ReturnType<typeof setInterval> | undefined
  #key: string | undefined
  #polling = false

  constructor(init: ToolListWatcherInit) {
    this.#init = init
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    if (this.#timer === undefined) {
      // poll() reports its failures to onError itself; this catch is for anything that escapes it
      const poll = () => void this.poll().catch((err: unknown) => this.#init.onError?.(err))
      poll()
      this.#timer = setInterval(poll, this.#init.intervalMs)
      this.#timer.unref()
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) this.stop()
    }
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#key = undefined
  }

  /** Compares the live capabilities with the last poll's; tells every listener when they differ. */
  async poll(): Promise<void> {
    if (this.#polling) return
    this.#polling = true
    try {
      const { key } = await this.#init.catalog.snapshot()
      const changed = this.#key !== undefined && key !== this.#key
      this.#key = key
      if (changed) for (const listener of [...this.#listeners]) listener()
    } catch (err) {
      this.#init.onError?.(err)
    } finally {
      this.#polling = false
    }
  }
}
