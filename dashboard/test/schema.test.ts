import { describe, expect, it } from 'vitest'
import { fieldsOf, initialValues, toInput } from '../src/schema.ts'

const plug = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['ON', 'OFF'] },
    level: { type: 'integer', minimum: 0, maximum: 100 },
    on: { type: 'boolean' },
    note: { type: 'string' },
    extra: { type: 'object' },
  },
  required: ['state'],
}

describe('fieldsOf', () => {
  it('reads each property into the input that fits it', () => {
    const fields = fieldsOf(plug) ?? []
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['state', 'enum', true],
      ['level', 'integer', false],
      ['on', 'boolean', false],
      ['note', 'string', false],
      ['extra', 'json', false],
    ])
    expect(fields[1]).toMatchObject({ min: 0, max: 100 })
  })

  it('gives no fields for an object without properties, and none at all for a non-object input', () => {
    expect(fieldsOf({ type: 'object', properties: {}, additionalProperties: false })).toEqual([])
    expect(fieldsOf({})).toEqual([])
    expect(fieldsOf({ type: 'array' })).toBeUndefined()
  })
})

describe('toInput', () => {
  it('turns the form values back into typed input, leaving out empty optional fields', () => {
    const fields = fieldsOf(plug)
    const values = { ...initialValues(fields), level: '40', extra: '{"a":1}' }
    expect(toInput(fields, values)).toEqual({ state: 'ON', level: 40, on: false, extra: { a: 1 } })
  })

  it('names the field that does not parse', () => {
    const fields = fieldsOf(plug)
    expect(() => toInput(fields, { ...initialValues(fields), level: '2.5' })).toThrow(/level/)
    expect(() => toInput(fields, { ...initialValues(fields), extra: '{' })).toThrow(/extra/)
  })

  it('parses a whole-input JSON text', () => {
    expect(toInput(undefined, { '': '[1,2]' })).toEqual([1, 2])
    expect(toInput(undefined, { '': '' })).toEqual({})
  })
})
