/**
 * Running a device action or reading a sensor from the page: the form its input schema calls for, a
 * confirmation first when the capability is high risk, and the outcome with its verification.
 */
import { useMemo, useState } from 'preact/hooks'
import type { ComponentChildren } from 'preact'
import { ConfirmDialog } from './confirm.tsx'
import { peerName, valueText } from './format.ts'
import { SchemaForm } from './schema-form.tsx'
import { fieldsOf, initialValues, toInput } from './schema.ts'
import type { FormValues } from './schema.ts'
import type { Capability, RunResult } from './types.ts'
import { useNames } from './names.ts'

/** A sensor's output (`{value, unit, …}`) as "21.5 °C"; anything else as JSON. */
function outputText(output: unknown): string {
  if (output != null && typeof output === 'object' && 'value' in output) {
    const { value, unit } = output as { value: unknown; unit?: unknown }
    return `${valueText(value)}${typeof unit === 'string' ? ` ${unit}` : ''}`
  }
  return typeof output === 'string' ? output : JSON.stringify(output)
}

export type RunTask = (body: { capability: string; provider: string; input: unknown }) => Promise<RunResult>

interface Props {
  cap: Capability
  provider: string
  self: string | undefined
  run: RunTask
  /** why it cannot run now (its provider's descriptor is gone); undefined when it can */
  unavailable?: string
  /** the title to show, where the card around it already names the device */
  label?: string
  /** a sensor's last reading, shown beside its Read button */
  reading?: ComponentChildren
}

type Outcome = { busy: true } | { result: RunResult } | { error: string } | undefined

function Result({ outcome, self, inline }: { outcome: Outcome; self: string | undefined; inline: boolean }) {
  const names = useNames()
  if (outcome == null) return null
  if ('busy' in outcome) return <p class="muted">Running…</p>
  if ('error' in outcome) return <p class="problem">Not run: {outcome.error}</p>
  const r = outcome.result
  return (
    <>
      <p>
        {r.ok ? <strong class="good">ok</strong> : <strong class="bad">failed</strong>}
        {` · status ${r.status}`}
        {r.tier != null && ` · tier ${r.tier}`}
        {r.provider != null && ` · by ${peerName(r.provider, self, names)}`}
        {r.error != null && ` · ${r.error.message}`}
        {inline && r.output !== undefined && (
          <>
            {' · '}
            <strong>{outputText(r.output)}</strong>
          </>
        )}
      </p>
      {!inline && r.output !== undefined && <pre class="output">{outputText(r.output)}</pre>}
      {(r.checks ?? []).length > 0 && (
        <ul class="checks">
          {(r.checks ?? []).map((c) => (
            <li key={c.name} class={`check-${c.result}`}>
              {c.name}: {c.result}
              {c.reason != null && ` (${c.reason})`}
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

export function Action({ cap, provider, self, run, unavailable, label, reading }: Props) {
  const names = useNames()
  const fields = useMemo(() => (cap.kind === 'sensor' ? [] : fieldsOf(cap.input)), [cap])
  const [values, setValues] = useState<FormValues>(() => initialValues(fields))
  const [outcome, setOutcome] = useState<Outcome>(undefined)
  const [confirming, setConfirming] = useState<{ input: unknown } | undefined>(undefined)
  const busy = outcome != null && 'busy' in outcome

  const go = async (input: unknown) => {
    setOutcome({ busy: true })
    try {
      setOutcome({ result: await run({ capability: cap.id, provider, input }) })
    } catch (err) {
      setOutcome({ error: err instanceof Error ? err.message : String(err) })
    }
  }

  const onSubmit = (e: Event) => {
    e.preventDefault()
    if (busy) return
    let input: unknown
    try {
      input = cap.kind === 'sensor' ? {} : toInput(fields, values)
    } catch (err) {
      setOutcome({ error: err instanceof Error ? err.message : String(err) })
      return
    }
    if (cap.risk === 'high') setConfirming({ input })
    else void go(input)
  }

  const sensor = cap.kind === 'sensor'
  const hook = sensor ? { 'data-read': cap.id } : { 'data-action': cap.id }
  const button = (
    // kept enabled while busy, so focus stays on it; a second press is ignored
    <button type="submit" disabled={unavailable != null} aria-disabled={busy ? 'true' : undefined}>
      {sensor ? 'Read' : 'Run'}
    </button>
  )
  const risk = cap.risk !== 'low' && <span class={`badge badge-risk-${cap.risk}`}>{cap.risk} risk</span>
  return (
    <form
      class={sensor ? 'action action-read' : 'action'}
      {...hook}
      data-provider={provider}
      onSubmit={onSubmit}
    >
      {sensor ? (
        <div class="read-row">
          <span class="read-name">
            {label ?? cap.title} {risk}
          </span>
          <span class="read-value">{reading}</span>
          {button}
        </div>
      ) : (
        <>
          <p class="action-title">
            <span>{label ?? cap.title}</span> <code>{cap.id}</code>
            {risk}
          </p>
          <SchemaForm
            fields={fields}
            values={values}
            disabled={busy || unavailable != null}
            onChange={(name, value) => setValues((v) => ({ ...v, [name]: value }))}
          />
          <div class="buttons">{button}</div>
        </>
      )}
      {unavailable != null && <p class="muted">{unavailable}</p>}
      <div class="result" data-result={cap.id} aria-live="polite">
        <Result outcome={outcome} self={self} inline={sensor} />
      </div>
      {confirming != null && (
        <ConfirmDialog
          title={`Run ${cap.title}?`}
          onDone={(yes) => {
            setConfirming(undefined)
            if (yes) void go(confirming.input)
          }}
        >
          <p>
            <code>{cap.id}</code> is a high-risk action on {peerName(provider, self, names)}. It acts on the
            physical world; run it only if you mean to.
          </p>
        </ConfirmDialog>
      )}
    </form>
  )
}
