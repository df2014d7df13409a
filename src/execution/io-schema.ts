/**
 * Checks a task's input and output against the JSON Schemas its capability declares (`input`, `output` in
 * the config and the descriptor), with ajv: each schema is compiled once, when the capability is
 * registered, to a function that costs about a microsecond per small value. An empty schema (`{}`, the
 * default) accepts anything and is not compiled at all.
 *
 * Drafts: a schema naming draft 2020-12 or 2019-09 in `$schema` is read as that draft, any other as
 * draft-07. Keywords and formats ajv does not know are ignored rather than refused, so a schema written
 * for documentation still loads; a schema that is not valid JSON Schema fails at registration (at boot).
 */
import { Ajv, type ValidateFunction } from 'ajv'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { KithError } from '../util/errors.ts'

/** undefined when `value` is valid; else why not, as ajv words it (`input/x must be number`) */
export type SchemaCheck = (value: unknown) => string | undefined

/** A capability's input or output JSON Schema that cannot be compiled. */
export class SchemaError extends KithError {
  static override readonly code = 'bad_schema'
  static override readonly status = 400
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SchemaError'
  }
}

type Draft = 'draft-07' | '2019-09' | '2020-12'
type AnyAjv = Ajv | Ajv2019 | Ajv2020

/** Longest message returned; a schema with many alternatives can make ajv's text long. */
const MAX_MESSAGE = 500

/**
 * One compiler per registry (ajv keeps what it compiled); nothing is shared between nodes.
 *
 * @example
 * const schemas = new SchemaCompiler()
 * const check = schemas.compile({ type: 'object', required: ['x'] }, 'input')
 * check?.({}) // "input must have required property 'x'"
 */
export class SchemaCompiler {
  readonly #ajv = new Map<Draft, AnyAjv>()

  /**
   * The check for `schema`, or undefined when the schema accepts anything. Throws {@link SchemaError}
   * when it is not a valid schema.
   */
  compile(
    schema: Readonly<Record<string, unknown>> | undefined,
    name: 'input' | 'output',
  ): SchemaCheck | undefined {
    if (schema === undefined || Object.keys(schema).length === 0) return undefined
    const ajv = this.#compiler(draftOf(schema))
    // the draft is chosen above; a `$schema` ajv has no meta-schema for (draft-04) would refuse the schema
    const { $schema: _, ...body } = schema
    let validate: ValidateFunction
    try {
      validate = ajv.compile(body)
    } catch (err) {
      throw new SchemaError(`the ${name} schema is not valid JSON Schema: ${(err as Error).message}`, {
        cause: err,
      })
    }
    return (value) => {
      if (validate(value)) return undefined
      const text = ajv.errorsText(validate.errors, { dataVar: name })
      return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text
    }
  }

  #compiler(draft: Draft): AnyAjv {
    let ajv = this.#ajv.get(draft)
    if (ajv === undefined) {
      // strict: false ignores unknown keywords and formats instead of refusing the schema
      const options = { strict: false, allErrors: false, validateFormats: false }
      ajv =
        draft === '2020-12'
          ? new Ajv2020(options)
          : draft === '2019-09'
            ? new Ajv2019(options)
            : new Ajv(options)
      this.#ajv.set(draft, ajv)
    }
    return ajv
  }
}

function draftOf(schema: Readonly<Record<string, unknown>>): Draft {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : ''
  if (declared.includes('2020-12')) return '2020-12'
  if (declared.includes('2019-09')) return '2019-09'
  return 'draft-07'
}
