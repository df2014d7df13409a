/**
 * Scenario 4 over its grid (attacker share × method × seed): attack success per cell with a 95 % Wilson
 * interval over queries and a t interval over seeds, control entries per epoch, one table each, and two
 * figures (attack success against the attacker share; per epoch at the middle share).
 */
import type { DisguiseScenario, TrustMethod } from './disguise-scenario.ts'
import { type DisguiseRun, runDisguise } from './disguise-run.ts'
import type { Figure, Table } from './figures.ts'
import { KeyRing } from './keys.ts'
import { type RunOptions, seedsOf, type SimReport } from './report.ts'
import { meanInterval, wilson } from './stats.ts'

export interface DisguiseCell {
  share: number
  method: TrustMethod
  queries: number
  lies: number
  rate: number
  low: number
  high: number
  seedMean: { mean: number; low: number; high: number }
  controlEntries: number
  whitewashed: number
}

/** What the 2606.17368 paper reports for its setting (attack success), for the figure and the docs. */
export const PAPER_ATTACK_SUCCESS = { none: 0.2176, flat: 0.3759, 'per-topic': 0.0291 } as const

/**
 * @example
 * const report = await runDisguiseScenario(parseScenario({ kind: 'disguise', seeds: 1 }) as DisguiseScenario, {})
 * report.data.cells.find((c) => c.method === 'kith')?.rate
 */
export async function runDisguiseScenario(
  s: DisguiseScenario,
  options: RunOptions,
): Promise<SimReport<{ cells: DisguiseCell[]; runs: DisguiseRun[] }>> {
  const seeds = seedsOf(s, options)
  const keys = new KeyRing()
  const cells: DisguiseCell[] = []
  const runs: DisguiseRun[] = []
  for (const share of s.attackerShares) {
    for (const method of s.methods) {
      const mine: DisguiseRun[] = []
      for (const seed of seeds) mine.push(await runDisguise(s, share, method, seed, keys))
      runs.push(...mine)
      const queries = mine.reduce((n, r) => n + r.queries, 0)
      const lies = mine.reduce((n, r) => n + r.lies, 0)
      cells.push({
        share,
        method,
        queries,
        lies,
        ...wilson(lies, queries),
        seedMean: meanInterval(mine.map((r) => r.lies / Math.max(1, r.queries))),
        controlEntries: mine.reduce((n, r) => n + r.controlEntries, 0) / mine.length,
        whitewashed: mine.reduce((n, r) => n + r.whitewashed, 0) / mine.length,
      })
    }
  }
  return {
    scenario: s.name,
    kind: s.kind,
    nodes: s.nodes,
    seeds,
    tables: [successTable(s, seeds, cells), controlTable(s, cells)],
    figures: [shareFigure(s, cells), epochFigure(s, runs)],
    data: { cells, runs },
  }
}

const fmt = (x: number) => x.toFixed(4)

function grid(s: DisguiseScenario, cells: DisguiseCell[], cell: (c: DisguiseCell) => string): string[][] {
  return s.attackerShares.map((share) => [
    `${Math.round(share * 100)} %`,
    ...s.methods.map((m) => {
      const c = cells.find((x) => x.share === share && x.method === m)
      return c === undefined ? '' : cell(c)
    }),
  ])
}

function successTable(s: DisguiseScenario, seeds: number[], cells: DisguiseCell[]): Table {
  return {
    title:
      `Attack success (share of queries on the attacked topic answered with a lie), ${s.name}: ${s.nodes} nodes, ${s.topics} topics, ` +
      `${s.epochs} epochs, ${s.candidates} candidates per query; pooled rate [95 % Wilson interval]` +
      (seeds.length > 1 ? ' (95 % t interval over seeds)' : ''),
    header: ['attackers', ...s.methods],
    rows: grid(s, cells, (c) => {
      const spread = seeds.length > 1 ? ` (${fmt(c.seedMean.low)}–${fmt(c.seedMean.high)})` : ''
      return `${fmt(c.rate)} [${fmt(c.low)}, ${fmt(c.high)}]${spread}`
    }),
  }
}

function controlTable(s: DisguiseScenario, cells: DisguiseCell[]): Table {
  return {
    title:
      'Control entries per epoch (kith: opinion entries delivered to nodes; flat and per-topic EigenTrust: ' +
      'non-zero entries of the trust matrices gathered) and identities whitewashed per run',
    header: ['attackers', ...s.methods.map((m) => `${m} entries`), 'whitewashed (kith)'],
    rows: s.attackerShares.map((share) => [
      `${Math.round(share * 100)} %`,
      ...s.methods.map((m) => {
        const c = cells.find((x) => x.share === share && x.method === m)
        return c === undefined ? '' : String(Math.round(c.controlEntries))
      }),
      String(cells.find((x) => x.share === share && x.method === 'kith')?.whitewashed ?? ''),
    ]),
  }
}

function shareFigure(s: DisguiseScenario, cells: DisguiseCell[]): Figure {
  return {
    id: `${s.name}-attack-success`,
    title: `Cross-topic disguise: attack success against the attacker share, ${s.nodes} nodes`,
    x: { label: 'attackers (% of nodes)' },
    y: { label: 'attack success' },
    series: s.methods.map((method) => ({
      name: method,
      points: cells
        .filter((c) => c.method === method)
        .map((c) => ({ x: c.share * 100, y: c.rate, low: c.low, high: c.high })),
    })),
    marks: [{ y: 0.03, label: 'target 0.03' }],
  }
}

function epochFigure(s: DisguiseScenario, runs: DisguiseRun[]): Figure {
  const share = s.attackerShares[Math.floor((s.attackerShares.length - 1) / 2)] as number
  return {
    id: `${s.name}-per-epoch`,
    title: `Attack success per epoch at ${Math.round(share * 100)} % attackers (mean over seeds, 95 % t interval)`,
    x: { label: 'epoch' },
    y: { label: 'attack success' },
    series: s.methods.map((method) => {
      const mine = runs.filter((r) => r.method === method && r.share === share)
      return {
        name: method,
        points: Array.from({ length: s.epochs }, (_, e) => {
          const m = meanInterval(mine.map((r) => r.perEpoch[e] ?? 0))
          return { x: e + 1, y: m.mean, ...(mine.length > 1 ? { low: m.low, high: m.high } : {}) }
        }),
      }
    }),
  }
}
