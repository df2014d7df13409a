/** The inputs of a device action, one per field of its input schema (schema.ts), each with its label. */
import { useId } from 'preact/hooks'
import type { Field, FormValues } from './schema.ts'

interface Props {
  fields: Field[] | undefined
  values: FormValues
  onChange(name: string, value: string | boolean): void
  disabled?: boolean
}

function Input({
  field,
  id,
  value,
  onChange,
  disabled,
}: {
  field: Field
  id: string
  value: string | boolean | undefined
  onChange(value: string | boolean): void
  disabled: boolean
}) {
  const described = field.description != null ? { 'aria-describedby': `${id}-hint` } : {}
  const common = { id, disabled, required: field.required && field.kind !== 'boolean', ...described }
  const text = typeof value === 'string' ? value : ''
  switch (field.kind) {
    case 'boolean':
      return (
        <input
          {...common}
          type="checkbox"
          role="switch"
          checked={value === true}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
      )
    case 'enum':
      return (
        <select {...common} value={text} onChange={(e) => onChange(e.currentTarget.value)}>
          {!field.required && <option value="">—</option>}
          {(field.options ?? []).map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      )
    case 'integer':
    case 'number':
      return (
        <input
          {...common}
          type="number"
          inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'}
          step={field.step ?? (field.kind === 'integer' ? 1 : 'any')}
          {...(field.min != null ? { min: field.min } : {})}
          {...(field.max != null ? { max: field.max } : {})}
          value={text}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      )
    case 'string':
      return <input {...common} type="text" value={text} onInput={(e) => onChange(e.currentTarget.value)} />
    default:
      return (
        <textarea
          {...common}
          class="json"
          rows={2}
          spellcheck={false}
          value={text}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      )
  }
}

function range(field: Field): string {
  if (field.min != null && field.max != null) return ` (${field.min}–${field.max})`
  if (field.min != null) return ` (≥ ${field.min})`
  if (field.max != null) return ` (≤ ${field.max})`
  return field.kind === 'json' ? ' (JSON)' : ''
}

export function SchemaForm({ fields, values, onChange, disabled = false }: Props) {
  const id = useId()
  if (fields == null)
    return (
      <div class="field">
        <label for={`${id}-whole`}>Input (JSON)</label>
        <textarea
          id={`${id}-whole`}
          class="json"
          rows={3}
          spellcheck={false}
          disabled={disabled}
          value={String(values[''] ?? '')}
          onInput={(e) => onChange('', e.currentTarget.value)}
        />
      </div>
    )
  return (
    <>
      {fields.map((f, i) => {
        const fieldId = `${id}-${i}`
        return (
          <div key={f.name} class={f.kind === 'boolean' ? 'field field-check' : 'field'}>
            <label for={fieldId}>
              {f.label}
              {range(f)}
            </label>
            <Input
              field={f}
              id={fieldId}
              value={values[f.name]}
              onChange={(v) => onChange(f.name, v)}
              disabled={disabled}
            />
            {f.description != null && (
              <span id={`${fieldId}-hint`} class="hint">
                {f.description}
              </span>
            )}
          </div>
        )
      })}
    </>
  )
}
