/**
 * EigenTrust recompute (trust issue, Tier 1): global trust for 1,000 peers on 5 topics, where every peer
 * rates about 20 others per topic, as the reputation service computes it on its timer.
 *
 * Setup, in one process, from the parts `createReputation` wires (local records over an in-memory database,
 * the opinion book, the peer id table): this node with local records on 20 peers per topic, the other 999
 * peers each holding a 20-entry opinion per topic, taken through the real opinion book (signatures are not
 * what is measured, so the verifier accepts all), 10 of them pre-trusted. Then, per sample:
 *
 * - `recompute-cold`: what `Reputation.recompute()` does for the 5 topics, without a previous result:
 *   collecting the rows from the records and the opinion book, indexing the topic's peers, building the
 *   compressed-row matrix, and power iteration from p until the L1 change is below 1e-6 (target ≤ 20 ms);
 * - `recompute-warm`: the same after one new record, each topic starting from its previous result (what the
 *   service's timer does every `recomputeInterval`);
 * - `power-iteration`: `eigenTrust` alone on the 5 prebuilt matrices, from p.
 *
 * KITH_BENCH_EIGENTRUST_SAMPLES sets the samples per run (default 40).
 */
import { openDatabase } from '../../src/store/database.ts'
import { OpinionBook } from '../../src/trust/reputation/book.ts'
import { eigenTrust, pretrustVector, trustMatrix } from '../../src/trust/reputation/eigentrust.ts'
import { computeTopic } from '../../src/trust/reputation/global.ts'
import { signOpinion } from '../../src/trust/reputation/opinion.ts'
import { PeerIds } from '../../src/trust/reputation/peer-ids.ts'
import { LocalRecords } from '../../src/trust/reputation/records.ts'
import { seededRandom } from './lib/random.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'

export const name = 'eigentrust'
export const description =
  'Global trust recompute for 1,000 peers × 5 topics, each peer rating 20 others per topic (20,000 ratings ' +
  'per topic), 10 pre-trusted, alpha 0.15, epsilon 1e-6, one process, main thread. `recompute-cold`: rows ' +
  'from the local records and the opinion book, peer index, compressed-row matrices and power iteration from ' +
  'p for all 5 topics, as `Reputation.recompute()` does it (the ≤ 20 ms target); `recompute-warm`: the same ' +
  'after a new record, each topic starting from its previous result (what the timer runs); `power-iteration`: ' +
  '`eigenTrust` alone on the 5 prebuilt matrices. One sample = all 5 topics.'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'recompute-cold': { max: 20 },
}

