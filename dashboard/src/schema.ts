/**
 * The few JSON Schema shapes a device action's input is made of, read into form fields: a boolean, an enum,
 * a bounded number, a string. Anything else is typed as JSON, a property at a time where the input is an
 * object, else as a whole.
 */
import type { JsonSchema } from './types.ts'

export type FieldKind = 'boolean' | 'enum' | 'integer' | 'number' | 'string' | 'json'

export interface Field {
  name: string
  kind: FieldKind
  label: string
  description?: string
  required: boolean
  options?: unknown[]
  min?: number
  max?: number
  step?: number
  default?: unknown
}

/** The values of a form as its inputs hold them; `''` is the whole-input JSON when there are no fields. */
export type FormValues = Record<string, string | boolean>

const WHOLE = ''

function typeOf(schema: JsonSchema): string | undefined {
  const type = schema.type
  if (typeof type === 'string') return type
  if (Array.isArray(type)) return type.find((t): t is string => typeof t === 'string' && t !== 'null')
  return undefined
}

function fieldOf(name: string, schema: JsonSchema, required: boolean): Field {
  const base = {
    name,
    label: typeof schema.title === 'string' ? schema.title : name,
    required,
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    ...(schema.default !== undefined ? { default: schema.default } : {}),
  }
  if (Array.isArray(schema.enum) && schema.enum.every((v) => v === null || typeof v !== 'object'))
    return { ...base, kind: 'enum', options: schema.enum }
  const type = typeOf(schema)
  if (type === 'boolean') return { ...base, kind: 'boolean' }
  if (type === 'integer' || type === 'number')
    return {
      ...base,
      kind: type,
      ...(typeof schema.minimum === 'number' ? { min: schema.minimum } : {}),
      ...(typeof schema.maximum === 'number' ? { max: schema.maximum } : {}),
      ...(typeof schema.multipleOf === 'number' ? { step: schema.multipleOf } : {}),
    }
  if (type === 'string') return { ...base, kind: 'string' }
  return { ...base, kind: 'json' }
}

/**
 * The fields of an input schema; `undefined` when the input is not an object and is typed as JSON whole.
 *
 * @example
 * fieldsOf({ type: 'object', properties: { on: { type: 'boolean' } } }) // [{ name: 'on', kind: 'boolean', … }]
 */
export function fieldsOf(schema: JsonSchema): Field[] | undefined {
  const type = typeOf(schema)
  const properties = schema.properties
  if (type != null && type !== 'object') return undefined
  if (properties == null || typeof properties !== 'object')
    return type === 'object' || type == null ? [] : undefined
  const required = Array.isArray(schema.required) ? schema.required : []
  return Object.entries(properties as Record<string, unknown>).map(([name, prop]) =>
    fieldOf(
      name,
      prop != null && typeof prop === 'object' ? (prop as JsonSchema) : {},
      required.includes(name),
    ),
  )
}

export function initialValues(fields: Field[] | undefined): FormValues {
  if (fields == null) return { [WHOLE]: '{}' }
  return Object.fromEntries(
    fields.map((f) => {
      if (f.kind === 'boolean') return [f.name, f.default === true]
      if (f.kind === 'json') return [f.name, f.default === undefined ? '' : JSON.stringify(f.default)]
      if (f.kind === 'enum' && f.default === undefined && f.required)
        return [f.name, String(f.options?.[0] ?? '')]
      return [f.name, f.default === undefined ? '' : String(f.default)]
    }),
  )
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what} is not valid JSON`)
  }
}

/**
 * The task input the form's values stand for; throws an Error naming the field that does not parse.
 *
 * @example
 * toInput([{ name: 'level', kind: 'integer', label: 'level', required: true }], { level: '40' }) // { level: 40 }
 */
export function toInput(fields: Field[] | undefined, values: FormValues): unknown {
  if (fields == null) {
    const text = String(values[WHOLE] ?? '').trim()
    return text === '' ? {} : parseJson(text, 'The input')
  }
  const input: Record<string, unknown> = {}
  for (const f of fields) {
    const value = values[f.name]
    if (f.kind === 'boolean') {
      input[f.name] = value === true
      continue
    }
    const text = typeof value === 'string' ? value : ''
    if (text === '') continue
    if (f.kind === 'enum') input[f.name] = f.options?.find((o) => String(o) === text) ?? text
    else if (f.kind === 'integer' || f.kind === 'number') {
      const n = Number(text)
      if (!Number.isFinite(n) || (f.kind === 'integer' && !Number.isInteger(n)))
        throw new Error(`${f.label} must be ${f.kind === 'integer' ? 'a whole number' : 'a number'}`)
      input[f.name] = n
    } else if (f.kind === 'json') input[f.name] = parseJson(text, f.label)
    else input[f.name] = text
  }
  return input
}
