/** The Capabilities view: every capability any live descriptor offers, filtered, with its provider's trust. */
import { useId, useState } from 'preact/hooks'
import { peerName, score } from '../format.ts'
import type { KithState } from '../store.ts'
import type { CapKind, Capability, CapabilityTrust, Risk } from '../types.ts'
import { Problem } from './problem.tsx'
import { useNames } from '../names.ts'

export interface CapRow {
  cap: Capability
  provider: string
}

export function capRows(state: KithState): CapRow[] {
  const rows = (state.descriptors.data?.descriptors ?? []).flatMap((d) =>
    d.caps.map((cap) => ({ cap, provider: d.peer })),
  )
  return rows.sort((a, b) => a.cap.id.localeCompare(b.cap.id) || a.provider.localeCompare(b.provider))
}

function matches(row: CapRow, text: string, kind: string, risk: string): boolean {
  if (kind !== '' && row.cap.kind !== kind) return false
  if (risk !== '' && row.cap.risk !== risk) return false
  if (text === '') return true
  const haystack = [row.cap.id, row.cap.title, row.cap.description, ...row.cap.tags].join('\n').toLowerCase()
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '')
    .every((w) => haystack.includes(w))
}

function TrustCell({ entry }: { entry: CapabilityTrust | undefined }) {
  if (entry == null) return <span class="muted">no record</span>
  return (
    <span>
      {score(entry.trust)} <span class="muted">on {entry.topic}</span>
      {entry.caught && <span class="badge badge-bad">caught</span>}
    </span>
  )
}

const KINDS: CapKind[] = ['script', 'device', 'sensor']
const RISKS: Risk[] = ['low', 'medium', 'high']

export function CapabilitiesView({ state }: { state: KithState }) {
  const names = useNames()
  const [text, setText] = useState('')
  const [kind, setKind] = useState('')
  const [risk, setRisk] = useState('')
  const id = useId()
  const self = state.status.data?.peerId ?? state.health?.peerId
  const trust = new Map((state.trust.data?.capabilities ?? []).map((t) => [`${t.peer} ${t.capability}`, t]))
  const all = capRows(state)
  const shown = all.filter((r) => matches(r, text.trim(), kind, risk))
  return (
    <section aria-labelledby="caps-title">
      <h2 id="caps-title">Capabilities</h2>
      <Problem resources={[state.descriptors]} />
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for={`${id}-q`}>Search</label>
          <input
            id={`${id}-q`}
            type="search"
            value={text}
            placeholder="id, title, description, tag"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={`${id}-risk`}>Risk</label>
          <select id={`${id}-risk`} value={risk} onChange={(e) => setRisk(e.currentTarget.value)}>
            <option value="">any</option>
            {RISKS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
      </form>
      <p class="summary" aria-live="polite">
        {shown.length} of {all.length} capabilities
      </p>
      <div class="scroll" tabIndex={0} role="region" aria-label="Capabilities table">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Capability</th>
              <th scope="col">Kind</th>
              <th scope="col">Risk</th>
              <th scope="col">Provider</th>
              <th scope="col">Trust</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {shown.map(({ cap, provider }) => (
              <tr key={`${provider} ${cap.id}`} data-cap={cap.id} data-provider={provider}>
                <th scope="row" data-label="Capability">
                  <span class="cap-title">{cap.title}</span>
                  <code class="cap-id">{cap.id}</code>
                  {cap.description !== '' && <span class="cap-desc">{cap.description}</span>}
                </th>
                <td data-label="Kind">{cap.kind}</td>
                <td data-label="Risk">
                  <span class={`badge badge-risk-${cap.risk}`}>{cap.risk}</span>
                </td>
                <td title={provider} data-label="Provider">
                  {peerName(provider, self, names)}
                </td>
                <td data-label="Trust">
                  <TrustCell entry={trust.get(`${provider} ${cap.id}`)} />
                </td>
                <td data-label="Tags">{cap.tags.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
