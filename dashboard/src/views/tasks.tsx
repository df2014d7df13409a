/** The Tasks view: the node's recent tasks, newest first, with how each was verified. */
import { clockTime, duration, peerName } from '../format.ts'
import type { KithState } from '../store.ts'
import type { Check, Task } from '../types.ts'
import { Problem } from './problem.tsx'
import { useNames } from '../names.ts'

/** The time a task took: its own start and end, else the sum of its attempts. */
export function latency(task: Task): number | undefined {
  if (task.startedAt != null && task.endedAt != null) return task.endedAt - task.startedAt
  const attempts = task.result?.attempts
  if (attempts == null || attempts.length === 0) return undefined
  return attempts.reduce((sum, a) => sum + a.ms, 0)
}

/** What the `evidence` check says was shown: a signed receipt, and whether a TPM quote backed it. */
export function evidence(checks: Check[] | undefined): { receipt: string; tpm: string } {
  const check = checks?.find((c) => c.name === 'evidence')
  if (check == null || check.result === 'skipped') return { receipt: 'no', tpm: 'no' }
  if (check.result === 'fail') return { receipt: 'invalid', tpm: 'no' }
  const reason = (check.reason ?? '').toLowerCase()
  return { receipt: 'yes', tpm: reason.includes('tpm quote') ? 'yes' : 'no' }
}

function Checks({ checks }: { checks: Check[] | undefined }) {
  if (checks == null || checks.length === 0) return <span class="muted">—</span>
  const passed = checks.filter((c) => c.result === 'pass').length
  const failed = checks.filter((c) => c.result === 'fail').length
  return (
    <>
      <span>
        {passed} passed, {failed} failed
      </span>
      <ul class="checks">
        {checks.map((c) => (
          <li key={c.name} class={`check-${c.result}`}>
            {c.name}: {c.result}
            {c.reason != null && <span class="muted"> ({c.reason})</span>}
          </li>
        ))}
      </ul>
    </>
  )
}

function Row({ task, self }: { task: Task; self: string | undefined }) {
  const names = useNames()
  const r = task.result
  const peer = task.direction === 'out' ? (r?.provider ?? task.peer) : task.peer
  const ev = r != null ? evidence(r.checks) : undefined
  const ms = latency(task)
  const status = r?.status ?? task.status
  const tone =
    (r?.ok ?? status === 'ok') ? 'live' : status === 'queued' || status === 'running' ? 'neutral' : 'bad'
  return (
    <tr data-task={task.id}>
      <td class="nowrap" data-label="Time">
        {clockTime(task.createdAt)}
      </td>
      <th scope="row" data-label="Capability">
        <code>{task.cap}</code>
      </th>
      <td class="nowrap" data-label="Direction">
        {task.direction === 'out' ? 'out (asked)' : 'in (served)'}
      </td>
      <td title={peer} data-label="Peer">
        {r?.local === true ? 'this node' : peerName(peer, self, names)}
      </td>
      <td data-label="Status">
        <span class={`badge badge-${tone}`}>{status}</span>
        {(task.error ?? r?.error?.message) != null && (
          <span class="cap-desc">{task.error ?? r?.error?.message}</span>
        )}
      </td>
      <td data-label="Tier">{r?.tier ?? '—'}</td>
      <td data-label="Checks">
        <Checks checks={r?.checks} />
      </td>
      <td data-label="Evidence">{ev == null ? '—' : `receipt ${ev.receipt}, TPM quote ${ev.tpm}`}</td>
      <td data-label="Latency">{ms == null ? '—' : duration(ms)}</td>
    </tr>
  )
}

export function TasksView({ state }: { state: KithState }) {
  const self = state.status.data?.peerId ?? state.health?.peerId
  const tasks = state.tasks.data?.tasks ?? []
  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      <Problem resources={[state.tasks]} />
      {state.tasks.data != null && tasks.length === 0 && <p class="muted">No tasks yet.</p>}
      {tasks.length > 0 && (
        <div class="scroll" tabIndex={0} role="region" aria-label="Tasks table">
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Capability</th>
                <th scope="col">Direction</th>
                <th scope="col">Provider / peer</th>
                <th scope="col">Status</th>
                <th scope="col">Tier</th>
                <th scope="col">Checks</th>
                <th scope="col">Evidence</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t) => (
                <Row key={t.id} task={t} self={self} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
