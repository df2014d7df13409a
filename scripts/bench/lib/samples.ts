/** Raw samples of a benchmark run, collected by metric in the order metrics first appear. */
import type { MetricSamples } from './types.ts'

/**
 * @example
 * const samples = new SampleSet()
 * samples.add('ready', 'ms', [12.5, 13.1])
 * return { results: [...samples.values()] }
 */
export class SampleSet extends Map<string, MetricSamples> {
  /** Appends `values` (one or many) to `metric`, creating it with `unit` the first time. */
  add(metric: string, unit: string, values: number | readonly number[]): void {
    const entry = this.get(metric) ?? { metric, unit, samples: [] }
    if (typeof values === 'number') entry.samples.push(values)
    else entry.samples.push(...values)
    this.set(metric, entry)
  }
}
