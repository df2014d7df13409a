/** The template engine's limits, its error, and the shapes its parts share (template.ts). */
import { KithError } from '../util/errors.ts'

export const MAX_TEMPLATE_LENGTH = 2048
export const MAX_RENDERED_BYTES = 16 * 1024
/** deepest nesting of brackets and of the syntax tree; real templates stay far below */
export const MAX_BRACKETS = 32
export const MAX_TREE_DEPTH = 128
export const MAX_CONTEXT_DEPTH = 64

export type TemplateErrorReason = 'too_long' | 'too_deep' | 'syntax' | 'forbidden' | 'render'

const DEFAULT_MESSAGES: Record<TemplateErrorReason, string> = {
  too_long: 'template too long',
  too_deep: 'template nested too deeply',
  syntax: 'template syntax error',
  forbidden: 'template uses a construct outside the allowed subset',
  render: 'template failed to render',
}

/** A device template outside the allowed subset, or one that failed to render; `reason` says which. */
export class TemplateError extends KithError {
  static override readonly code = 'bad_template'
  static override readonly status = 400
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
export type Program = { type: 'Program'; body: unknown[] }
/** a runtime value of the library (`IntegerValue`, `StringValue`, `ObjectValue`, …): `type` names the class */
export interface Value {
  type: string
  value: unknown
  __bool__(): { value: boolean }
}
export type Statement = object
/** the parser's nodes, seen structurally: every node has a `type` and its own fields */
export type Node = { type: string } & Record<string, unknown>
