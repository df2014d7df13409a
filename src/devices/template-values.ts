/**
 * Values as Home Assistant's Jinja (Python) treats them: truthiness, equality and arithmetic with Python's
 * rules, and printing (`True`, `20.0`, reprs, JSON) for the template interpreter (template.ts).
 */
import { MAX_CONTEXT_DEPTH, TemplateError, type Value } from './template-types.ts'
import type { SubsetInterpreter } from './template.ts'

export type ValueMaker = Pick<SubsetInterpreter, 'make'>

export function isNumeric(v: Value): boolean {
  return v.type === 'IntegerValue' || v.type === 'FloatValue' || v.type === 'BooleanValue'
}

export function num(v: Value): number {
  return v.type === 'BooleanValue' ? Number(v.value) : (v.value as number)
}

/** Python equality over JSON-like values: numbers across int/float/bool, deep lists and dicts. */
function pyEquals(a: Value, b: Value): boolean {
  if (isNumeric(a) && isNumeric(b)) return num(a) === num(b)
  const list = (v: Value) => v.type === 'ArrayValue' || v.type === 'TupleValue'
  if (list(a) && list(b)) {
    const x = a.value as Value[]
    const y = b.value as Value[]
    return x.length === y.length && x.every((item, i) => pyEquals(item, y[i] as Value))
  }
  if (a.type !== b.type) return false
  if (a.type === 'ObjectValue') {
    const x = a.value as Map<string, Value>
    const y = b.value as Map<string, Value>
    if (x.size !== y.size) return false
    for (const [key, item] of x) {
      const other = y.get(key)
      if (other === undefined || !pyEquals(item, other)) return false
    }
    return true
  }
  return a.value === b.value
}

export function binary(op: string, left: Value, right: Value, make: ValueMaker): Value {
  switch (op) {
    case '==':
      return make.make('bool', pyEquals(left, right))
    case '!=':
      return make.make('bool', !pyEquals(left, right))
    case '~':
      return make.make('string', show(left) + show(right))
    case '<':
    case '>':
    case '<=':
    case '>=': {
      let order: number
      if (isNumeric(left) && isNumeric(right)) order = num(left) - num(right)
      else if (left.type === 'StringValue' && right.type === 'StringValue') {
        order = left.value === right.value ? 0 : (left.value as string) < (right.value as string) ? -1 : 1
      } else
        throw new TemplateError('render', `cannot compare ${pyRepr(left)} and ${pyRepr(right)} with ${op}`)
      const result = op === '<' ? order < 0 : op === '>' ? order > 0 : op === '<=' ? order <= 0 : order >= 0
      return make.make('bool', result)
    }
  }
  if (op === '+' && left.type === 'StringValue' && right.type === 'StringValue') {
    return make.make('string', (left.value as string) + (right.value as string))
  }
  if (!isNumeric(left) || !isNumeric(right)) {
    throw new TemplateError(
      'render',
      `unsupported operand types for ${op}: ${pyRepr(left)} and ${pyRepr(right)}`,
    )
  }
  const a = num(left)
  const b = num(right)
  const float = left.type === 'FloatValue' || right.type === 'FloatValue'
  let result: number
  switch (op) {
    case '+':
      result = a + b
      break
    case '-':
      result = a - b
      break
    case '*':
      result = a * b
      break
    case '/':
      if (b === 0) throw new TemplateError('render', 'division by zero')
      return finite(a / b, true, make)
    case '//':
      if (b === 0) throw new TemplateError('render', 'division by zero')
      result = Math.floor(a / b)
      break
    case '%':
      if (b === 0) throw new TemplateError('render', 'modulo by zero')
      result = a - b * Math.floor(a / b)
      break
    case '**':
      if (a === 0 && b < 0) throw new TemplateError('render', 'zero to a negative power')
      return finite(a ** b, float || b < 0, make)
    default:
      throw new TemplateError('forbidden', `not allowed in a template: the operator ${op}`)
  }
  return finite(result, float, make)
}

