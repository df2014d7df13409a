import { describe, expect, it } from 'vitest'
import { KeyRing } from '../../sim/keys.ts'
import { Random } from '../../sim/random.ts'
import { runScaleScenario } from '../../sim/scale.ts'
import { buildOverlay } from '../../sim/scale-overlay.ts'
import { runScale } from '../../sim/scale-run.ts'
import { sizesOf } from '../../sim/scale-scenario.ts'
import { quantile, quantiles } from '../../sim/scale-stats.ts'
import { noticeBytes, WireSizes } from '../../sim/scale-wire.ts'
import { parseScenario, type ScaleScenario, ScenarioError } from '../../sim/scenario.ts'

/** 10 and 50 nodes, 10 of them heartbeating over 10 s, 6 body changes: a run takes well under a second. */
const scenario = parseScenario({
  kind: 'scale',
  nodes: 50,
  sizes: [10, 50],
  seeds: 1,
  traffic: { active: 10, changes: 6, windowMs: 10_000 },
}) as ScaleScenario

describe('discovery at scale, simulated', () => {
  it('gives identical results for the same seed, in both modes', () => {
    for (const mode of ['kith', 'flood'] as const) {
      const a = runScale(scenario, 50, mode, 3, new KeyRing())
      const b = runScale(scenario, 50, mode, 3, new KeyRing())
      expect(b).toEqual(a)
    }
    const other = runScale(scenario, 50, 'kith', 4, new KeyRing())
    expect(other.latency.p50).not.toBe(runScale(scenario, 50, 'kith', 3, new KeyRing()).latency.p50)
  })

  it('every node ends up holding every live descriptor, each change through its own intake', () => {
    const keys = new KeyRing()
    for (const mode of ['kith', 'flood'] as const) {
      const run = runScale(scenario, 50, mode, 1, keys)
      expect(run.latency.missed, mode).toBe(0)
      expect(run.latency.samples, mode).toBe(6 * 49)
      expect(run.missingAtEnd, mode).toBe(0)
      expect(run.limited, mode).toBe(0)
      expect(run.verdicts['change:busy'] ?? 0, mode).toBe(0)
      expect(
        Object.keys(run.verdicts).filter((v) => v.includes('rejected')),
        mode,
      ).toEqual([])
    }
    const kith = runScale(scenario, 50, 'kith', 1, keys)
    // each other node took each new body once: mostly from the change's notice, a few from a heartbeat's
    const taken = (c: typeof kith.change) => Math.round(c.bodies * c.messages)
    expect(taken(kith.change) + taken(kith.heartbeat)).toBe(6 * 49)
    expect(taken(kith.change)).toBeGreaterThan(6 * 45)
    expect(kith.verdicts['heartbeat:refreshed']).toBeGreaterThan(0)
  })

  it('bodyless gossip sends fewer control bytes than flooding at steady state, and latency grows slowly', async () => {
    const report = await runScaleScenario(scenario, { seed: 1, seeds: 2 })
    const cell = (mode: string, size: number) =>
      report.data.cells.find((c) => c.mode === mode && c.size === size)!
    for (const size of [10, 50]) {
      expect(cell('kith', size).bytesPerNodePerSec.mean).toBeLessThan(
        cell('flood', size).bytesPerNodePerSec.mean,
      )
      expect(cell('kith', size).payloadPerNodePerSec).toBeLessThan(
        cell('flood', size).payloadPerNodePerSec / 3,
      )
    }
    // a pull per hop makes bodyless slower per hop, but hops grow with log N: 5 x the nodes, well under 2 x
    for (const mode of ['kith', 'flood']) {
      expect(cell(mode, 50).p50.mean, mode).toBeGreaterThan(cell(mode, 10).p50.mean)
      expect(cell(mode, 50).p50.mean, mode).toBeLessThan(2 * cell(mode, 10).p50.mean)
    }
    expect(report.nodes).toBe(50)
    expect(report.tables.length).toBeGreaterThan(3)
    expect(report.figures.map((f) => f.id)).toEqual(['scale-latency', 'scale-bytes'])
  })

  it('builds a symmetric mesh within Dlo and Dhi out of each node’s connections', () => {
    const overlay = buildOverlay(300, { peers: 16, maxConnections: 32, D: 6, Dlo: 4, Dhi: 12 }, new Random(2))
    expect(overlay.unreachable).toBe(0)
    overlay.mesh.forEach((mesh, i) => {
      expect(mesh.length).toBeGreaterThanOrEqual(4)
      expect(mesh.length).toBeLessThanOrEqual(12)
      for (const p of mesh) {
        expect(overlay.mesh[p]).toContain(i)
        expect(overlay.peers[i]).toContain(p)
      }
      expect(overlay.peers[i]!.length).toBeGreaterThanOrEqual(16)
      expect(overlay.peers[i]!.length).toBeLessThanOrEqual(32)
      expect(overlay.lazy[i]!.length + mesh.length).toBe(overlay.peers[i]!.length)
    })
  })

  it('prices messages from real encodings: the notice, gossipsub RPCs, the pull', () => {
    const keys = new KeyRing()
    const id = keys.get(1)
    const wire = new WireSizes(id.peerId.toMultihash().bytes)
    const notice = noticeBytes(id.peer, 7, new Uint8Array(32), 1_700_000_000_000, {
      load: 0.5,
      memFree: 1e9,
      queue: 1,
    })
    expect(notice.byteLength).toBeGreaterThan(100)
    expect(notice.byteLength).toBeLessThan(200)
    // from, seqno, topic, signature and the frames: about 170 bytes around the data
    const overhead = wire.gossip(notice.byteLength, 'kith') - notice.byteLength
    expect(overhead).toBeGreaterThan(150)
    expect(overhead).toBeLessThan(200)
    expect(wire.ihaveId).toBe(46)
    expect(wire.pullRequest(id.peer, new Uint8Array(32)).payload).toBeGreaterThan(80)
    expect(wire.pullAnswer(1_000).wire - 1_000).toBeGreaterThan(150)
  })

  it('defaults to the issue’s sizes up to nodes, and refuses unknown fields', () => {
    const sizes = (raw: object) => sizesOf(parseScenario({ kind: 'scale', ...raw }) as ScaleScenario)
    expect(sizes({})).toEqual([20, 50, 100, 200, 1_000])
    expect(sizes({ nodes: 10_000 })).toEqual([20, 50, 100, 200, 1_000, 10_000])
    expect(sizes({ nodes: 300 })).toEqual([20, 50, 100, 200, 300])
    expect(() => parseScenario({ kind: 'scale', sizes: [20, 500], nodes: 200 })).toThrow(ScenarioError)
    expect(() => parseScenario({ kind: 'scale', d: 6 })).toThrow(ScenarioError)
  })

  it('takes nearest-rank quantiles', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2)
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4)
    expect(quantile([], 0.5)).toBe(0)
    expect(quantiles([30, 10, 20])).toEqual({ samples: 3, mean: 20, p50: 20, p90: 30, p99: 30, max: 30 })
  })
})
