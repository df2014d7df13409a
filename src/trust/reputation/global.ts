/**
 * Global trust on one topic, from this node's point of view: the matrix whose row for this node is its own
 * local records and whose row for peer i is peer i's latest opinion, run through EigenTrust with the
 * household's nodes (and this node) as the pre-trusted distribution. An opinion thus counts only as much
 * as its sender is trusted, and a peer nobody trusted vouches for gains nothing.
 *
 * Scores in [0, 1] for ranking: score_i = min(1, t_i · N₊), where N₊ is the number of peers holding any
 * trust on the topic. 1 means "at least an equal share of the topic's trust".
 *
 * Peers are given as {@link PeerIds} ids; the matrix is built in two passes over integer arrays (count the
 * entries of each row, then fill), and its rows and columns are the topic's own peers only.
 */
import { CONFIDENCE, REPUTATION_DEFAULTS, TRUST_DUST } from './constants.ts'
import { eigenTrust, pretrustVector } from './eigentrust.ts'

/** One sender's opinion: peer ids and values in [0, 1] summing to at most 1, the sender never among them. */
export interface OpinionRow {
  from: number
  cols: Int32Array
  vals: Float64Array
}

export interface TopicInputs {
  topic: string
  /** every id is below this */
  universe: number
  self: number
  pretrusted: readonly number[]
  /** this node's local trust s_ij per peer id, not normalised */
  local: ReadonlyMap<number, number>
  opinions: readonly OpinionRow[]
}

export interface TopicScores {
  topic: string
  /** peer id → position in `trust` and `scores`, or -1 (ids at or above its length: -1 too) */
  pos: Int32Array
  /** position → peer id */
  ids: Int32Array
  /** global trust, summing to 1 */
  trust: Float64Array
  /** min(1, trust · N₊) */
  scores: Float64Array
  iterations: number
}

export interface ComputeInit {
  alpha?: number
  epsilon?: number
  maxIterations?: number
  /** the last result for this topic (same ids): a warm start, since trust changes little between recomputes */
  previous?: TopicScores
}

/**
 * Normalises local trust into this node's row: s_ij / (Σ_j s_ij + κ). The rest of the row, κ / (Σ + κ),
 * is left to the pre-trusted peers, so little experience means little weight of one's own.
 *
 * @example
 * localRow(new Map([['a', 3], ['b', 1]])) // Map { 'a' => 0.5, 'b' => 0.1666… }
 */
export function localRow<K>(local: ReadonlyMap<K, number>, confidence = CONFIDENCE): Map<K, number> {
  let total = confidence
  for (const s of local.values()) if (s > 0) total += s
  const row = new Map<K, number>()
  for (const [peer, s] of local) if (s > 0) row.set(peer, s / total)
  return row
}

/** Where `id` sits in `scores`, or -1. */
export function positionOf(scores: TopicScores, id: number | undefined): number {
  return id === undefined || id >= scores.pos.length ? -1 : (scores.pos[id] as number)
}

/**
 * Runs EigenTrust on one topic.
 *
 * @example
 * const scores = computeTopic({ topic, universe: ids.size, self, pretrusted, local, opinions }, { alpha: 0.15 })
 * scores.scores[positionOf(scores, ids.find(peer))] // 0.8
 */
export function computeTopic(inputs: TopicInputs, init: ComputeInit = {}): TopicScores {
  const pos = new Int32Array(inputs.universe).fill(-1)
  const order: number[] = []
  let n = 0
  // pass 1: every peer of the topic gets a position (this node first); each row's length is counted
  const place = (id: number) => {
    if ((pos[id] as number) < 0) {
      pos[id] = n++
      order.push(id)
    }
  }
  place(inputs.self)
  for (const id of inputs.pretrusted) place(id)
  const mine = localRow(inputs.local)
  for (const id of mine.keys()) place(id)
  const rows = inputs.opinions
  for (let r = 0; r < rows.length; r++) {
    const { from, cols } = rows[r] as OpinionRow
    if (from === inputs.self) continue
    place(from)
    for (let k = 0; k < cols.length; k++) {
      const id = cols[k] as number
      if ((pos[id] as number) < 0) {
        pos[id] = n++
        order.push(id)
      }
    }
  }
  const rowPtr = new Int32Array(n + 1)
  rowPtr[1] = mine.size
  for (const { from, cols } of rows) if (from !== inputs.self) rowPtr[(pos[from] as number) + 1] = cols.length
  for (let i = 0; i < n; i++) rowPtr[i + 1] = (rowPtr[i + 1] as number) + (rowPtr[i] as number)
  // pass 2: fill
  const nnz = rowPtr[n] as number
  const col = new Int32Array(nnz)
  const val = new Float64Array(nnz)
  let k = 0
  for (const [id, v] of mine) {
    col[k] = pos[id] as number
    val[k++] = v
  }
  for (let r = 0; r < rows.length; r++) {
    const { from, cols, vals } = rows[r] as OpinionRow
    if (from === inputs.self) continue
    let q = rowPtr[pos[from] as number] as number
    for (let e = 0; e < cols.length; e++) {
      col[q] = pos[cols[e] as number] as number
      val[q++] = vals[e] as number
    }
  }
  const p = pretrustVector(n, [0, ...inputs.pretrusted.map((id) => pos[id] as number)])
  const { trust, iterations } = eigenTrust({ n, rowPtr, col, val }, p, {
    alpha: init.alpha ?? REPUTATION_DEFAULTS.alpha,
    ...(init.epsilon !== undefined ? { epsilon: init.epsilon } : {}),
    ...(init.maxIterations !== undefined ? { maxIterations: init.maxIterations } : {}),
    ...(init.previous !== undefined ? { start: warmStart(order, init.previous) } : {}),
  })
  let holders = 0
  for (let i = 0; i < n; i++) if ((trust[i] as number) > TRUST_DUST) holders++
  const scores = new Float64Array(n)
  for (let i = 0; i < n; i++) scores[i] = Math.min(1, (trust[i] as number) * holders)
  return { topic: inputs.topic, pos, ids: Int32Array.from(order), trust, scores, iterations }
}

/**
 * The previous trust of each peer still present (new peers start at 0; eigenTrust renormalises). Mass left
 * from the previous result where no rating supports it any more decays by (1 − a) per iteration, and the
 * iteration runs until the change is below epsilon, so at most about epsilon / a of it remains.
 */
function warmStart(order: readonly number[], previous: TopicScores): Float64Array {
  const start = new Float64Array(order.length)
  order.forEach((id, i) => {
    const j = positionOf(previous, id)
    if (j >= 0) start[i] = previous.trust[j] as number
  })
  return start
}
