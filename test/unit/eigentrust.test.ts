import { describe, expect, it } from 'vitest'
import { eigenTrust, pretrustVector, trustMatrix } from '../../src/trust/reputation/eigentrust.ts'
import { computeTopic, localRow, positionOf } from '../../src/trust/reputation/global.ts'
import { PeerIds } from '../../src/trust/reputation/peer-ids.ts'

const rows = (...r: Record<number, number>[]) =>
  r.map((row) => new Map(Object.entries(row).map(([j, v]) => [Number(j), v])))

/** A deterministic pseudo-random generator (mulberry32), so the random cases are the same every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('eigenTrust', () => {
  it('matches a hand-computed three-peer case', () => {
    // a = 0.2, p = (1, 0, 0); 0 → 1, 1 → 2, 2 → ½·0 + ½·1:
    //   t0 = 0.4·t2 + 0.2, t1 = 0.8·t0 + 0.4·t2, t2 = 0.8·t1  ⇒  t = (17, 20, 16) / 53
    const c = trustMatrix(rows({ 1: 1 }, { 2: 1 }, { 0: 0.5, 1: 0.5 }))
    const { trust } = eigenTrust(c, pretrustVector(3, [0]), {
      alpha: 0.2,
      epsilon: 1e-12,
      maxIterations: 1000,
    })
    expect(trust[0]).toBeCloseTo(17 / 53, 6)
    expect(trust[1]).toBeCloseTo(20 / 53, 6)
    expect(trust[2]).toBeCloseTo(16 / 53, 6)
    for (const [i, want] of [17 / 53, 20 / 53, 16 / 53].entries())
      expect(Math.abs(trust[i]! - want)).toBeLessThan(1e-6)
  })

  it('matches a hand-computed four-peer case where rows leave the rest to the pre-trusted peers', () => {
    // a = 0.5, p = (½, ½, 0, 0). Row 0 gives 0.5 to peer 2 and leaves 0.5 to p; row 1 is empty (all to p);
    // 2 and 3 rate only each other. With L = 0.5·t0 + t1 the mass sent to p:
    //   t0 = t1 = 0.25·L + 0.25, t2 = 0.5·(0.5·t0 + t3), t3 = 0.5·t2  ⇒  t = (2/5, 2/5, 2/15, 1/15)
    const c = trustMatrix(rows({ 2: 0.5 }, {}, { 3: 1 }, { 2: 1 }))
    const { trust } = eigenTrust(c, pretrustVector(4, [0, 1]), { alpha: 0.5, epsilon: 1e-12 })
    for (const [i, want] of [2 / 5, 2 / 5, 2 / 15, 1 / 15].entries())
      expect(Math.abs(trust[i]! - want)).toBeLessThan(1e-6)
  })

  it('gives a group that only rates itself exactly nothing when no trusted peer rates it', () => {
    const c = trustMatrix(rows({}, {}, { 3: 1 }, { 2: 1 }))
    const { trust } = eigenTrust(c, pretrustVector(4, [0, 1]), { alpha: 0.15 })
    expect(trust[2]).toBe(0)
    expect(trust[3]).toBe(0)
    expect(trust[0]! + trust[1]!).toBeCloseTo(1, 12)
  })

  it('converges on a sparse random network to a fixed point that sums to 1', () => {
    const rand = random(7)
    const n = 300
    const list = Array.from({ length: n }, () => {
      const row = new Map<number, number>()
      for (let k = 0; k < 20; k++) row.set(Math.floor(rand() * n), rand())
      return row
    })
    const c = trustMatrix(list)
    const p = pretrustVector(n, [0, 1, 2])
    const alpha = 0.15
    const { trust, iterations, delta } = eigenTrust(c, p, { alpha, epsilon: 1e-10, maxIterations: 500 })
    expect(delta).toBeLessThan(1e-10)
    expect(iterations).toBeLessThan(500)
    expect(trust.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    // t = (1 − a)·Cᵀt + a·p, every row of C summing to 1 here (rows are scaled down when above 1)
    const next = new Float64Array(n)
    for (let i = 0; i < n; i++)
      for (let k = c.rowPtr[i]!; k < c.rowPtr[i + 1]!; k++) next[c.col[k]!]! += trust[i]! * c.val[k]!
    for (let j = 0; j < n; j++)
      expect(Math.abs((1 - alpha) * next[j]! + alpha * p[j]! - trust[j]!)).toBeLessThan(1e-8)
  })

  it('weights pre-trusted peers by alpha: more alpha, more of the trust stays with them', () => {
    const c = trustMatrix(rows({ 1: 1 }, { 2: 1 }, { 3: 1 }, { 1: 1 }))
    const p = pretrustVector(4, [0])
    const low = eigenTrust(c, p, { alpha: 0.1, epsilon: 1e-12, maxIterations: 1000 }).trust
    const high = eigenTrust(c, p, { alpha: 0.5, epsilon: 1e-12, maxIterations: 1000 }).trust
    // the pre-trusted peer holds exactly a (nobody rates it), the rest flows down its ratings
    expect(low[0]).toBeCloseTo(0.1, 9)
    expect(high[0]).toBeCloseTo(0.5, 9)
    expect(high[3]!).toBeLessThan(low[3]!)
  })

  it('a warm start reaches the same result in fewer iterations', () => {
    const c = trustMatrix(rows({ 1: 0.6, 2: 0.4 }, { 2: 1 }, { 0: 0.3, 3: 0.7 }, { 1: 1 }))
    const p = pretrustVector(4, [0])
    const cold = eigenTrust(c, p, { alpha: 0.15, epsilon: 1e-9, maxIterations: 1000 })
    const warm = eigenTrust(c, p, { alpha: 0.15, epsilon: 1e-9, maxIterations: 1000, start: cold.trust })
    expect(warm.iterations).toBeLessThan(cold.iterations)
    for (let i = 0; i < 4; i++) expect(Math.abs(warm.trust[i]! - cold.trust[i]!)).toBeLessThan(1e-7)
  })

  it('drops negative, non-finite and out-of-range entries and scales rows above 1 down', () => {
    const c = trustMatrix([
      new Map([
        [1, 3],
        [2, 1],
        [0, -1],
        [5, 1],
        [1.5, Number.NaN],
      ]),
      undefined,
      undefined,
    ])
    expect([...c.col]).toEqual([1, 2])
    expect([...c.val]).toEqual([0.75, 0.25])
    expect([...c.rowPtr]).toEqual([0, 2, 2, 2])
  })

  it('refuses an alpha outside (0, 1] and a p of the wrong length', () => {
    const c = trustMatrix(rows({}, {}))
    expect(() => eigenTrust(c, pretrustVector(2, [0]), { alpha: 0 })).toThrow(RangeError)
    expect(() => eigenTrust(c, pretrustVector(3, [0]))).toThrow(RangeError)
  })
})

describe('computeTopic', () => {
  it('normalises local trust with the confidence pseudo-count', () => {
    const row = localRow(
      new Map([
        ['a', 3],
        ['b', 1],
        ['c', 0],
      ]),
      2,
    )
    expect(row.get('a')).toBeCloseTo(0.5, 12)
    expect(row.get('b')).toBeCloseTo(1 / 6, 12)
    expect(row.has('c')).toBe(false)
  })

  it('counts an opinion only as much as its sender is trusted', () => {
    const ids = new PeerIds()
    const [me, home, stranger, x] = ['me', 'home', 'stranger', 'x'].map((name) => ids.id(name)) as number[]
    const base = {
      topic: 'sensor.climate',
      universe: ids.size,
      self: me!,
      pretrusted: [home!],
      local: new Map(),
    }
    const vouch = (from: number) => [{ from, cols: Int32Array.of(x!), vals: Float64Array.of(0.8) }]
    const byHome = computeTopic({ ...base, opinions: vouch(home!) })
    const byStranger = computeTopic({ ...base, opinions: vouch(stranger!) })
    expect(byHome.trust[positionOf(byHome, x)]!).toBeGreaterThan(0.2)
    expect(byStranger.trust[positionOf(byStranger, x)]!).toBe(0)
    // only the topic's own peers have a place in its vectors
    expect(positionOf(byHome, stranger)).toBe(-1)
    expect(byHome.trust.length).toBe(3)
  })

  it('matches eigenTrust over the same matrix built from maps', () => {
    const ids = new PeerIds()
    const [me, a, b, c] = ['me', 'a', 'b', 'c'].map((name) => ids.id(name)) as number[]
    const local = new Map([[a!, 3]])
    const opinions = [
      { from: a!, cols: Int32Array.of(b!, c!), vals: Float64Array.of(0.5, 0.25) },
      { from: b!, cols: Int32Array.of(c!), vals: Float64Array.of(1) },
    ]
    const scores = computeTopic(
      { topic: 't', universe: ids.size, self: me!, pretrusted: [], local, opinions },
      { alpha: 0.2, epsilon: 1e-12, maxIterations: 1000 },
    )
    // self's row: 3 / (3 + 2) to a
    const reference = eigenTrust(
      trustMatrix([
        new Map([[1, 0.6]]),
        new Map([
          [2, 0.5],
          [3, 0.25],
        ]),
        new Map([[3, 1]]),
        undefined,
      ]),
      pretrustVector(4, [0]),
      { alpha: 0.2, epsilon: 1e-12, maxIterations: 1000 },
    ).trust
    for (const [i, id] of [me, a, b, c].entries())
      expect(Math.abs(scores.trust[positionOf(scores, id)]! - reference[i]!)).toBeLessThan(1e-9)
  })
})
