/**
 * The Jinja subset Home Assistant value and command templates use, for templates that arrive from devices
 * (untrusted). `@huggingface/jinja` lexes and parses (it interprets; nothing is compiled to JavaScript); a
 * guard walks the tree and refuses anything outside the subset before a template can run; and a subclass of
 * its interpreter evaluates member access, filters, comparisons and arithmetic itself, with Python's rules,
 * so that no library builtin (string methods, `range`, `namespace`, macros) is reachable and the output is
 * what Home Assistant's Jinja would print (`True`, `20.0`, banker's `round`).
 *
 * The subset: text, `{{ … }}`, `{% if/elif/else %}`, literals, names, `a.b`, `a['b']`, `a[0]`, comparisons,
 * `and`/`or`/`not`/`in`, arithmetic, `x if c else y`, the tests `defined`, `undefined`, `none`, `number`,
 * `string`, `boolean`, `integer`, and the filters `float`, `int`, `round`, `lower`, `upper`, `trim`,
 * `default`, `string`, `abs`, `length`, `tojson` and `to_json`.
 */
import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja'

export const MAX_TEMPLATE_LENGTH = 1024
export const MAX_RENDERED_BYTES = 16 * 1024
/** deepest nesting of brackets and of the syntax tree; real templates stay far below */
const MAX_BRACKETS = 32
const MAX_TREE_DEPTH = 128
const MAX_CONTEXT_DEPTH = 64

export type TemplateErrorReason = 'too_long' | 'too_deep' | 'syntax' | 'forbidden' | 'render'

const DEFAULT_MESSAGES: Record<TemplateErrorReason, string> = {
  too_long: 'template too long',
  too_deep: 'template nested too deeply',
  syntax: 'template syntax error',
  forbidden: 'template uses a construct outside the allowed subset',
  render: 'template failed to render',
}

export class TemplateError extends Error {
  readonly reason: TemplateErrorReason

  constructor(reason: TemplateErrorReason, message = DEFAULT_MESSAGES[reason]) {
    super(message)
    this.name = 'TemplateError'
    this.reason = reason
  }
}

export interface Template {
  readonly source: string
  /** renders with JSON-like context values; throws {@link TemplateError} */
  render(context: Record<string, unknown>): string
}

// The package's declaration files import without extensions, which `nodenext` cannot follow, so its types
// arrive as `any`: these are the shapes this file relies on.
/** the parsed program (`Program` node) */
type Program = { type: 'Program'; body: unknown[] }
/** a runtime value of the library (`IntegerValue`, `StringValue`, `ObjectValue`, …): `type` names the class */
interface Value {
  type: string
  value: unknown
  __bool__(): { value: boolean }
}
type Statement = object
/** the parser's nodes, seen structurally: every node has a `type` and its own fields */
type Node = { type: string } & Record<string, unknown>

const ALLOWED_TESTS = new Set(['defined', 'undefined', 'none', 'number', 'string', 'boolean', 'integer'])
const BINARY_OPERATORS = new Set(['+', '-', '*', '/', '//', '%', '**', '~', '==', '!=', '<', '>', '<=', '>='])
const LOGICAL_OPERATORS = new Set(['and', 'or', 'in', 'not in'])
/** library globals and Jinja specials: refused by name even where they would only read as undefined */
const FORBIDDEN_NAMES = new Set([
  'constructor',
  'prototype',
  'range',
  'namespace',
  'raise_exception',
  'strftime_now',
  'self',
  'caller',
  'loop',
  'varargs',
  'kwargs',
  'super',
  'cycler',
  'joiner',
  'lipsum',
  'dict',
])

/** True for names no template may read: `_private`, `__proto__`, `constructor`, `prototype`, library globals. */
function isForbiddenName(name: string): boolean {
  return name.startsWith('_') || FORBIDDEN_NAMES.has(name)
}

/**
 * Parses and checks a template; throws {@link TemplateError} (`too_long`, `too_deep`, `syntax`, `forbidden`).
 *
 * @example
 * compileTemplate('{{ (value | float / 10) | round(1) }}').render({ value: '215' }) // '21.5'
 */
