/**
 * The Trust view: per peer and topic, the trust this node gives it and why — the outcomes it observed
 * (each with its count and decayed weight), the local and the global value, and whether it was caught.
 */
import { peerName, score } from '../format.ts'
import type { KithState } from '../store.ts'
import type { CapabilityTrust, TrustPeer, TrustTopic } from '../types.ts'
import { Problem } from './problem.tsx'
import { useNames } from '../names.ts'

// the outcomes a peer earns, good first; others the node reports are listed after them
const OUTCOMES = ['success', 'error', 'timeout', 'wrong_answer', 'canary_failure', 'invalid_evidence']

function outcomeOrder(counts: TrustTopic['counts']): string[] {
  const seen = Object.entries(counts ?? {})
    .filter(([, c]) => c.count > 0 || c.weight > 0)
    .map(([name]) => name)
  return [...OUTCOMES.filter((o) => seen.includes(o)), ...seen.filter((o) => !OUTCOMES.includes(o)).sort()]
}

function Counts({ counts }: { counts: TrustTopic['counts'] }) {
  const names = outcomeOrder(counts)
  if (names.length === 0 || counts == null) return <span class="muted">nothing observed</span>
  return (
    <ul class="counts">
      {names.map((name) => {
        const c = counts[name]
        return (
          <li key={name} class={name === 'success' ? 'count-good' : 'count-bad'}>
            {name.replace(/_/g, ' ')} {c?.count ?? 0}
            {c != null && c.weight.toFixed(1) !== c.count.toFixed(1) && (
              <span class="muted"> (weight {c.weight.toFixed(1)})</span>
            )}
          </li>
        )
      })}
    </ul>
  )
}

function PeerTrust({
  peer,
  caps,
  self,
}: {
  peer: TrustPeer
  caps: CapabilityTrust[]
  self: string | undefined
}) {
  const names = useNames()
  return (
    <li class="card" data-trust-peer={peer.peer}>
      <h3 title={peer.peer}>
        {peerName(peer.peer, self, names)}
        {peer.caught ? (
          <span class="badge badge-bad">caught</span>
        ) : (
          <span class="badge badge-neutral">not caught</span>
        )}
      </h3>
      <p class="peer-id">
        <code>{peer.peer}</code>
      </p>
      {peer.topics.length === 0 ? (
        <p class="muted">No topics yet.</p>
      ) : (
        <div
          class="scroll"
          tabIndex={0}
          role="region"
          aria-label={`Trust topics of ${peerName(peer.peer, self, names)}`}
        >
          <table class="compact">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col">Trust</th>
                <th scope="col">Local</th>
                <th scope="col">Global</th>
                <th scope="col">Observed</th>
              </tr>
            </thead>
            <tbody>
              {peer.topics.map((t) => (
                <tr key={t.topic}>
                  <th scope="row">{t.topic}</th>
                  <td>{score(t.trust)}</td>
                  <td>{score(t.local)}</td>
                  <td>{score(t.global)}</td>
                  <td>
                    <Counts counts={t.counts} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {caps.length > 0 && (
        <p class="muted">
          Capabilities:{' '}
          {caps
            .map((c) => `${c.capability} ${score(c.trust)} on ${c.topic}${c.caught ? ' (caught)' : ''}`)
            .join('; ')}
        </p>
      )}
    </li>
  )
}

export function TrustView({ state }: { state: KithState }) {
  const data = state.trust.data
  const self = data?.self ?? state.status.data?.peerId
  const peers = [...(data?.peers ?? [])].sort(
    (a, b) => Number(b.caught) - Number(a.caught) || a.peer.localeCompare(b.peer),
  )
  return (
    <section aria-labelledby="trust-title">
      <h2 id="trust-title">Trust</h2>
      <Problem resources={[state.trust]} />
      {data != null && peers.length === 0 && <p class="muted">No peer has been observed yet.</p>}
      <ul class="cards cards-wide">
        {peers.map((p) => (
          <PeerTrust
            key={p.peer}
            peer={p}
            caps={(data?.capabilities ?? []).filter((c) => c.peer === p.peer)}
            self={self}
          />
        ))}
      </ul>
    </section>
  )
}
