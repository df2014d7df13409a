/**
 * The pieces the command line's human output is made of: colours that switch themselves off where they would
 * be noise, aligned tables, short peer ids and human units. Pure functions, so the output is testable.
 */
import { styleText } from 'node:util'
import { displayWidth, fitWidth } from './terminal-text.ts'

/** What decides about colours: a stream's `isTTY` and the environment. */
export interface ColorTarget {
  isTTY?: boolean
}

/**
 * Whether to colour what goes to `stream`: `FORCE_COLOR` decides when set (`0` or `false` turn colours off,
 * anything else on); otherwise `NO_COLOR` (any non-empty value), `NODE_DISABLE_COLORS` and `TERM=dumb` turn
 * them off, and a terminal turns them on.
 *
 * @example
 * colorEnabled({ isTTY: true }, {}) // true
 * colorEnabled({ isTTY: true }, { NO_COLOR: '1' }) // false
 * colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' }) // true
 */
export function colorEnabled(stream: ColorTarget, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force != null) return force !== '0' && force.toLowerCase() !== 'false'
  if (env.NO_COLOR != null && env.NO_COLOR !== '') return false
  if (env.NODE_DISABLE_COLORS != null && env.NODE_DISABLE_COLORS !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

type Format = Parameters<typeof styleText>[0]

/** Styling functions that return the text unchanged when colours are off. */
export interface Style {
  readonly enabled: boolean
  bold(text: string): string
  dim(text: string): string
  green(text: string): string
  red(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

/**
 * @example
 * createStyle(false).red('failed') // 'failed'
 * createStyle(true).red('failed') // '\x1b[31mfailed\x1b[39m'
 */
export function createStyle(enabled: boolean): Style {
  // the stream check is ours (colorEnabled), so styleText must not repeat it against process.stdout
  const paint = (format: Format) => (text: string) =>
    enabled && text !== '' ? styleText(format, text, { validateStream: false }) : text
  return {
    enabled,
    bold: paint('bold'),
    dim: paint('dim'),
    green: paint('green'),
    red: paint('red'),
    yellow: paint('yellow'),
    cyan: paint('cyan'),
  }
}

/** The style for a stream: coloured only where {@link colorEnabled} says so. */
export function styleFor(stream: ColorTarget, env: NodeJS.ProcessEnv = process.env): Style {
  return createStyle(colorEnabled(stream, env))
}

/** How wide `text` shows on a terminal, in columns (escape sequences take none, wide characters two). */
export function visibleWidth(text: string): number {
  return displayWidth(text)
}

export interface TableOptions {
  /** columns aligned to the right (numbers) */
  right?: number[]
  /** the first row is a header: shown bold */
  header?: boolean
  style?: Style
}

/**
 * Columns separated by two spaces, each as wide as its widest cell; cells may already be styled.
 *
 * @example
 * table([['A', 'LONG'], ['wide', 'x']]) // 'A     LONG\nwide  x'
 */
export function table(rows: string[][], options: TableOptions = {}): string {
  const columns = Math.max(0, ...rows.map((r) => r.length))
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...rows.map((r) => visibleWidth(r[i] ?? ''))),
  )
  const right = new Set(options.right ?? [])
  return rows
    .map((row, r) =>
      row
        .map((cell, i) => {
          const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleWidth(cell)))
          const shown =
            r === 0 && options.header === true && options.style != null ? options.style.bold(cell) : cell
          return right.has(i) ? pad + shown : shown + pad
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/**
 * Shortens `text` to at most `max` terminal columns, ending in `…` when cut.
 *
 * @example
 * truncate('Virtual dimmable light living_room_lamp', 20) // 'Virtual dimmable li…'
 */
export function truncate(text: string, max: number): string {
  return fitWidth(text, max)
}

/**
 * A peer id as tables show it: its last 8 characters, which is what tells household peers apart.
 *
 * @example
 * shortPeer('12D3KooWGEnQnTHFFDSsBtmuKrzs1erQykeYytk352DP4gCnbsdn') // '…4gCnbsdn'
 */
export function shortPeer(peerId: string): string {
  return peerId.length <= 12 ? peerId : `…${peerId.slice(-8)}`
}

/**
 * A duration in milliseconds, precise where it is short.
 *
 * @example
 * duration(0.42) // '0.42 ms'
 * duration(12.34) // '12.3 ms'
 * duration(1534) // '1.53 s'
 * duration(125_000) // '2m 05s'
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 100) return `${ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  const m = Math.round(s / 60)
  if (m < 48 * 60) return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(m / 1440)}d ${Math.floor((m % 1440) / 60)}h`
}

/**
 * How long ago, coarse: `5s`, `3m`, `2h`, `4d`.
 *
 * @example
 * ago(90_000) // '90s'
 */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172_800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86_400)}d`
}
