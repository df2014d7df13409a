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
