/** The filters the template subset allows (`float`, `int`, `round`, `default`, `tojson`…), as Python's Jinja runs them. */
import { TemplateError, type Value } from './template-types.ts'
import { isNumeric, num, pyRepr, show, toJson, type ValueMaker } from './template-values.ts'

interface Filter {
  /** parameter names, in positional order */
  params: string[]
  apply(operand: Value, args: Map<string, Value>, make: ValueMaker): Value
}

const PY_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** What Python's `float(value)` gives for the value, or undefined where it would fail (or be inf/nan). */
function floatOf(v: Value): number | undefined {
  if (isNumeric(v)) return num(v)
  if (v.type === 'StringValue') {
    const t = (v.value as string).trim()
    if (PY_FLOAT.test(t)) {
      const n = Number(t)
      return Number.isFinite(n) ? n : undefined
    }
  }
  return undefined
}

const INT_DIGITS: Record<number, RegExp> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[0-9a-f]+$/i }
const INT_PREFIX: Record<number, string> = { 2: '0b', 8: '0o', 16: '0x' }

/** What Jinja's `int` filter gives (`int(value, base)`, else `int(float(value))`), or undefined. */
function intOf(v: Value, base: number): number | undefined {
  if (v.type === 'IntegerValue') return v.value as number
  if (v.type === 'BooleanValue') return v.value ? 1 : 0
  if (v.type === 'FloatValue') return Number.isFinite(v.value) ? Math.trunc(v.value as number) : undefined
  if (v.type !== 'StringValue') return undefined
  let t = (v.value as string).trim().replace(/(?<=[0-9a-f])_(?=[0-9a-f])/gi, '')
  const negative = t.startsWith('-')
  if (t.startsWith('-') || t.startsWith('+')) t = t.slice(1)
  const prefix = INT_PREFIX[base]
  if (prefix != null && t.toLowerCase().startsWith(prefix)) t = t.slice(2)
  const digits = INT_DIGITS[base]
  if (digits?.test(t)) {
    const n = parseInt(t, base)
    if (Number.isFinite(n)) return negative ? -n : n
  }
  const f = base === 10 ? floatOf(v) : undefined
  return f === undefined ? undefined : Math.trunc(f)
}

function noDefault(filter: string, v: Value): never {
  throw new TemplateError('render', `${filter} got invalid input ${pyRepr(v)} and no default was given`)
}

/** Round half to even on the exact binary value, like Python's `round(x, ndigits)`. */
function pyRound(x: number, ndigits: number): number {
  if (Math.abs(x) >= 1e21) return x
  const [whole = '', fraction = ''] = Math.abs(x).toFixed(100).split('.')
  const kept = whole + fraction.slice(0, ndigits)
  const tail = fraction.slice(ndigits)
  const first = tail[0] ?? '0'
  const odd = Number(kept.at(-1)) % 2 === 1
  const up = first > '5' || (first === '5' && (/[1-9]/.test(tail.slice(1)) || odd))
  const digits = (BigInt(kept) + (up ? 1n : 0n)).toString().padStart(ndigits + 1, '0')
  const text = ndigits === 0 ? digits : `${digits.slice(0, -ndigits)}.${digits.slice(-ndigits)}`
  return Number(text) * (x < 0 ? -1 : 1)
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x)
  const diff = x - floor
  if (diff !== 0.5) return Math.round(x)
  return floor % 2 === 0 ? floor : floor + 1
}

function stringOf(v: Value): string {
  return v.type === 'StringValue' ? (v.value as string) : show(v)
}

function flag(args: Map<string, Value>, name: string): boolean {
  const v = args.get(name)
  return v != null && v.__bool__().value
}

