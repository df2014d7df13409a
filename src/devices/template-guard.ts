/**
 * The guard that walks a parsed template and refuses every construct outside the subset (template.ts)
 * before it can run: names, tests, operators, filters and their arguments, and depth.
 */
import { MAX_TREE_DEPTH, TemplateError, type Node } from './template-types.ts'
import { FILTERS } from './template-filters.ts'

const ALLOWED_TESTS = new Set(['defined', 'undefined', 'none', 'number', 'string', 'boolean', 'integer'])
const BINARY_OPERATORS = new Set(['+', '-', '*', '/', '//', '%', '**', '~', '==', '!=', '<', '>', '<=', '>='])
export const LOGICAL_OPERATORS = new Set(['and', 'or', 'in', 'not in'])
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
export function isForbiddenName(name: string): boolean {
  return name.startsWith('_') || FORBIDDEN_NAMES.has(name)
}

export function forbid(what: string): never {
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
export function guard(node: Node, depth: number): void {
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
