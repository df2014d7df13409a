/** Quantiles of the scale scenario's delays, kept as a summary: a run at 10,000 nodes has 400,000 of them. */

export interface Quantiles {
  samples: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/**
 * Nearest-rank quantile of ascending `sorted` values (0 when there are none).
 *
 * @example
 * quantile([1, 2, 3, 4], 0.5) // 2
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1] as number
}

/**
 * @example
 * quantiles([30, 10, 20]) // { samples: 3, mean: 20, p50: 20, p90: 30, p99: 30, max: 30 }
 */
export function quantiles(values: readonly number[]): Quantiles {
  const sorted = Float64Array.from(values).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    samples: sorted.length,
    mean: sorted.length === 0 ? 0 : sum / sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number),
  }
}
