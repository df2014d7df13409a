/**
 * Text from other peers (capability titles, peer names, error messages) on a terminal: it must not move the
 * cursor, recolour the screen or set the window title, and the table around it must stay aligned. So control
 * characters and escape sequences are removed, and widths are counted in terminal columns: East Asian wide
 * characters and emoji take two, combining marks and joiners none.
 */

/**
 * ANSI/ECMA-48 escape sequences: CSI (`ESC [` … final byte, or its 8-bit form U+009B), the string commands OSC,
 * DCS, SOS, PM and APC up to their terminator (BEL or ST), and two-character `ESC x` sequences.
 */
const ESCAPES = new RegExp(
  [
    '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]',
    '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?',
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?',
  ].join('|'),
  'g',
)

/** Line breaks and tabs: a space, so words on either side stay apart. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g

/**
 * What is left to remove: C0 and C1 controls and DEL, and the bidirectional overrides and isolates, which
 * reorder what follows them on the screen.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g

/**
 * `text` fit for one terminal line: escape sequences and control characters removed, line breaks and tabs
 * turned into spaces.
 *
 * @example
 * terminalText('Lamp\x1b]0;pwned\x07 \x1b[2Jon') // 'Lamp on'
 * terminalText('two\nlines') // 'two lines'
 */
export function terminalText(text: string): string {
  return text.replace(ESCAPES, '').replace(BREAKS, ' ').replace(CONTROLS, '')
}

/** C1 controls and bidirectional overrides, which JSON.stringify leaves raw (it escapes only C0). */
const RAW_IN_JSON = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g

/**
 * JSON as the terminal gets it: the same value, with the characters a terminal would act on escaped as `\uXXXX`
 *
 * @example
 * terminalJson({ title: 'a\u009b2Jb' }) // '{\n  "title": "a\\u009b2Jb"\n}'
 */
export function terminalJson(value: unknown): string {
  return String(JSON.stringify(value, null, 2)).replace(
    RAW_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * East_Asian_Width W and F ranges outside the emoji (Unicode's EastAsianWidth.txt, coarsened to whole
 * blocks where the gaps are unassigned): Hangul Jamo, CJK, Kana, Hangul syllables, fullwidth forms and the
 * supplementary ideographic planes.
 */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x3fffd],
]

function isWide(codePoint: number): boolean {
  for (const [from, to] of WIDE) {
    if (codePoint < from) return false
    if (codePoint <= to) return true
  }
  return false
}

/** Emoji shown as pictures: by default, or asked for with VS16 (U+FE0F). */
const EMOJI = /^\p{Extended_Pictographic}/u
const PICTURE = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator}{2}|\u20E3/u
/** Marks, joiners and other format characters: they take no column of their own. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]+$/u

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })

/** Columns of one grapheme cluster (a base character with its marks, or an emoji sequence). */
function clusterWidth(cluster: string): number {
  if (ZERO_WIDTH.test(cluster)) return 0
  if (PICTURE.test(cluster) || (EMOJI.test(cluster) && cluster.includes('\u200d'))) return 2
  return isWide(cluster.codePointAt(0) ?? 0) ? 2 : 1
}

/**
 * How many terminal columns `text` takes; escape sequences take none (styled cells measure as they show).
 *
 * @example
 * displayWidth('lamp') // 4
 * displayWidth('台所の電気') // 10
 * displayWidth('e\u0301') // 1
 * displayWidth('💡 on') // 5
 */
export function displayWidth(text: string): number {
  let width = 0
  for (const { segment } of graphemes.segment(text.replace(ESCAPES, ''))) width += clusterWidth(segment)
  return width
}

/**
 * `text` cut to at most `max` columns, ending in `…` when cut; a wide character or an emoji is never split.
 *
 * @example
 * fitWidth('Virtual dimmable light living_room_lamp', 20) // 'Virtual dimmable li…'
 * fitWidth('居間の照明', 6) // '居間…'
 */
export function fitWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text
  let out = ''
  let width = 0
  for (const { segment } of graphemes.segment(text)) {
    const w = clusterWidth(segment)
    if (width + w > max - 1) break
    out += segment
    width += w
  }
  return `${out}…`
}
