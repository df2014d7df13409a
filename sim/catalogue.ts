/**
 * The capabilities simulated nodes offer, in descriptor form. Popularity follows a Zipf law over the
 * catalogue's order: the first capabilities are the ones most workflows need, and the ones Sybils claim.
 */
import type { Capability } from '../src/discovery/descriptor.ts'

type Entry = [id: string, title: string, tags: string[], risk: Capability['risk']]

const ENTRIES: readonly Entry[] = [
  ['text.summarize', 'Summarize a text', ['text', 'summarize'], 'low'],
  ['image.resize', 'Resize an image', ['image', 'resize'], 'medium'],
  ['text.translate', 'Translate a text', ['text', 'translate'], 'low'],
  ['math.stats', 'Compute statistics of numbers', ['math', 'stats'], 'medium'],
  ['audio.transcribe', 'Transcribe speech audio', ['speech', 'transcribe'], 'medium'],
  ['image.ocr', 'Read text in an image', ['image', 'ocr'], 'medium'],
  ['data.hash', 'Hash a file', ['hash'], 'low'],
  ['video.thumbnail', 'Make a video thumbnail', ['video', 'thumbnail'], 'low'],
  ['doc.convert', 'Convert a document to PDF', ['convert', 'pdf'], 'medium'],
  ['plan.route', 'Plan a route between places', ['route', 'map'], 'low'],
  ['power.meter', 'Read the energy meter', ['energy', 'meter'], 'medium'],
  ['text.classify', 'Classify a text by topic', ['text', 'classify'], 'low'],
  ['image.caption', 'Caption a photo', ['photo', 'caption'], 'medium'],
  ['math.solve', 'Solve an equation', ['math', 'solve'], 'medium'],
  ['calendar.plan', 'Plan a meeting in a calendar', ['calendar'], 'low'],
  ['climate.forecast', 'Forecast room temperature', ['temperature', 'forecast'], 'medium'],
]

export const MAX_CATALOGUE = ENTRIES.length

/**
 * The first `size` capabilities, each a deterministic script with an object input and output.
 *
 * @example
 * catalogue(4).map((c) => c.id) // ['text.summarize', 'image.resize', 'text.translate', 'math.stats']
 */
export function catalogue(size: number): Capability[] {
  return ENTRIES.slice(0, size).map(([id, title, tags, risk]) => ({
    id,
    title,
    description: `${title}.`,
    tags,
    kind: 'script',
    risk,
    input: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] },
    output: { type: 'object', properties: { y: { type: 'number' } } },
    deterministic: true,
  }))
}

/** Zipf weights 1/(rank+1)^s for `size` capabilities. */
export function zipfWeights(size: number, exponent: number): number[] {
  return Array.from({ length: size }, (_, i) => 1 / Math.pow(i + 1, exponent))
}

/**
 * The right answer of capability `id` to input `x`: what an honest provider returns and what the
 * simulator's ground truth checks against.
 *
 * @example
 * answerOf('math.stats', 3) === answerOf('math.stats', 3) // true
 */
export function answerOf(id: string, x: number): { y: number } {
  let h = 0x811c9dc5 ^ x
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0
  return { y: h % 1_000_003 }
}
