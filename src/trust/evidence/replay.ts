/**
 * Remembers the receipts a requester has accepted, so the same receipt offered again (for a retried task, or by
 * a peer that copies another's evidence) is refused as `replayed`. Receipts older than the verifier's age limit
 * are refused as `stale` anyway, so a bounded memory of recent ones is enough.
 */
import { BoundedSet } from '../../util/bounded-map.ts'

const DEFAULT_MAX_ENTRIES = 10_000

export interface ReplayGuardInit {
  /** receipts remembered; the oldest is forgotten beyond it. Default 10,000 */
  maxEntries?: number
}

export class ReceiptReplayGuard {
  private readonly seenHashes: BoundedSet<string>

  constructor(init: ReplayGuardInit = {}) {
    this.seenHashes = new BoundedSet(Math.max(1, init.maxEntries ?? DEFAULT_MAX_ENTRIES))
  }

  /**
   * True when a receipt with this hash was accepted before.
   *
   * @example
   * const guard = new ReceiptReplayGuard()
   * guard.remember(hash)
   * guard.has(hash) // true
   */
  has(hash: Uint8Array): boolean {
    return this.seenHashes.has(Buffer.from(hash).toString('hex'))
  }

  /** Records an accepted receipt's hash. */
  remember(hash: Uint8Array): void {
    this.seenHashes.add(Buffer.from(hash).toString('hex'))
  }

  get size(): number {
    return this.seenHashes.size
  }
}
