/**
 * Remembers request nonces until their request expires, so a replay within the window is refused and the
 * memory used is bounded by the window (and, hard, by `maxEntries`: when full, new requests are refused
 * rather than old nonces forgotten).
 */
export class NonceCache {
  readonly #seen = new Map<string, number>()
  readonly #windowMs: number
  readonly #maxEntries: number
  #lastSweep = 0

  constructor(windowMs: number, maxEntries = 100_000) {
    this.#windowMs = windowMs
    this.#maxEntries = maxEntries
  }

  /** Adds `nonce` valid until `expiresAt`; false if it was already there (a replay) or the cache is full. */
  add(nonce: string, expiresAt: number, now = Date.now()): boolean {
    if (now - this.#lastSweep > 1_000 || this.#seen.size >= this.#maxEntries) this.#sweep(now)
    if (this.#seen.has(nonce) || this.#seen.size >= this.#maxEntries) return false
    this.#seen.set(nonce, Math.min(expiresAt, now + this.#windowMs))
    return true
  }

  get size(): number {
    return this.#seen.size
  }

  #sweep(now: number): void {
    this.#lastSweep = now
    for (const [nonce, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(nonce)
  }
}
