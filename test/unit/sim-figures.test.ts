import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Figure, figureSvg, tableMarkdown } from '../../sim/figures.ts'
import { toMarkdown, writeReport, type SimReport } from '../../sim/report.ts'

const figure: Figure = {
  id: 'demo-success',
  title: 'Success <by> share & strategy',
  x: { label: 'share (%)' },
  y: { label: 'success', min: 0, max: 1 },
  series: [
    {
      name: 'naive',
      points: [
        { x: 0, y: 0.9, low: 0.8, high: 0.95 },
        { x: 30, y: 0.2, low: 0.1, high: 0.3 },
      ],
    },
    {
      name: 'full',
      points: [
        { x: 30, y: 0.95 },
        { x: 0, y: 0.97 },
      ],
    },
  ],
  marks: [{ y: 0.95, label: 'target' }],
}

describe('simulation figures', () => {
  it('draws one line per series with its interval, a legend entry each, and escapes text', () => {
    const svg = figureSvg(figure)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg.match(/<polyline /g)).toHaveLength(2)
    // a band for the series with intervals, none for the one without
    expect(svg.match(/<polygon /g)).toHaveLength(1)
    expect(svg).toContain('Success &lt;by&gt; share &amp; strategy')
    expect(svg).toContain('>naive</text>')
    expect(svg).toContain('>full</text>')
    expect(svg).not.toContain('NaN')
  })

  it('draws log axes with a tick per decade', () => {
    const svg = figureSvg({
      id: 'log',
      title: 'latency',
      x: { label: 'N', log: true },
      y: { label: 'ms' },
      series: [{ name: 'kith', points: [20, 200, 2000].map((x) => ({ x, y: Math.log10(x) })) }],
    })
    for (const t of ['>10<', '>100<', '>1000<', '>10000<']) expect(svg).toContain(t)
    expect(svg).not.toContain('NaN')
  })

  it('renders a table as Markdown with pipes escaped', () => {
    expect(tableMarkdown({ title: 'T', header: ['a', 'b'], rows: [['1', 'x|y']] })).toBe(
      '**T**\n\n| a | b |\n|---|---|\n| 1 | x\\|y |',
    )
  })

  it('writes the report as JSON, its tables as Markdown and each figure as SVG', async () => {
    const report: SimReport = {
      scenario: 'demo',
      kind: 'sybil',
      nodes: 10,
      seeds: [1],
      tables: [{ title: 'T', header: ['a'], rows: [['1']] }],
      figures: [figure],
      data: { cells: [] },
    }
    const dir = await mkdtemp(join(tmpdir(), 'kith-sim-'))
    try {
      await writeReport(report, join(dir, 'out'))
      expect((await readdir(join(dir, 'out'))).sort()).toEqual(['demo-success.svg', 'demo.json', 'demo.md'])
      expect(JSON.parse(await readFile(join(dir, 'out', 'demo.json'), 'utf8'))).toEqual(report)
      expect(await readFile(join(dir, 'out', 'demo.md'), 'utf8')).toBe(`${toMarkdown(report)}\n`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
