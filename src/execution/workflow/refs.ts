/**
 * References inside a workflow's values: `${steps.<id>.output[.path]}` and `${input[.path]}`. Found once when
 * the file is parsed (they make dependencies and must name known steps) and resolved when a step starts.
 */
import { BadReferenceError } from './errors.ts'

/** One parsed `${…}`: where it points and the text it was written as. */
export interface Reference {
  /** as written, e.g. `${steps.temp.output.celsius}` */
  text: string
  /** the step whose output it reads; undefined for the workflow input */
  step?: string
  /** keys and array indexes below the output (or input) */
  path: Array<string | number>
}

/** A reference found in a value, with the path of the string that holds it. */
export interface FoundReference {
  at: Array<string | number>
  reference?: Reference
  /** set when the `${…}` cannot be parsed */
  error?: string
}

/** What references read while running: the workflow input and each finished step. */
export interface ReferenceScope {
  input: unknown
  steps: ReadonlyMap<string, { status: string; output?: unknown }>
}

type Token = string | { expr: string }

const EXPRESSION = /^(?:steps\.([a-z][a-z0-9_-]{0,31})\.output|input)((?:\.[A-Za-z0-9_-]+|\[\d{1,9}\])*)$/
const MAX_TOKENS = 256

/** Splits a string into literal text and `${…}` expressions; a string for an unclosed or oversized one. */
function tokenize(s: string): Token[] | string {
  const out: Token[] = []
  let literal = ''
  let i = 0
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      literal += '${'
      i += 3
    } else if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2)
      if (end < 0) return 'a "${" without its closing "}" (write "$${" for a literal "${")'
      if (literal !== '') out.push(literal)
      literal = ''
      out.push({ expr: s.slice(i + 2, end) })
      if (out.length > MAX_TOKENS) return `more than ${MAX_TOKENS} references in one string`
      i = end + 1
    } else {
      literal += s[i]
      i += 1
    }
  }
  if (literal !== '' || out.length === 0) out.push(literal)
  return out
}

/**
 * Parses the inside of one `${…}`.
 *
 * @example
 * parseReference('steps.temp.output.items[0]') // { text: '${steps.temp.output.items[0]}', step: 'temp', path: ['items', 0] }
 */
export function parseReference(expr: string): Reference | undefined {
  const match = EXPRESSION.exec(expr.trim())
  if (match == null) return undefined
  const path = [...(match[2] ?? '').matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((m) =>
    m[2] != null ? Number(m[2]) : (m[1] ?? ''),
  )
  return { text: `\${${expr.trim()}}`, ...(match[1] != null ? { step: match[1] } : {}), path }
}

/**
 * Every reference in `value` (strings in nested maps and lists; keys are never references).
 *
 * @example
 * findReferences({ t: '${steps.a.output.c}' }) // [{ at: ['t'], reference: { step: 'a', path: ['c'], … } }]
 */
export function findReferences(value: unknown, at: Array<string | number> = []): FoundReference[] {
  if (typeof value === 'string') {
    const tokens = tokenize(value)
    if (typeof tokens === 'string') return [{ at, error: tokens }]
    return tokens.flatMap((t): FoundReference[] => {
      if (typeof t === 'string') return []
      const reference = parseReference(t.expr)
      return reference != null
        ? [{ at, reference }]
        : [
            {
              at,
              error: `"\${${t.expr}}" is not a reference: use \${steps.<id>.output[.key…]} or \${input[.key…]}`,
            },
          ]
    })
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findReferences(v, [...at, i]))
  if (typeof value === 'object' && value != null)
    return Object.entries(value).flatMap(([k, v]) => findReferences(v, [...at, k]))
  return []
}

/**
 * The value a reference points at; throws {@link BadReferenceError} when it points at nothing.
 *
 * @example
 * const scope = { input: {}, steps: new Map([['a', { status: 'ok', output: { c: 21 } }]]) }
 * lookup(parseReference('steps.a.output.c')!, scope) // 21
 */
export function lookup(reference: Reference, scope: ReferenceScope): unknown {
  let current: unknown
  let where: string
  if (reference.step != null) {
    const step = scope.steps.get(reference.step)
    if (step == null) throw new BadReferenceError(reference.text, `step "${reference.step}" has not run`)
    if (step.status !== 'ok')
      throw new BadReferenceError(
        reference.text,
        `step "${reference.step}" ${step.status}, so it has no output`,
      )
    current = step.output
    where = `steps.${reference.step}.output`
  } else {
    current = scope.input
    where = 'input'
  }
  for (const seg of reference.path) {
    if (Array.isArray(current) && /^\d+$/.test(String(seg))) {
      const index = Number(seg)
      if (index >= current.length)
        throw new BadReferenceError(reference.text, `${where} has ${current.length} items, no [${index}]`)
      current = current[index]
    } else if (typeof current === 'object' && current != null && Object.hasOwn(current, seg)) {
      current = (current as Record<string, unknown>)[String(seg)]
    } else {
      throw new BadReferenceError(reference.text, `${where} has no "${seg}" (it is ${describe(current)})`)
    }
    where += typeof seg === 'number' ? `[${seg}]` : `.${seg}`
  }
  return current
}

/**
 * A copy of `value` with every reference replaced: a string that is exactly one reference becomes the value
 * itself, a reference inside longer text becomes its text (strings as they are, anything else as JSON).
 *
 * @example
 * const scope = { input: { room: 'hall' }, steps: new Map([['a', { status: 'ok', output: { c: 21 } }]]) }
 * resolveValue({ t: '${steps.a.output.c}', s: '${input.room}: ${steps.a.output}' }, scope)
 * // { t: 21, s: 'hall: {"c":21}' }
 */
export function resolveValue(value: unknown, scope: ReferenceScope): unknown {
  if (typeof value === 'string') {
    const tokens = tokenize(value)
    if (typeof tokens === 'string') throw new BadReferenceError(value, tokens)
    const one = tokens.length === 1 ? tokens[0] : undefined
    if (one != null && typeof one !== 'string') return lookup(mustParse(one.expr), scope)
    return tokens.map((t) => (typeof t === 'string' ? t : textOf(lookup(mustParse(t.expr), scope)))).join('')
  }
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, scope))
  if (typeof value === 'object' && value != null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, scope)]))
  return value
}

function mustParse(expr: string): Reference {
  const reference = parseReference(expr)
  if (reference == null) throw new BadReferenceError(`\${${expr}}`, 'not a reference')
  return reference
}

function textOf(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null')
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return `a list of ${v.length}`
  return typeof v === 'object'
    ? `a map with keys ${Object.keys(v).slice(0, 8).join(', ') || '(none)'}`
    : `a ${typeof v}`
}
