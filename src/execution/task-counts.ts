/**
 * Tasks ended, by direction (`in`: run here for a peer; `out`: delegated from here, wherever it ran), status
 * and tier: plain counters that the metrics read when scraped (api/metrics.ts), so counting costs a task
 * one map lookup.
 */

export interface TaskCount {
  direction: 'in' | 'out'
  /** `ok`, `error`, `busy`, `denied`, `timeout`; for `out` also `unreachable`, `rejected`, `no_provider` */
  status: string
  /**
   * `1`, `2` or `3`; for `in`, `3` when the requester asked for evidence and `unknown` otherwise: a provider
   * cannot tell Tier 1 from Tier 2, whose canaries look like any task
   */
  tier: string
  count: number
}

export class TaskCounts {
  readonly #rows = new Map<string, TaskCount>()

  /**
   * @example
   * counts.add('out', 'ok', 2)
   * [...counts.rows()] // [{ direction: 'out', status: 'ok', tier: '2', count: 1 }]
   */
  add(direction: TaskCount['direction'], status: string, tier: number | string): void {
    const key = `${direction} ${status} ${tier}`
    const row = this.#rows.get(key)
    if (row !== undefined) row.count++
    else this.#rows.set(key, { direction, status, tier: String(tier), count: 1 })
  }

  rows(): IterableIterator<Readonly<TaskCount>> {
    return this.#rows.values()
  }
}