function finite(n: number, float: boolean, make: ValueMaker): Value {
  if (!Number.isFinite(n)) throw new TemplateError('render', 'arithmetic result out of range')
  return float ? make.make('float', n) : make.make('int', n)
}

// ---- printing values the way Python's Jinja does ----

export function intString(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString()
}

/**
 * Python's `repr(float)`: the shortest digits that round-trip, exponent below 1e-4 and from 1e16.
 *
 * @example
 * pyFloatRepr(20) // '20.0'
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan'
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const [mantissa = '', exponent = '0'] = x.toExponential().split('e')
  const exp = Number(exponent)
  const sign = mantissa.startsWith('-') ? '-' : ''
  const digits = mantissa.replace('-', '').replace('.', '')
  if (exp < -4 || exp >= 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : ''
    return `${sign}${digits[0]}${rest}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  }
  if (exp >= digits.length - 1) return `${sign}${digits}${'0'.repeat(exp - digits.length + 1)}.0`
  if (exp >= 0) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
}

function pyStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = quote
  for (const ch of s) {
    const code = ch.codePointAt(0) as number
    if (ch === '\\' || ch === quote) out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else out += ch
  }
  return out + quote
}

/** Python's `repr` of a value (how Jinja prints a value inside a list or dict). */
export function pyRepr(v: Value): string {
  switch (v.type) {
    case 'StringValue':
      return pyStringRepr(v.value as string)
    case 'ArrayValue':
      return `[${(v.value as Value[]).map(pyRepr).join(', ')}]`
    case 'TupleValue': {
      const items = (v.value as Value[]).map(pyRepr)
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`
    }
    case 'ObjectValue':
      return `{${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`).join(', ')}}`
    default:
      return show(v)
  }
}

/** `str(value)` as Jinja prints it: `True`, `None`, `20.0`; undefined prints as nothing. */
export function show(v: Value): string {
  switch (v.type) {
    case 'StringValue':
      return v.value as string
    case 'IntegerValue':
      return intString(v.value as number)
    case 'FloatValue':
      return pyFloatRepr(v.value as number)
    case 'BooleanValue':
      return v.value ? 'True' : 'False'
    case 'NullValue':
      return 'None'
    case 'UndefinedValue':
      return ''
    case 'ArrayValue':
    case 'TupleValue':
    case 'ObjectValue':
      return pyRepr(v)
    default:
      throw new TemplateError('render', `cannot print a ${v.type}`)
  }
}

interface JsonStyle {
  itemSeparator: string
  keySeparator: string
  sortKeys: boolean
  ensureAscii: boolean
}

/** JSON text of a value, with Python's number printing; undefined and non-finite numbers are errors. */
export function toJson(v: Value, style: JsonStyle, depth = 0): string {
  if (depth > MAX_CONTEXT_DEPTH) throw new TemplateError('render', 'value nested too deeply for JSON')
  switch (v.type) {
    case 'NullValue':
      return 'null'
    case 'BooleanValue':
      return v.value ? 'true' : 'false'
    case 'IntegerValue':
      return intString(v.value as number)
    case 'FloatValue':
      if (!Number.isFinite(v.value as number))
        throw new TemplateError('render', 'cannot write a non-finite number as JSON')
      return pyFloatRepr(v.value as number)
    case 'StringValue': {
      const text = JSON.stringify(v.value)
      return style.ensureAscii
        ? text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        : text
    }
    case 'ArrayValue':
    case 'TupleValue':
      return `[${(v.value as Value[]).map((x) => toJson(x, style, depth + 1)).join(style.itemSeparator)}]`
    case 'ObjectValue': {
      const entries = [...(v.value as Map<string, Value>)]
      if (style.sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      const body = entries.map(
        ([k, x]) =>
          `${toJson({ type: 'StringValue', value: k } as Value, style)}${style.keySeparator}${toJson(x, style, depth + 1)}`,
      )
      return `{${body.join(style.itemSeparator)}}`
    }
    default:
      throw new TemplateError(
        'render',
        `cannot write ${v.type === 'UndefinedValue' ? 'an undefined value' : v.type} as JSON`,
      )
  }
}
