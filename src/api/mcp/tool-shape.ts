/**
 * How one capability of one provider looks as an MCP tool: its input schema (always an object, as MCP
 * requires), its annotations from kind and risk, and a description that says who provides it and how a call
 * is verified.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import type { Capability } from '../../discovery/descriptor.ts'

type Risk = Capability['risk']
type JsonObject = Record<string, unknown>

/** The tier `auto` picks for a risk (DESIGN.md, "Tiers": low -> 1, medium -> 2, high -> 3). */
export function tierForRisk(risk: Risk): 1 | 2 | 3 {
  return risk === 'high' ? 3 : risk === 'medium' ? 2 : 1
}

/** High-risk capabilities run only after the user confirmed (docs/mcp.md). */
export function needsConfirmation(capability: Pick<Capability, 'risk'>): boolean {
  return capability.risk === 'high'
}

/**
 * MCP tool annotations from kind and risk: a sensor read, or a low-risk script, is read-only; a device
 * action or anything of high risk is destructive; devices act on the world outside the network.
 *
 * @example
 * annotationsFor({ kind: 'sensor', risk: 'low', title: 'Hall temperature' }).readOnlyHint // true
 */
export function annotationsFor(
  capability: Pick<Capability, 'kind' | 'risk' | 'title' | 'deterministic'>,
): NonNullable<Tool['annotations']> {
  const { kind, risk } = capability
  const readOnly = kind === 'sensor' || (kind === 'script' && risk === 'low')
  return {
    title: capability.title,
    readOnlyHint: readOnly,
    destructiveHint: !readOnly && (risk === 'high' || kind === 'device'),
    idempotentHint: readOnly || capability.deterministic === true,
    openWorldHint: kind !== 'script',
  }
}

export interface ToolInput {
  inputSchema: Tool['inputSchema']
  /** the capability's input is the `input` argument, not the arguments object itself */
  wrapped: boolean
}

export const CONFIRM_PROPERTY = {
  type: 'boolean',
  description:
    'High risk: set to true only after the user has explicitly agreed to this action. Clients that support ' +
    'elicitation are asked instead.',
} as const

/**
 * The tool's input schema from the capability's: an object schema as it is (with `confirm` added for
 * high-risk tools), an empty one as `{type: 'object'}`, and any other (a number, an array, a `confirm`
 * property of its own) wrapped as the `input` property.
 *
 * @example
 * toolInput({ type: 'number' }, false) // { inputSchema: { type: 'object', properties: { input: { type: 'number' } }, required: ['input'] }, wrapped: true }
 */
export function toolInput(schema: Readonly<JsonObject>, confirm: boolean): ToolInput {
  const extra: Record<string, object> = confirm ? { confirm: CONFIRM_PROPERTY } : {}
  if (Object.keys(schema).length === 0)
    return { inputSchema: { type: 'object', properties: { ...extra } }, wrapped: false }
  const props = (schema.properties ?? {}) as JsonObject
  if (isObjectSchema(schema) && !(confirm && 'confirm' in props)) {
    return {
      inputSchema: { ...schema, type: 'object', properties: { ...props, ...extra } } as Tool['inputSchema'],
      wrapped: false,
    }
  }
  return {
    inputSchema: { type: 'object', properties: { input: schema, ...extra }, required: ['input'] },
    wrapped: true,
  }
}

const isPlainObject = (v: unknown): v is JsonObject => v != null && typeof v === 'object' && !Array.isArray(v)

/**
 * An object schema MCP clients accept as it is: `type: object` (or no type but properties), every property
 * a schema object (clients refuse `true`/`false` there), `required` a list of names.
 */
function isObjectSchema(schema: Readonly<JsonObject>): boolean {
  const { type, properties, required } = schema
  if (type !== 'object' && !(type === undefined && properties !== undefined)) return false
  if (
    properties !== undefined &&
    !(isPlainObject(properties) && Object.values(properties).every(isPlainObject))
  )
    return false
  return required === undefined || (Array.isArray(required) && required.every((r) => typeof r === 'string'))
}

const MAX_DESCRIPTION = 2400

/**
 * @example
 * describeTool(capability, '12D3KooW…', true) // "Double a number. … Provided by 12D3KooW… (this node) …"
 */
export function describeTool(capability: Capability, peer: string, local: boolean): string {
  const { title, description, kind, risk } = capability
  const what = description.trim() === '' || description === title ? title : `${title}. ${description}`
  const lines = [
    what.slice(0, 2000),
    `Provided by peer ${peer}${local ? ' (this node)' : ''}; capability ${capability.id}, kind ${kind}, ` +
      `risk ${risk}, verified at tier ${tierForRisk(risk)}.`,
  ]
  if (needsConfirmation(capability))
    lines.push(
      'High risk: runs only after the user confirms. Clients with elicitation get a prompt; others must ' +
        'pass "confirm": true, and only once the user has agreed.',
    )
  return lines.join('\n').slice(0, MAX_DESCRIPTION)
}
