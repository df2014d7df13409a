/**
 * The anti-rollback floor: the highest release applied per owner, kept in the node's SQLite file so that a
 * restart, or an older release replayed by a peer, can never take a node back to a version it has left.
 */
import type { KeyValue } from '../store/kv.ts'
import { ReleaseError } from './release.ts'
import type { ReleaseManifest } from './release.ts'

const KEY_PREFIX = 'fleet.release.floor.'

/** Per owner, the highest release applied; only ever raised. */
export class ReleaseFloor {
  readonly #kv: KeyValue

  constructor(kv: KeyValue) {
    this.#kv = kv
  }

  /** The highest release applied from `owner`, 0 when none was. */
  floor(owner: string): number {
    const stored = this.#kv.get(KEY_PREFIX + owner)
    return stored === undefined ? 0 : Number(stored)
  }

  /**
   * Refuses a release not above the floor of its owner, with `stale`.
   *
   * @example
   * floor.accept(manifest) // throws ReleaseError('stale', …) for a replayed or older release
   */
  accept(manifest: Pick<ReleaseManifest, 'owner' | 'release'>): void {
    const floor = this.floor(manifest.owner)
    if (manifest.release <= floor)
      throw new ReleaseError(
        'stale',
        `release ${manifest.release} is not above release ${floor}, already applied`,
        'publish a release with a higher number',
      )
  }

  /**
   * Records that `manifest` was applied; a lower number leaves the floor where it is.
   *
   * @example
   * floor.raise(manifest) // floor.floor(manifest.owner) === manifest.release
   */
  raise(manifest: Pick<ReleaseManifest, 'owner' | 'release'>): void {
    if (manifest.release > this.floor(manifest.owner))
      this.#kv.set(KEY_PREFIX + manifest.owner, String(manifest.release))
  }
}