export function compileTemplate(source: string): Template {
  if (typeof source !== 'string') throw new TemplateError('syntax', 'a template must be a string')
  if (source.length > MAX_TEMPLATE_LENGTH) {
    throw new TemplateError('too_long', `template longer than ${MAX_TEMPLATE_LENGTH} characters`)
  }
  let program: Program
  try {
    const tokens = tokenize(source)
    let depth = 0
    for (const token of tokens) {
      if (
        token.type === 'OpenParen' ||
        token.type === 'OpenSquareBracket' ||
        token.type === 'OpenCurlyBracket'
      ) {
        if (++depth > MAX_BRACKETS)
          throw new TemplateError('too_deep', `brackets nested deeper than ${MAX_BRACKETS}`)
      } else if (
        token.type === 'CloseParen' ||
        token.type === 'CloseSquareBracket' ||
        token.type === 'CloseCurlyBracket'
      ) {
        depth--
      }
    }
    program = parse(tokens)
  } catch (err) {
    if (err instanceof TemplateError) throw err
    throw new TemplateError('syntax', `template syntax error: ${(err as Error)?.message ?? String(err)}`)
  }
  try {
    guard(program as unknown as Node, 0)
  } catch (err) {
    if (err instanceof TemplateError) throw err
    throw new TemplateError('syntax', `template syntax error: ${(err as Error)?.message ?? String(err)}`)
  }
  return new GuardedTemplate(source, program)
}

/**
 * True when a rendered confirmation or condition says yes: `true`, `True`, `1` or `on` (trimmed, any case).
 *
 * @example
 * isTruthy(' True\n') // true
 */
export function isTruthy(rendered: string): boolean {
  return /^(true|1|on)$/i.test(rendered.trim())
}

function forbid(what: string): never {
  throw new TemplateError('forbidden', `not allowed in a template: ${what}`)
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || isForbiddenName(name)) forbid(`the name ${JSON.stringify(name)}`)
}

function guardAll(nodes: unknown, depth: number): void {
  if (!Array.isArray(nodes)) forbid('a malformed block')
  for (const node of nodes) guard(node as Node, depth)
}

/** Refuses every node outside the subset; runs once, at compile time. */
function guard(node: Node, depth: number): void {
  if (depth > MAX_TREE_DEPTH)
    throw new TemplateError('too_deep', `expression nested deeper than ${MAX_TREE_DEPTH}`)
  const d = depth + 1
  switch (node.type) {
    case 'Program':
      return guardAll(node.body, d)
    case 'If':
      guard(node.test as Node, d)
      guardAll(node.body, d)
      return guardAll(node.alternate, d)
    case 'Comment':
    case 'StringLiteral':
    case 'IntegerLiteral':
    case 'FloatLiteral':
      return
    case 'ArrayLiteral':
    case 'TupleLiteral':
      return guardAll(node.value, d)
    case 'ObjectLiteral':
      for (const [key, value] of node.value as Map<Node, Node>) {
        guard(key, d)
        guard(value, d)
      }
      return
    case 'Identifier':
      return checkName(node.value)
    case 'MemberExpression': {
      guard(node.object as Node, d)
      const property = node.property as Node
      if (property.type === 'SliceExpression') forbid('slices')
      if (!node.computed) {
        if (property.type === 'Identifier') checkName(property.value)
        return
      }
      if (property.type === 'StringLiteral') checkName(property.value)
      return guard(property, d)
    }
    case 'BinaryExpression': {
      const op = (node.operator as { value: string }).value
      if (!BINARY_OPERATORS.has(op) && !LOGICAL_OPERATORS.has(op)) forbid(`the operator ${op}`)
      guard(node.left as Node, d)
      return guard(node.right as Node, d)
    }
    case 'UnaryExpression':
      return guard(node.argument as Node, d)
    case 'Ternary':
      guard(node.condition as Node, d)
      guard(node.trueExpr as Node, d)
      return guard(node.falseExpr as Node, d)
    case 'SelectExpression':
      guard(node.lhs as Node, d)
      return guard(node.test as Node, d)
    case 'TestExpression': {
      const name = (node.test as Node).value as string
      if (!ALLOWED_TESTS.has(name)) forbid(`the test "${name}"`)
      return guard(node.operand as Node, d)
    }
    case 'FilterExpression': {
      guard(node.operand as Node, d)
      const filter = node.filter as Node
      if (filter.type === 'Identifier') return checkFilter(filter.value as string, [])
      if (filter.type !== 'CallExpression' || (filter.callee as Node).type !== 'Identifier')
        forbid('a computed filter')
      const args = filter.args as Node[]
      checkFilter((filter.callee as Node).value as string, args)
      for (const arg of args) {
        if (arg.type === 'KeywordArgumentExpression') guard(arg.value as Node, d)
        else if (arg.type === 'SpreadExpression' || arg.type === 'KeywordSpreadExpression')
          forbid('argument unpacking')
        else guard(arg, d)
      }
      return
    }
    case 'CallExpression':
      return forbid('calls (only the allowed filters may take arguments)')
    default:
      return forbid(nodeName(node.type))
  }
}

