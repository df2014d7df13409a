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
 *
 * Its parts: the guard (template-guard.ts), Python's values and printing (template-values.ts), the filters
 * (template-filters.ts); the helpers importers build templates with are in template-builders.ts.
 */
import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja'
import {
  MAX_TEMPLATE_LENGTH,
  MAX_RENDERED_BYTES,
  MAX_BRACKETS,
  MAX_CONTEXT_DEPTH,
  TemplateError,
  type Template,
  type Program,
  type Value,
  type Statement,
  type Node,
} from './template-types.ts'
import { LOGICAL_OPERATORS, isForbiddenName, forbid, guard } from './template-guard.ts'
import { binary, show } from './template-values.ts'
import { FILTERS } from './template-filters.ts'

export {
  MAX_RENDERED_BYTES,
  MAX_TEMPLATE_LENGTH,
  type Template,
  TemplateError,
  type TemplateErrorReason,
} from './template-types.ts'
export { pyFloatRepr } from './template-values.ts'

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
export class SubsetInterpreter extends Interpreter {
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
