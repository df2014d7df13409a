/**
 * What a simulation report shows: tables (rendered as Markdown) and line charts with intervals (rendered as
 * standalone SVG). Every scenario kind fills these in; `npm run sim -- <scenario> --svg DIR` writes them out.
 */

export interface Point {
  x: number
  y: number
  /** the interval around y (e.g. 95 %), drawn as a band and whiskers */
  low?: number
  high?: number
}

export interface Series {
  name: string
  points: Point[]
}

export interface Axis {
  label: string
  /** log10 scale; every value must be > 0 */
  log?: boolean
  /** fixed range; default: the data's, with y starting at 0 on a linear axis */
  min?: number
  max?: number
}

export interface Figure {
  /** file name without extension: `[a-z0-9-]+` */
  id: string
  title: string
  x: Axis
  y: Axis
  series: Series[]
  /** horizontal reference lines, e.g. a target or a paper's figure */
  marks?: Array<{ y: number; label: string }>
}

export interface Table {
  title: string
  header: string[]
  rows: string[][]
}

const W = 720
const H = 420
const M = { left: 70, right: 180, top: 40, bottom: 56 }
/** colour-blind-safe (Okabe–Ito) */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']

/**
 * A table as Markdown: a bold title line, then the table.
 *
 * @example
 * tableMarkdown({ title: 'T', header: ['a', 'b'], rows: [['1', '2']] }) // '**T**\n\n| a | b |\n|---|---|\n| 1 | 2 |'
 */
export function tableMarkdown(table: Table): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`
  return [
    `**${table.title}**`,
    '',
    line(table.header),
    `|${table.header.map(() => '---').join('|')}|`,
    ...table.rows.map(line),
  ].join('\n')
}

/**
 * A figure as a standalone SVG document: one line per series, its interval as a shaded band with whiskers,
 * a legend on the right, axes with ticks.
 *
 * @example
 * figureSvg({ id: 'f', title: 'T', x: { label: 'n' }, y: { label: 'rate' }, series: [{ name: 'a', points: [{ x: 1, y: 0.5 }] }] })
 */
export function figureSvg(figure: Figure): string {
  const points = figure.series.flatMap((s) => s.points)
  const xs = scale(
    figure.x,
    points.map((p) => p.x),
    false,
    M.left,
    W - M.right,
  )
  const ys = scale(
    figure.y,
    [...points.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y]), ...(figure.marks ?? []).map((m) => m.y)],
    true,
    H - M.bottom,
    M.top,
  )
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(figure.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    titleText(figure.title),
  ]
  // axes and ticks
  const x0 = M.left
  const x1 = W - M.right
  const y0 = H - M.bottom
  const y1 = M.top
  out.push(`<g stroke="#444" fill="none"><path d="M${x0},${y1}V${y0}H${x1}"/></g>`)
  for (const t of xs.ticks) {
    const x = xs.at(t)
    out.push(
      `<path d="M${f(x)},${y0}v5" stroke="#444"/><text x="${f(x)}" y="${y0 + 18}" text-anchor="middle">${tick(t)}</text>`,
    )
  }
  for (const t of ys.ticks) {
    const y = ys.at(t)
    out.push(
      `<path d="M${x0},${f(y)}H${x1}" stroke="#e5e5e5"/><text x="${x0 - 8}" y="${f(y) + 4}" text-anchor="end">${tick(t)}</text>`,
    )
  }
  out.push(
    `<text x="${(x0 + x1) / 2}" y="${H - 14}" text-anchor="middle">${esc(figure.x.label)}</text>`,
    `<text transform="translate(18,${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${esc(figure.y.label)}</text>`,
  )
  for (const mark of figure.marks ?? []) {
    const y = f(ys.at(mark.y))
    out.push(
      `<path d="M${x0},${y}H${x1}" stroke="#888" stroke-dasharray="5 4"/>`,
      `<text x="${x1 - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#555">${esc(mark.label)}</text>`,
    )
  }
  figure.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const pts = [...series.points].sort((a, b) => a.x - b.x)
    const banded = pts.filter((p) => p.low !== undefined && p.high !== undefined)
    if (banded.length > 1) {
      const upper = banded.map((p) => `${f(xs.at(p.x))},${f(ys.at(p.high!))}`)
      const lower = banded.map((p) => `${f(xs.at(p.x))},${f(ys.at(p.low!))}`).reverse()
      out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${colour}" fill-opacity="0.12"/>`)
    }
    for (const p of banded) {
      const x = f(xs.at(p.x))
      out.push(
        `<path d="M${x},${f(ys.at(p.low!))}V${f(ys.at(p.high!))}" stroke="${colour}" stroke-width="1.2"/>`,
      )
    }
    if (pts.length > 1)
      out.push(
        `<polyline points="${pts.map((p) => `${f(xs.at(p.x))},${f(ys.at(p.y))}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      )
    for (const p of pts)
      out.push(`<circle cx="${f(xs.at(p.x))}" cy="${f(ys.at(p.y))}" r="3" fill="${colour}"/>`)
    const ly = M.top + 10 + i * 20
    out.push(
      `<path d="M${x1 + 16},${ly}h22" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${x1 + 44}" y="${ly + 4}">${esc(series.name)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

interface Scale {
  at(value: number): number
  ticks: number[]
}

/** Maps data values onto [from, to] pixels, linear or log10, with about five round ticks. */
function scale(axis: Axis, values: number[], zeroBased: boolean, from: number, to: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0))
  let lo = axis.min ?? (finite.length > 0 ? Math.min(...finite) : 0)
  let hi = axis.max ?? (finite.length > 0 ? Math.max(...finite) : 1)
  if (axis.log) {
    lo = Math.log10(lo > 0 ? lo : 1)
    hi = Math.log10(hi > 0 ? hi : 10)
    const ticks: number[] = []
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) ticks.push(10 ** e)
    lo = Math.floor(lo)
    hi = Math.max(lo + 1, Math.ceil(hi))
    return { at: (v) => from + ((Math.log10(Math.max(v, 1e-12)) - lo) / (hi - lo)) * (to - from), ticks }
  }
  if (zeroBased && axis.min === undefined && lo > 0) lo = 0
  if (hi === lo) hi = lo + 1
  const step = niceStep((hi - lo) / 5)
  if (axis.min === undefined) lo = Math.floor(lo / step) * step
  if (axis.max === undefined) hi = Math.ceil(hi / step) * step
  const ticks: number[] = []
  for (let t = lo; t <= hi + step / 1e6; t += step) ticks.push(Number(t.toPrecision(12)))
  return { at: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks }
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw))
  const m = raw / e
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e
}

function tick(v: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(0)
  return String(Number(v.toPrecision(4)))
}

function f(v: number): string {
  return v.toFixed(1)
}

/** The title in bold, in two lines when it would not fit in one (the legend column is free above the chart). */
function titleText(title: string): string {
  const fits = Math.floor((W - M.left - 10) / 8.3)
  if (title.length <= fits)
    return `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`
  const cut = title.lastIndexOf(' ', fits)
  const at = cut > 0 ? cut : fits
  return (
    `<text x="${M.left}" y="16" font-size="14" font-weight="bold">${esc(title.slice(0, at))}` +
    `<tspan x="${M.left}" dy="16">${esc(title.slice(at).trim())}</tspan></text>`
  )
}

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}