function nodeName(type: string): string {
  const names: Record<string, string> = {
    For: '{% for %} loops',
    Set: '{% set %}',
    Macro: 'macros',
    CallStatement: '{% call %}',
    FilterStatement: '{% filter %} blocks',
    Break: '{% break %}',
    Continue: '{% continue %}',
  }
  return names[type] ?? type
}

function checkFilter(name: string, args: Node[]): void {
  const filter = FILTERS.get(name)
  if (filter == null) forbid(`the filter "${name}"`)
  let positional = 0
  for (const arg of args) {
    if (arg.type === 'KeywordArgumentExpression') {
      const key = (arg.key as Node).value as string
      if (!filter.params.includes(key))
        throw new TemplateError('syntax', `filter "${name}" has no argument "${key}"`)
    } else positional++
  }
  if (positional > filter.params.length) {
    throw new TemplateError('syntax', `filter "${name}" takes at most ${filter.params.length} arguments`)
  }
}

class GuardedTemplate implements Template {
  readonly source: string
  readonly #program: Program

  constructor(source: string, program: Program) {
    this.source = source
    this.#program = program
  }

  render(context: Record<string, unknown>): string {
    const env = new Environment()
    const interpreter = new SubsetInterpreter(env, context)
    let out: string
    try {
      out = show(interpreter.evaluate(this.#program as unknown as Statement, env))
    } catch (err) {
      if (err instanceof TemplateError) throw err
      throw new TemplateError(
        'render',
        `template failed to render: ${(err as Error)?.message ?? String(err)}`,
      )
    }
    if (Buffer.byteLength(out) > MAX_RENDERED_BYTES) {
      throw new TemplateError('too_long', `rendered output larger than ${MAX_RENDERED_BYTES} bytes`)
    }
    return out
  }
}

/** Copies context values as JSON-like data: no functions, class instances, cycles or non-finite numbers. */
function jsonLike(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value !== 'object') return undefined
  if (depth > MAX_CONTEXT_DEPTH) throw new TemplateError('render', 'template context nested too deeply')
  if (Array.isArray(value)) return value.map((item) => jsonLike(item, depth + 1))
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    const copy = jsonLike(item, depth + 1)
    if (copy !== undefined) Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true })
  }
  return out
}

/**
 * The library's interpreter with the subset's semantics in front: it still runs literals, `and`/`or`/`not`,
 * `in`, `x if c else y` and the tests, each of which evaluates its operands through this `evaluate`.
 */
class SubsetInterpreter extends Interpreter {
  readonly #env: Environment
  readonly #context: Map<string, Value>
  readonly #constants: Map<string, Value>

