/** Interval estimates for the simulator's outputs. */

/**
 * The Wilson score interval of a proportion: `successes` of `trials`, at `z` (1.96: 95 %).
 *
 * @example
 * wilson(45, 50) // { rate: 0.9, low: 0.786…, high: 0.956… }
 */
export function wilson(
  successes: number,
  trials: number,
  z = 1.96,
): { rate: number; low: number; high: number } {
  if (trials === 0) return { rate: 0, low: 0, high: 1 }
  const p = successes / trials
  const z2 = z * z
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials)
  return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}

/** Two-sided 97.5 % quantiles of Student's t for 1 to 30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

/**
 * The mean of per-seed values with a 95 % Student t interval: the spread between seeds (networks, roles),
 * which a pooled interval over workflows does not see. The interval is kept within `bounds` (default
 * [0, 1], for rates; a single value gives the whole of it).
 *
 * @example
 * meanInterval([0.8, 0.6, 0.7]) // { mean: 0.7, low: 0.45…, high: 0.94… }
 */
export function meanInterval(
  values: readonly number[],
  bounds: { min: number; max: number } = { min: 0, max: 1 },
): { mean: number; low: number; high: number } {
  const n = values.length
  if (n === 0) return { mean: 0, low: bounds.min, high: bounds.max }
  const mean = values.reduce((a, b) => a + b, 0) / n
  if (n === 1) return { mean, low: bounds.min, high: bounds.max }
  const variance = values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / (n - 1)
  const half = (T975[n - 2] ?? 1.96) * Math.sqrt(variance / n)
  return { mean, low: Math.max(bounds.min, mean - half), high: Math.min(bounds.max, mean + half) }
}
