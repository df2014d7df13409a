/**
 * Text analysis shared by indexing and querying: words are lower-cased, stop words dropped, stemmed with the
 * Porter stemmer, then mapped through the synonym table, so "Lamps" in an intent and "light" in a title
 * become one term.
 */
import { stemmer } from 'stemmer'
import { TERM_CACHE_SIZE } from './constants.ts'
import { HOUSEHOLD_SYNONYMS, ON_OFF_VERBS, STOPWORDS } from './synonyms.ts'

const NONE: readonly string[] = []

/**
 * Splits text into lower-case words of letters and digits.
 *
 * @example
 * tokenize('Living-room lamp, 60 W') // ['living', 'room', 'lamp', '60', 'w']
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
}

/** Turns words into index terms; one per index and query side, so both agree. */
export interface Analyzer {
  /** The terms of `text`, in order, repeated as often as they occur. */
  terms(text: string): string[]
  /** For each word of `tag`, the terms any one of which satisfies it. */
  tagGroups(tag: string): string[][]
}

export interface AnalyzerInit {
  /** groups of words meaning one thing, the first naming the group; the household table by default */
  synonyms?: readonly (readonly string[])[]
  stopwords?: ReadonlySet<string>
}

/** The synonym table keyed by stem: a stem maps to the names of every group it is in. */
function synonymTable(groups: readonly (readonly string[])[]): Map<string, string[]> {
  const table = new Map<string, string[]>()
  for (const group of groups) {
    const name = group[0]
    if (name == null) continue
    for (const word of group) {
      const stem = stemmer(word.toLowerCase())
      const names = table.get(stem) ?? []
      if (!names.includes(name)) names.push(name)
      table.set(stem, names)
    }
  }
  return table
}

/**
 * Creates an analyzer with its own bounded cache of analysed words.
 *
 * @example
 * const analyzer = createAnalyzer()
 * analyzer.terms('Turn on the living room lamps') // ['on', 'living', 'room', 'light']
 * analyzer.tagGroups('heat') // [['temperature', 'thermostat']]
 */
export function createAnalyzer(init: AnalyzerInit = {}): Analyzer {
  const synonyms = synonymTable(init.synonyms ?? HOUSEHOLD_SYNONYMS)
  const stopwords = init.stopwords ?? STOPWORDS
  const cache = new Map<string, readonly string[]>()

  const wordTerms = (word: string): readonly string[] => {
    const cached = cache.get(word)
    if (cached !== undefined) return cached
    let terms = NONE
    if (!stopwords.has(word)) {
      const stem = stemmer(word)
      terms = synonyms.get(stem) ?? [stem]
    }
    if (cache.size >= TERM_CACHE_SIZE) cache.clear()
    cache.set(word, terms)
    return terms
  }

  const eachWord = (text: string, visit: (terms: readonly string[]) => void): void => {
    const words = tokenize(text)
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!
      const next = words[i + 1]
      if (ON_OFF_VERBS.has(word) && (next === 'on' || next === 'off')) continue
      const terms = wordTerms(word)
      if (terms.length > 0) visit(terms)
    }
  }

  return {
    terms(text) {
      const out: string[] = []
      eachWord(text, (terms) => {
        for (const term of terms) out.push(term)
      })
      return out
    },
    tagGroups(tag) {
      const out: string[][] = []
      eachWord(tag, (terms) => out.push([...terms]))
      return out
    },
  }
}

/**
 * Whether a capability's tag terms satisfy every wanted word group (from {@link Analyzer.tagGroups}).
 *
 * @example
 * hasTagTerms(['light', 'outdoor'], analyzer.tagGroups('lamp')) // true
 */
export function hasTagTerms(terms: readonly string[], wanted: readonly (readonly string[])[]): boolean {
  for (const group of wanted) if (!group.some((term) => terms.includes(term))) return false
  return true
}
