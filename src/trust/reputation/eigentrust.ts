/**
 * EigenTrust (Kamvar, Schlosser, Garcia-Molina 2003) with pre-trusted peers, by power iteration over a sparse
 * matrix in compressed-row form:
 *
 *     t(k+1) = (1 − a) · Cᵀ t(k) + a · p,   t(0) = p (or a warm start)
 *
 * C is row-stochastic: row i holds what peer i thinks of the others, c_ij ≥ 0. A row may sum to less than 1;
 * its rest goes to p, the pre-trusted distribution (a peer with no opinion trusts the household). So t stays
 * a probability distribution, and a group of peers that only rate each other gains nothing unless someone
 * with trust rates one of them: mass enters a group only through a rating by a peer that has mass.
 *
 * Cost: one pass over the non-zeros per iteration; 1,000 peers rating 20 others each take a few µs per pass.
 */
import { EPSILON, MAX_ITERATIONS } from './constants.ts'

/** C in compressed-row form: row i's entries are `col[rowPtr[i] .. rowPtr[i+1])` with values `val`. */
export interface TrustMatrix {
  n: number
  rowPtr: Int32Array
  col: Int32Array
  val: Float64Array
}

export interface EigenTrustInit {
  /** weight of the pre-trusted distribution, in (0, 1]; default 0.15 */
  alpha?: number
  /** stop when the L1 change of t is below this; default 1e-6 */
  epsilon?: number
  maxIterations?: number
  /** a previous result to start from (its length must be n); default p */
  start?: Float64Array
}

export interface EigenTrustResult {
  /** global trust, summing to 1 */
  trust: Float64Array
  iterations: number
  /** L1 change of the last iteration */
  delta: number
}

/**
 * Builds the matrix from rows given as maps column → value. Negative and non-finite values are dropped; a
 * row whose values sum to more than 1 is scaled down to sum to 1.
 *
 * @example
 * const c = trustMatrix([new Map([[1, 1]]), new Map([[0, 0.5], [2, 0.5]]), undefined])
 */
export function trustMatrix(rows: readonly (ReadonlyMap<number, number> | undefined)[]): TrustMatrix {
  const n = rows.length
  let nnz = 0
  for (const row of rows) nnz += row?.size ?? 0
  const rowPtr = new Int32Array(n + 1)
  const col = new Int32Array(nnz)
  const val = new Float64Array(nnz)
  let k = 0
  for (let i = 0; i < n; i++) {
    rowPtr[i] = k
    const row = rows[i]
    if (row === undefined) continue
    const start = k
    let sum = 0
    for (const [j, v] of row) {
      if (!(v > 0) || !Number.isFinite(v) || j < 0 || j >= n) continue
      col[k] = j
      val[k] = v
      sum += v
      k++
    }
    if (sum > 1) for (let q = start; q < k; q++) val[q] = (val[q] as number) / sum
  }
  rowPtr[n] = k
  return { n, rowPtr, col: col.subarray(0, k), val: val.subarray(0, k) }
}

/**
 * The pre-trusted distribution over `n` peers: uniform over `pretrusted` (indices), or over all peers when
 * there are none.
 *
 * @example
 * pretrustVector(4, [0, 1]) // Float64Array [0.5, 0.5, 0, 0]
 */
export function pretrustVector(n: number, pretrusted: Iterable<number>): Float64Array {
  const p = new Float64Array(n)
  const set = new Set([...pretrusted].filter((i) => i >= 0 && i < n))
  if (set.size === 0) p.fill(n > 0 ? 1 / n : 0)
  else for (const i of set) p[i] = 1 / set.size
  return p
}

/**
 * Global trust by power iteration.
 *
 * @example
 * const { trust } = eigenTrust(trustMatrix(rows), pretrustVector(rows.length, [0]), { alpha: 0.15 })
 */
export function eigenTrust(c: TrustMatrix, p: Float64Array, init: EigenTrustInit = {}): EigenTrustResult {
  const { n, rowPtr, col, val } = c
  if (p.length !== n) throw new RangeError(`p has ${p.length} entries for ${n} peers`)
  const alpha = init.alpha ?? 0.15
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError('alpha must be in (0, 1]')
  const epsilon = init.epsilon ?? EPSILON
  const maxIterations = init.maxIterations ?? MAX_ITERATIONS
  // what each row leaves to p
  const rest = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let sum = 0
    for (let k = rowPtr[i] as number; k < (rowPtr[i + 1] as number); k++) sum += val[k] as number
    rest[i] = Math.max(0, 1 - sum)
  }
  let t: Float64Array = start(p, init.start)
  let next: Float64Array = new Float64Array(n)
  let delta = Infinity
  let iterations = 0
  while (iterations < maxIterations && delta >= epsilon) {
    next.fill(0)
    let toP = 0
    for (let i = 0; i < n; i++) {
      const ti = t[i] as number
      if (ti === 0) continue
      toP += ti * (rest[i] as number)
      const end = rowPtr[i + 1] as number
      for (let k = rowPtr[i] as number; k < end; k++) {
        const j = col[k] as number
        next[j] = (next[j] as number) + ti * (val[k] as number)
      }
    }
    const keep = 1 - alpha
    delta = 0
    let total = 0
    for (let j = 0; j < n; j++) {
      const v = keep * ((next[j] as number) + toP * (p[j] as number)) + alpha * (p[j] as number)
      next[j] = v
      total += v
      delta += Math.abs(v - (t[j] as number))
    }
    // keep it a distribution despite rounding
    if (total > 0 && Math.abs(total - 1) > 1e-12)
      for (let j = 0; j < n; j++) next[j] = (next[j] as number) / total
    ;[t, next] = [next, t]
    iterations++
  }
  return { trust: t, iterations, delta }
}

/** The starting vector: `given` when it fits and holds mass, normalised; else a copy of p. */
function start(p: Float64Array, given: Float64Array | undefined): Float64Array {
  if (given === undefined || given.length !== p.length) return Float64Array.from(p)
  let total = 0
  for (let i = 0; i < given.length; i++) total += Math.max(0, given[i] as number)
  if (!(total > 0)) return Float64Array.from(p)
  const t = new Float64Array(given.length)
  for (let i = 0; i < given.length; i++) t[i] = Math.max(0, given[i] as number) / total
  return t
}
