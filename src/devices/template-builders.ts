/** Helpers for importers that build templates from device configs (homeassistant-config.ts, homeassistant-parts.ts). */
import { parse, tokenize } from '@huggingface/jinja'
import { compileTemplate } from './template.ts'
import { TemplateError } from './template-types.ts'
import { intString, pyFloatRepr } from './template-values.ts'

/**
 * A Jinja literal for a value, safe to splice into a template (the quote, backslash, braces and control
 * characters are escaped).
 *
 * @example
 * jinjaLiteral("it's") // "'it\\'s'"
 */
export function jinjaLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'none'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TemplateError('render', 'a literal must be a finite number')
    return Number.isInteger(value) ? intString(value) : pyFloatRepr(value)
  }
  let out = "'"
  for (const ch of value) {
    const code = ch.charCodeAt(0)
    if (ch === '\\' || ch === "'") out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\r') out += '\\r'
    else if (code < 0x20 || code === 0x7f || ch === '{' || ch === '}' || ch === '%' || ch === '#') {
      out += `\\x${code.toString(16).padStart(2, '0')}`
    } else out += ch
  }
  return `${out}'`
}

/**
 * The expression inside a template that is one `{{ … }}` and nothing else, or undefined (blocks, text,
 * several outputs, or a template that does not compile).
 *
 * @example
 * templateExpression('{{ value_json.state }}') // 'value_json.state'
 */
export function templateExpression(source: string): string | undefined {
  const trimmed = source.trim()
  const match = /^\{\{-?([\s\S]*?)-?\}\}$/.exec(trimmed)
  if (match == null) return undefined
  try {
    compileTemplate(trimmed)
    if (parse(tokenize(trimmed)).body.length !== 1) return undefined
  } catch {
    return undefined
  }
  return (match[1] as string).trim()
}

/**
 * Replaces the variables named in `replacements` with parenthesised expressions, inside `{{ }}` and `{% %}`
 * only, never in text, string literals or attribute names (`x.value` keeps its `value`). Home Assistant's
 * command templates see the command as `value`; kith's payload templates see the validated `input`.
 *
 * @example
 * substituteVariables('{"v": {{ value }}}', { value: 'input.value' }) // '{"v": {{ (input.value) }}}'
 */