export const FILTERS = new Map<string, Filter>([
  [
    'float',
    {
      params: ['default'],
      apply(v, args, make) {
        const n = floatOf(v)
        if (n !== undefined) return make.make('float', n)
        return args.get('default') ?? noDefault('float', v)
      },
    },
  ],
  [
    'int',
    {
      params: ['default', 'base'],
      apply(v, args, make) {
        const baseArg = args.get('base')
        const base = baseArg == null ? 10 : (baseArg.value as number)
        if (INT_DIGITS[base] == null) throw new TemplateError('render', 'int base must be 2, 8, 10 or 16')
        const n = intOf(v, base)
        if (n !== undefined) return make.make('int', n)
        return args.get('default') ?? noDefault('int', v)
      },
    },
  ],
  [
    'round',
    {
      // Home Assistant's forgiving_round: precision 0 gives an int, methods common/ceil/floor/half
      params: ['precision', 'method', 'default'],
      apply(v, args, make) {
        const precisionArg = args.get('precision')
        if (precisionArg != null && precisionArg.type !== 'IntegerValue') {
          throw new TemplateError('render', 'round precision must be an integer')
        }
        const precision = precisionArg == null ? 0 : (precisionArg.value as number)
        if (precision < 0 || precision > 15) {
          throw new TemplateError('render', 'round precision must be between 0 and 15')
        }
        const methodArg = args.get('method')
        const method = methodArg == null ? 'common' : stringOf(methodArg)
        const x = floatOf(v)
        if (x === undefined) return args.get('default') ?? noDefault('round', v)
        const m = 10 ** precision
        let r: number
        if (method === 'ceil') r = Math.ceil(x * m) / m
        else if (method === 'floor') r = Math.floor(x * m) / m
        else if (method === 'half') r = roundHalfEven(x * 2) / 2
        else r = pyRound(x, precision)
        return precision === 0 ? make.make('int', Math.trunc(r)) : make.make('float', r)
      },
    },
  ],
  ['lower', { params: [], apply: (v, _args, make) => make.make('string', stringOf(v).toLowerCase()) }],
  ['upper', { params: [], apply: (v, _args, make) => make.make('string', stringOf(v).toUpperCase()) }],
  ['trim', { params: [], apply: (v, _args, make) => make.make('string', stringOf(v).trim()) }],
  ['string', { params: [], apply: (v, _args, make) => make.make('string', stringOf(v)) }],
  [
    'default',
    {
      params: ['default_value', 'boolean'],
      apply(v, args, make) {
        const fallback = args.get('default_value') ?? make.make('string', '')
        if (v.type === 'UndefinedValue' || (flag(args, 'boolean') && !v.__bool__().value)) return fallback
        return v
      },
    },
  ],
  [
    'abs',
    {
      params: [],
      apply(v, _args, make) {
        if (v.type === 'FloatValue') return make.make('float', Math.abs(v.value as number))
        if (isNumeric(v)) return make.make('int', Math.abs(num(v)))
        throw new TemplateError('render', `bad operand for abs: ${pyRepr(v)}`)
      },
    },
  ],
  [
    'length',
    {
      params: [],
      apply(v, _args, make) {
        if (v.type === 'StringValue') return make.make('int', Array.from(v.value as string).length)
        if (v.type === 'ArrayValue' || v.type === 'TupleValue')
          return make.make('int', (v.value as Value[]).length)
        if (v.type === 'ObjectValue') return make.make('int', (v.value as Map<string, Value>).size)
        if (v.type === 'UndefinedValue') return make.make('int', 0)
        throw new TemplateError('render', `${pyRepr(v)} has no length`)
      },
    },
  ],
  [
    // Jinja's tojson: json.dumps(sort_keys=True), ASCII only, then made safe to embed in HTML
    'tojson',
    {
      params: [],
      apply(v, _args, make) {
        const style = { itemSeparator: ', ', keySeparator: ': ', sortKeys: true, ensureAscii: true }
        const text = toJson(v, style).replace(
          /[<>&']/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        )
        return make.make('string', text)
      },
    },
  ],
  [
    // Home Assistant's to_json: compact (orjson), keys in order, UTF-8 unless ensure_ascii
    'to_json',
    {
      params: ['ensure_ascii', 'pretty_print', 'sort_keys'],
      apply(v, args, make) {
        if (flag(args, 'pretty_print'))
          throw new TemplateError('render', 'to_json pretty_print is not supported')
        const style = {
          itemSeparator: ',',
          keySeparator: ':',
          sortKeys: flag(args, 'sort_keys'),
          ensureAscii: flag(args, 'ensure_ascii'),
        }
        return make.make('string', toJson(v, style))
      },
    },
  ],
])
