/**
 * How the tasks this node delegated ended, as their results said (provider, tier, checks, attempts), for the
 * recent ones: the journal keeps only status and hashes, and the dashboard shows what was verified and how.
 * Outputs are not kept. Bounded; the oldest result leaves first.
 */
import type { DelegateResult } from './delegate.ts'

export type ResultSummary = Omit<DelegateResult, 'output'>

/** Results kept by default. */
export const RECENT_RESULTS = 512

export class RecentResults {
  readonly #max: number
  readonly #byId = new Map<string, ResultSummary>()

  constructor(max = RECENT_RESULTS) {
    this.#max = max
  }

  /**
   * @example
   * results.add(id, await delegate(deps, request))
   * results.get(id)?.checks
   */
  add(id: string, result: DelegateResult): void {
    const { output: _output, ...summary } = result
    this.#byId.delete(id)
    this.#byId.set(id, summary)
    if (this.#byId.size > this.#max) this.#byId.delete(this.#byId.keys().next().value as string)
  }

  get(id: string): ResultSummary | undefined {
    return this.#byId.get(id)
  }
}