export function substituteVariables(source: string, replacements: Record<string, string>): string {
  let out = ''
  let i = 0
  const n = source.length
  while (i < n) {
    const open = source.slice(i).search(/\{[{%#]/)
    if (open < 0) return out + source.slice(i)
    out += source.slice(i, i + open)
    i += open
    const kind = source[i + 1]
    if (kind === '#') {
      const end = source.indexOf('#}', i + 2)
      const stop = end < 0 ? n : end + 2
      out += source.slice(i, stop)
      i = stop
      continue
    }
    out += source.slice(i, i + 2)
    i += 2
    const close = kind === '{' ? '}}' : '%}'
    let curly = 0
    let previous = ''
    while (i < n) {
      const c = source[i] as string
      if (kind === '%' || curly === 0) {
        const len = source.startsWith(close, i) ? 2 : source.startsWith(`-${close}`, i) ? 3 : 0
        if (len > 0) {
          out += source.slice(i, i + len)
          i += len
          break
        }
      }
      if (c === '"' || c === "'") {
        let j = i + 1
        while (j < n && source[j] !== c) j += source[j] === '\\' ? 2 : 1
        out += source.slice(i, j + 1)
        i = j + 1
        previous = c
        continue
      }
      const word = /^(?:[A-Za-z_]\w*|\d+)/.exec(source.slice(i))?.[0]
      if (word != null) {
        const after = /^\s*(==|=)?/.exec(source.slice(i + word.length))?.[1]
        const replacement = Object.hasOwn(replacements, word) ? replacements[word] : undefined
        out += replacement != null && previous !== '.' && after !== '=' ? `(${replacement})` : word
        i += word.length
        previous = 'a'
        continue
      }
      if (c === '{') curly++
      else if (c === '}') curly = Math.max(0, curly - 1)
      if (!/\s/.test(c)) previous = c
      out += c
      i++
    }
  }
  return out
}

/** A Python literal of a lookup table: `None`, `True`, `False`, a number or a quoted string. */
const PY_LITERAL = /^\s*(None|True|False|-?\d+(?:\.\d+)?|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*/

/** A table's key or value as a Jinja literal of the subset. */
function literalOf(python: string): string {
  if (python === 'None') return 'none'
  if (python === 'True' || python === 'False') return python.toLowerCase()
  if (/^-?\d/.test(python)) return python
  const body = python.slice(1, -1).replace(/\\(.)/g, '$1')
  return jinjaLiteral(body)
}

/** Parses `{k: v, …}` of Python literals at `source[0]`; undefined when it is anything else. */
function parseTable(source: string): { entries: [string, string][]; length: number } | undefined {
  if (!source.startsWith('{') || source.startsWith('{{') || source.startsWith('{%')) return undefined
  const entries: [string, string][] = []
  let i = 1
  for (;;) {
    const rest = source.slice(i)
    const close = /^\s*\}/.exec(rest)
    if (close != null) return { entries, length: i + close[0].length }
    const key = PY_LITERAL.exec(rest)
    if (key == null || rest[key[0].length] !== ':') return undefined
    const after = rest.slice(key[0].length + 1)
    const value = PY_LITERAL.exec(after)
    if (value == null) return undefined
    entries.push([literalOf(key[1] as string), literalOf(value[1] as string)])
    i += key[0].length + 1 + value[0].length
    if (source[i] === ',') i++
    else if (!/^\s*\}/.test(source.slice(i))) return undefined
    if (entries.length > 64) return undefined
  }
}

/** The index of the `]` closing the `[` at `source[open]`, skipping quoted strings and nested brackets. */
function closing(source: string, open: number): number {
  let depth = 0
  for (let i = open; i < source.length; i++) {
    const c = source[i]
    if (c === '"' || c === "'") {
      let j = i + 1
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1
      i = j
    } else if (c === '[' || c === '(') depth++
    else if (c === ']' || c === ')') {
      depth--
      if (depth === 0) return c === ']' ? i : -1
    }
  }
  return -1
}

/** `table[key]` as a conditional chain: a missing key is undefined, as Jinja's subscript gives it. */
function lookup(entries: [string, string][], key: string): string {
  const chain = entries.map(([k, v]) => `${v} if (${key}) == ${k} else `).join('')
  return `(${chain}kith_no_such_entry)`
}

/**
 * Rewrites the lookup tables Zigbee2MQTT's templates use into the subset: a leading
 * `{% set values = {…} %}` of literals, `values[x]`, `x in values.keys()`, a leading `{% set value = <expr> %}`,
 * and an inline `{0: 'off', …}[value]`, all become conditional expressions with the same result (a missing key
 * is undefined, as in Jinja). Anything else is returned as it was.
 *
 * @example
 * rewriteLookups("{% set v = {'heat':'heating'} %}{{ v[value] }}") // "{{ ('heating' if (value) == 'heat' else kith_no_such_entry) }}"
 */
export function rewriteLookups(source: string): string {
  let rest = source
  const tables = new Map<string, [string, string][]>()
  const variables: Record<string, string> = {}
  for (let n = 0; n < 8; n++) {
    const head = /^\s*\{%-?\s*set\s+([A-Za-z_]\w*)\s*=\s*/.exec(rest)
    if (head == null) break
    const name = head[1] as string
    const after = rest.slice(head[0].length)
    const table = parseTable(after)
    let end: RegExpExecArray | null
    if (table != null) {
      end = /^\s*-?%\}/.exec(after.slice(table.length))
      if (end == null) return source
      tables.set(name, table.entries)
      rest = after.slice(table.length + end[0].length)
    } else {
      end = /-?%\}/.exec(after)
      if (end == null || /['"]/.test(after.slice(0, end.index))) return source
      variables[name] = after.slice(0, end.index).trim()
      rest = after.slice(end.index + end[0].length)
    }
  }
  if (Object.keys(variables).length > 0) rest = substituteVariables(rest, variables)
  for (const [name, entries] of tables) {
    const keys = `[${entries.map(([k]) => k).join(', ')}]`
    rest = rest.replace(new RegExp(`(?<![\\w.])${name}\\.keys\\(\\)`, 'g'), keys)
    for (let guard = 0; guard < 16; guard++) {
      const at = new RegExp(`(?<![\\w.])${name}\\s*\\[`).exec(rest)
      if (at == null) break
      const open = at.index + at[0].length - 1
      const close = closing(rest, open)
      if (close < 0) return source
      rest = rest.slice(0, at.index) + lookup(entries, rest.slice(open + 1, close)) + rest.slice(close + 1)
    }
  }
  // an inline table subscripted at once: `{0:'off', 1:'low'}[value]`
  for (let guard = 0; guard < 16; guard++) {
    const at = /\{\s*(?:None|True|False|-?\d|'|")/.exec(rest)
    if (at == null) break
    const table = parseTable(rest.slice(at.index))
    const open = at.index + (table?.length ?? 0)
    if (table == null || rest[open] !== '[') break
    const close = closing(rest, open)
    if (close < 0) return source
    rest =
      rest.slice(0, at.index) + lookup(table.entries, rest.slice(open + 1, close)) + rest.slice(close + 1)
  }
  return rest
}