  constructor(env: Environment, context: Record<string, unknown>) {
    super(env)
    this.#env = env
    const scratch = new Environment()
    const converted = scratch.set('context', jsonLike(context, 0) ?? {}) as Value
    this.#context = converted.type === 'ObjectValue' ? (converted.value as Map<string, Value>) : new Map()
    const constants = scratch.set('constants', { true: true, false: false, none: null }) as Value
    const map = constants.value as Map<string, Value>
    this.#constants = new Map([
      ['true', map.get('true') as Value],
      ['True', map.get('true') as Value],
      ['false', map.get('false') as Value],
      ['False', map.get('false') as Value],
      ['none', map.get('none') as Value],
      ['None', map.get('none') as Value],
    ])
  }

  // overrides Interpreter.evaluate (not marked: the base class is untyped here)
  evaluate(statement: Statement | undefined, environment: Environment): Value {
    const node = statement as Node | undefined
    switch (node?.type) {
      case 'Program':
        return this.#block(node.body as Node[])
      case 'Comment':
        return this.make('string', '')
      case 'If':
        return this.#block(
          (this.evaluate(node.test as Statement, environment).__bool__().value
            ? node.body
            : node.alternate) as Node[],
        )
      case 'Identifier': {
        const name = node.value as string
        return this.#constants.get(name) ?? this.#context.get(name) ?? this.make('undefined')
      }
      case 'MemberExpression':
        return this.#member(node)
      case 'FilterExpression':
        return this.#filter(node)
      case 'BinaryExpression':
        if (!LOGICAL_OPERATORS.has((node.operator as { value: string }).value)) return this.#binary(node)
        break
    }
    return super.evaluate(statement, environment) as Value
  }

  /** Builds a runtime value of the library's own classes through its literal nodes and conversion. */
  make(kind: 'int' | 'float' | 'string', value: number | string): Value
  make(kind: 'bool', value: boolean): Value
  make(kind: 'none' | 'undefined'): Value
  make(kind: string, value?: unknown): Value {
    const literal = (type: string) =>
      super.evaluate({ type, value } as unknown as Statement, this.#env) as Value
    switch (kind) {
      case 'int':
        return literal('IntegerLiteral')
      case 'float':
        return literal('FloatLiteral')
      case 'string': {
        const text = value as string
        if (text.length > MAX_RENDERED_BYTES)
          throw new TemplateError('too_long', 'a string grew past the output limit')
        return literal('StringLiteral')
      }
      case 'bool':
        return this.#constants.get(value ? 'true' : 'false') as Value
      case 'none':
        return this.#constants.get('none') as Value
      default:
        return super.evaluate(undefined, this.#env) as Value
    }
  }

  #block(statements: Node[]): Value {
    let out = ''
    for (const statement of statements) {
      out += show(this.evaluate(statement as unknown as Statement, this.#env))
      if (out.length > MAX_RENDERED_BYTES) throw new TemplateError('too_long', 'rendered output too large')
    }
    return this.make('string', out)
  }

  #member(node: Node): Value {
    const object = this.evaluate(node.object as Statement, this.#env)
    const property = node.property as Node
    let key: Value
    if (node.computed) key = this.evaluate(property as unknown as Statement, this.#env)
    else if (property.type === 'IntegerLiteral') key = this.make('int', property.value as number)
    else key = this.make('string', property.value as string)
    if (key.type === 'StringValue') {
      const name = key.value as string
      if (isForbiddenName(name)) forbid(`the key ${JSON.stringify(name)}`)
      if (object.type === 'ObjectValue')
        return (object.value as Map<string, Value>).get(name) ?? this.make('undefined')
    } else if (key.type === 'IntegerValue') {
      const index = key.value as number
      if (object.type === 'ArrayValue' || object.type === 'TupleValue') {
        return (object.value as Value[]).at(index) ?? this.make('undefined')
      }
      if (object.type === 'StringValue') {
        const char = Array.from(object.value as string).at(index)
        return char === undefined ? this.make('undefined') : this.make('string', char)
      }
    }
    // no methods or attributes of strings, lists or numbers: their builtins are exactly what must not leak
    return this.make('undefined')
  }

  #filter(node: Node): Value {
    const operand = this.evaluate(node.operand as Statement, this.#env)
    const filterNode = node.filter as Node
    const name = (
      filterNode.type === 'Identifier' ? filterNode.value : (filterNode.callee as Node).value
    ) as string
    const filter = FILTERS.get(name)
    if (filter == null) forbid(`the filter "${name}"`)
    const args = new Map<string, Value>()
    if (filterNode.type === 'CallExpression') {
      let position = 0
      for (const arg of filterNode.args as Node[]) {
        if (arg.type === 'KeywordArgumentExpression') {
          args.set((arg.key as Node).value as string, this.evaluate(arg.value as Statement, this.#env))
        } else {
          args.set(filter.params[position++] as string, this.evaluate(arg as unknown as Statement, this.#env))
        }
      }
    }
    return filter.apply(operand, args, this)
  }

  #binary(node: Node): Value {
    const op = (node.operator as { value: string }).value
    const left = this.evaluate(node.left as Statement, this.#env)
    const right = this.evaluate(node.right as Statement, this.#env)
    return binary(op, left, right, this)
  }
}

type ValueMaker = Pick<SubsetInterpreter, 'make'>

function isNumeric(v: Value): boolean {
  return v.type === 'IntegerValue' || v.type === 'FloatValue' || v.type === 'BooleanValue'
}

function num(v: Value): number {
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

function binary(op: string, left: Value, right: Value, make: ValueMaker): Value {
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

function intString(n: number): string {
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
function pyRepr(v: Value): string {
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
function show(v: Value): string {
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
function toJson(v: Value, style: JsonStyle, depth = 0): string {
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

// ---- the filters ----

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

const FILTERS = new Map<string, Filter>([
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

// ---- helpers for importers that build templates from device configs ----

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
