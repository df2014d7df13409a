/**
 * How the tasks this node delegated ended, as their results said (provider, tier, checks, attempts), for the
 * recent ones: the journal keeps only status and hashes, and the dashboard shows what was verified and how.
 * Outputs are not kept. Bounded; the oldest result leaves first.
 */
import type { DelegateResult } from './delegate.ts'
import { BoundedMap } from '../util/bounded-map.ts'

export type ResultSummary = Omit<DelegateResult, 'output'>

/** Results kept by default. */
export const RECENT_RESULTS = 512

export class RecentResults {
  readonly #byId: BoundedMap<string, ResultSummary>

  constructor(max = RECENT_RESULTS) {
    this.#byId = new BoundedMap({ max, refresh: 'set' })
  }

  /**
   * @example
   * results.add(id, await delegate(deps, request))
   * results.get(id)?.checks
   */
  add(id: string, result: DelegateResult): void {
    const { output: _output, ...summary } = result
    this.#byId.set(id, summary)
  }

  get(id: string): ResultSummary | undefined {
    return this.#byId.get(id)
  }
}