const PEERS = 1000
const TOPICS = ['sensor.climate', 'device.power', 'device.access.high', 'script.compute', 'device.lighting']
const RATINGS = 20
const PRETRUSTED = 10
const ALPHA = 0.15

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const samples = ctx.envInt('KITH_BENCH_EIGENTRUST_SAMPLES', 40)
  const rand = seededRandom(2024)
  const names = Array.from({ length: PEERS }, (_, i) => `peer-${String(i).padStart(4, '0')}`)
  const pick = (except: number) => {
    const out = new Set<number>()
    while (out.size < RATINGS) {
      const j = Math.floor(rand() * PEERS)
      if (j !== except) out.add(j)
    }
    return [...out]
  }

  // the service's parts, as createReputation wires them
  const db = openDatabase(':memory:')
  const ids = new PeerIds()
  const records = new LocalRecords(db, { maxPeers: 2 * PEERS })
  const book = new OpinionBook(
    { self: names[0] as string, ids, verify: () => true, known: () => true, trustOf: () => 0 },
    { maxOpinions: PEERS * TOPICS.length },
  )
  const now = Date.now()
  for (const topic of TOPICS) {
    for (const j of pick(0)) {
      const successes = 1 + Math.floor(rand() * 10)
      for (let k = 0; k < successes; k++) records.add(names[j] as string, topic, 'success', now)
    }
    for (let i = 1; i < PEERS; i++) {
      const rated = pick(i)
      const weights = rated.map(() => rand())
      const total = weights.reduce((a, b) => a + b, 0) * 1.25
      const entries = rated.map((j, k) => ({
        peer: names[j] as string,
        value: (weights[k] as number) / total,
      }))
      const from = names[i] as string
      const bytes = signOpinion({ from, topic, seq: 1, at: now, entries }, () => new Uint8Array(64))
      const result = book.take(bytes, from, now)
      if (!result.ok) throw new Error(`opinion refused: ${result.reason} ${result.message}`)
    }
  }
  ctx.log(
    `${PEERS} peers, ${TOPICS.length} topics, ${book.size} opinions, ${records.size} peers with records`,
  )

  const self = ids.id(names[0] as string)
  const pretrusted = names.slice(1, 1 + PRETRUSTED).map((name) => ids.id(name))
  /** what Reputation.recompute() does per topic */
  const inputs = (topic: string, at: number) => {
    const local = new Map<number, number>()
    for (const [peer, s] of records.row(topic, at)) local.set(ids.id(peer), s)
    return { topic, universe: ids.size, self, pretrusted, local, opinions: book.rows(topic, at) }
  }
  const previous = new Map(TOPICS.map((topic) => [topic, computeTopic(inputs(topic, now), { alpha: ALPHA })]))
  const matrices = TOPICS.map((topic) => {
    const { universe, opinions } = inputs(topic, now)
    const rows: Map<number, number>[] = Array.from({ length: universe }, () => new Map())
    for (const row of opinions) row.cols.forEach((j, k) => rows[row.from]!.set(j, row.vals[k]!))
    return { c: trustMatrix(rows), p: pretrustVector(universe, [self, ...pretrusted]) }
  })

  const cold = () => {
    const at = Date.now()
    for (const topic of TOPICS) computeTopic(inputs(topic, at), { alpha: ALPHA })
  }
  let turn = 0
  const warm = () => {
    const at = Date.now()
    records.add(
      names[1 + (turn++ % (PEERS - 1))] as string,
      TOPICS[turn % TOPICS.length] as string,
      'success',
      at,
    )
    for (const topic of TOPICS) {
      const scores = computeTopic(inputs(topic, at), { alpha: ALPHA, previous: previous.get(topic)! })
      previous.set(topic, scores)
    }
  }
  const iterate = () => {
    for (const { c, p } of matrices) eigenTrust(c, p, { alpha: ALPHA })
  }
  const parts: [string, () => void][] = [
    ['recompute-cold', cold],
    ['recompute-warm', warm],
    ['power-iteration', iterate],
  ]
  const { iterations } = eigenTrust(matrices[0]!.c, matrices[0]!.p, { alpha: ALPHA })
  ctx.log(`power iteration: ${iterations} iterations to an L1 change below 1e-6`)
  for (const [, fn] of parts) for (let i = 0; i < 10; i++) fn()

  const results = new Map<string, number[]>(parts.map(([metric]) => [metric, []]))
  for (let r = 1; r <= ctx.runs; r++) {
    for (let s = 0; s < samples; s++) {
      // interleaved, so a slow moment of the shared machine hits every metric alike
      for (const [metric, fn] of parts) {
        const started = performance.now()
        fn()
        results.get(metric)?.push(performance.now() - started)
      }
    }
    ctx.log(
      `run ${r}/${ctx.runs}: ${parts
        .map(([metric]) => `${metric} ${median(results.get(metric)!.slice(-samples)).toFixed(2)} ms`)
        .join(', ')}`,
    )
  }
  records.flush()
  db.close()

  const out: MetricSamples[] = parts.map(([metric]) => ({
    metric,
    unit: 'ms',
    samples: results.get(metric)!,
  }))
  return {
    results: out,
    comparisons: [
      {
        name: 'cold recompute vs power iteration alone (the cost of collecting rows and building matrices)',
        numerator: 'recompute-cold',
        denominator: 'power-iteration',
      },
      { name: 'cold vs warm-started recompute', numerator: 'recompute-cold', denominator: 'recompute-warm' },
    ],
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
