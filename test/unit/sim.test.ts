import { describe, expect, it } from 'vitest'
import { Simulator } from '../../sim/clock.ts'
import { KeyRing } from '../../sim/keys.ts'
import { Network } from '../../sim/network.ts'
import { Random } from '../../sim/random.ts'
import { parseScenario, ScenarioError } from '../../sim/scenario.ts'
import { meanInterval, wilson } from '../../sim/stats.ts'

describe('simulator clock', () => {
  it('runs events in time order, and events at the same time in the order they were scheduled', () => {
    const sim = new Simulator()
    const seen: string[] = []
    sim.after(30, () => seen.push(`c@${sim.now}`))
    sim.after(10, () => {
      seen.push(`a@${sim.now}`)
      sim.after(0, () => seen.push(`a2@${sim.now}`))
    })
    sim.after(10, () => seen.push(`b@${sim.now}`))
    sim.run()
    expect(seen).toEqual(['a@10', 'b@10', 'a2@10', 'c@30'])
  })

  it('stops at the horizon and leaves later events waiting', () => {
    const sim = new Simulator()
    let ticks = 0
    sim.every(100, () => {
      ticks++
    })
    sim.run(1_050)
    expect(ticks).toBe(10)
    expect(sim.now).toBe(1_050)
    expect(sim.pending).toBe(1)
  })

  it('lets promise continuations run before virtual time moves on when an event wakes it', async () => {
    const sim = new Simulator()
    const seen: string[] = []
    const reply = () => new Promise<void>((resolve) => sim.after(5, () => (sim.wake(), resolve())))
    sim.after(0, () => {
      sim.wake()
      void (async () => {
        await reply()
        seen.push(`first@${sim.now}`)
        await reply()
        seen.push(`second@${sim.now}`)
      })()
    })
    sim.after(7, () => seen.push(`other@${sim.now}`))
    await sim.runAsync()
    expect(seen).toEqual(['first@5', 'other@7', 'second@10'])
  })
})

describe('seeded randomness', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, () => new Random(seed).fork('x').uint32())
    const a = new Random(7)
    const b = new Random(7)
    const seqA = Array.from({ length: 8 }, () => a.next())
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(seqA)
    expect(Array.from({ length: 8 }, () => new Random(8).next())).not.toEqual(seqA)
    expect(draw(1)).toEqual(draw(1))
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true)
  })

  it('forks streams that do not depend on draws made elsewhere', () => {
    const a = new Random(3)
    const b = new Random(3)
    b.next()
    b.next()
    expect(a.fork('links').next()).toBe(b.fork('links').next())
    expect(a.fork('links').next()).not.toBe(a.fork('churn').next())
  })
})

describe('simulated network', () => {
  it('delivers after the link latency, the same in both directions, and drops for an offline receiver', () => {
    const sim = new Simulator()
    const net = new Network(sim, new Random(1), { latencyMs: { min: 10, max: 20 }, jitterMs: 0, loss: 0 }, 4)
    const arrived: number[] = []
    expect(net.latency(1, 2)).toBe(net.latency(2, 1))
    expect(net.latency(1, 2)).toBeGreaterThanOrEqual(10)
    net.send(1, 2, 'x', 10, () => arrived.push(sim.now))
    net.setOnline(3, false)
    net.send(1, 3, 'x', 10, () => arrived.push(-1))
    sim.run()
    expect(arrived).toEqual([net.latency(1, 2)])
    expect(net.counters).toMatchObject({ sent: 2, delivered: 1, lost: 1, bytes: { x: 20 } })
  })
})

describe('simulated identities', () => {
  it('derives the same peer ids every time and signs verifiably', () => {
    const a = new KeyRing()
    const b = new KeyRing()
    expect(a.get(5).peer).toBe(b.get(5).peer)
    expect(a.get(5).peer).not.toBe(a.get(6).peer)
    const data = new TextEncoder().encode('hello')
    const sig = a.get(5).sign(data)
    expect(b.verifier(a.get(5).peer, data, sig)).toBe(true)
    expect(b.verifier(a.get(6).peer, data, sig)).toBe(false)
  })
})

describe('scenario files', () => {
  it('fills defaults', () => {
    const s = parseScenario({ kind: 'sybil', nodes: 50, requesters: 5 })
    expect(s).toMatchObject({ nodes: 50, sybilFractions: [0, 0.1, 0.3, 0.5], workflow: { steps: 2 } })
  })

  it('reports every problem with its path', () => {
    expect(() => parseScenario({ kind: 'sybil', nodes: 2, links: { loss: 2 } }, 'x.yaml')).toThrow(
      /x\.yaml: nodes: .*\n.*x\.yaml: links\.loss/,
    )
    expect(() => parseScenario({ kind: 'sybil', nodes: 10, requesters: 20 }, 'y.yaml')).toThrow(
      /y\.yaml: requesters: more than nodes/,
    )
    expect(() => parseScenario({ kind: 'nope' })).toThrow(ScenarioError)
  })
})

describe('wilson interval', () => {
  it('brackets the observed rate and stays within [0, 1]', () => {
    const w = wilson(45, 50)
    expect(w.rate).toBe(0.9)
    expect(w.low).toBeCloseTo(0.786, 3)
    expect(w.high).toBeCloseTo(0.957, 3)
    expect(wilson(50, 50).high).toBe(1)
    expect(wilson(0, 10).low).toBe(0)
  })
})

describe('interval over seeds', () => {
  it('is centred on the mean and widens with the spread between seeds', () => {
    const tight = meanInterval([0.7, 0.7, 0.71, 0.69])
    const loose = meanInterval([0.9, 0.5, 0.8, 0.6])
    expect(tight.mean).toBeCloseTo(0.7, 6)
    expect(loose.mean).toBeCloseTo(0.7, 6)
    expect(loose.high - loose.low).toBeGreaterThan(tight.high - tight.low)
    expect(meanInterval([0.9, 0.5, 0.8, 0.6]).low).toBeCloseTo(0.7 - 3.182 * Math.sqrt(0.0333333 / 4), 4)
    expect(meanInterval([0.5])).toEqual({ mean: 0.5, low: 0, high: 1 })
  })
})
