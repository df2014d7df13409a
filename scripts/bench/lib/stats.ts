/** Summary statistics for benchmark samples. */
import type { Comparison, MetricSamples, MetricSummary, Target } from './types.ts'

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new Error('no samples')
  if (samples.some((s) => !Number.isFinite(s)))
    throw new Error(`not a finite sample in ${samples.join(', ')}`)
  return [...samples].sort((a, b) => a - b)
}

/**
 * The middle sample, or the mean of the two middle ones.
 *
 * @example
 * median([3, 1, 2]) // 2
 * median([4, 1, 3, 2]) // 2.5
 */
export function median(samples: readonly number[]): number {
  const s = sorted(samples)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * The nearest-rank percentile: the smallest sample with at least `p` percent of samples at or below it.
 *
 * @example
 * percentile([1, 2, 3, 4, 5], 99) // 5
 * percentile([1, 2, 3, 4, 5], 50) // 3
 */
export function percentile(samples: readonly number[], p: number): number {
  const s = sorted(samples)
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[rank - 1]!
}

/** n, median, p99, min and max of one metric, with its target if the module set one. */
export function summarize(result: MetricSamples, target?: Target): MetricSummary {
  const s = sorted(result.samples)
  return {
    metric: result.metric,
    unit: result.unit,
    n: s.length,
    median: median(s),
    p99: percentile(s, 99),
    min: s[0]!,
    max: s[s.length - 1]!,
    ...(target != null ? { target } : {}),
    samples: result.samples,
  }
}

/** Fills in each comparison's ratio from the medians; refuses a comparison that names an unknown metric. */
export function resolveComparisons(
  comparisons: readonly Comparison[],
  metrics: readonly MetricSummary[],
): Required<Comparison>[] {
  const byName = new Map(metrics.map((m) => [m.metric, m]))
  return comparisons.map((c) => {
    const num = byName.get(c.numerator)
    const den = byName.get(c.denominator)
    if (num == null || den == null) {
      throw new Error(`comparison ${c.name}: no metric ${num == null ? c.numerator : c.denominator}`)
    }
    return { ...c, ratio: c.ratio ?? num.median / den.median }
  })
}

/** True when the median meets the target. */
export function meetsTarget(summary: Pick<MetricSummary, 'median'>, target: Target): boolean {
  return target.max != null ? summary.median <= target.max : summary.median >= target.min!
}

/** The metrics of `samples` in `order`; a metric without samples is a bug in the benchmark, so it throws. */
export function inOrder(
  samples: ReadonlyMap<string, MetricSamples>,
  order: readonly string[],
): MetricSamples[] {
  return order.map((metric) => {
    const entry = samples.get(metric)
    if (entry === undefined) throw new Error(`no samples for ${metric}`)
    return entry
  })
}
