/**
 * Peer ids as small integers, interned once when an opinion arrives, so that a recompute builds its matrices
 * from integer arrays instead of looking up strings: that lookup was most of a recompute's cost.
 *
 * Ids are dense from 0 and never reused while the table lives; the owner starts a new table
 * ({@link PeerIds.reset}) when it holds many more ids than anything still refers to, and re-interns what it
 * keeps.
 */
export class PeerIds {
  readonly #ids = new Map<string, number>()
  #names: string[] = []

  /** Ids handed out. */
  get size(): number {
    return this.#names.length
  }

  /**
   * The id of `peer`, made when new.
   *
   * @example
   * const ids = new PeerIds()
   * ids.id('12D3KooWA…') // 0
   * ids.id('12D3KooWB…') // 1
   * ids.id('12D3KooWA…') // 0
   */
  id(peer: string): number {
    let id = this.#ids.get(peer)
    if (id === undefined) {
      id = this.#names.length
      this.#ids.set(peer, id)
      this.#names.push(peer)
    }
    return id
  }

  /** The id of `peer` if it has one. */
  find(peer: string): number | undefined {
    return this.#ids.get(peer)
  }

  /** The peer an id stands for. */
  name(id: number): string | undefined {
    return this.#names[id]
  }

  /** Forgets every id. */
  reset(): void {
    this.#ids.clear()
    this.#names = []
  }
}
