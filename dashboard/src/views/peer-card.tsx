/** One peer as text: the accessible twin of its node in the graph. */
import { percent, seconds, shortPeer } from '../format.ts'
import type { PeerView } from '../peers.ts'

const STATE_LABEL = { live: 'live', stale: 'stale', expired: 'expired' } as const

export function linkText(peer: PeerView): string {
  if (peer.self) return 'this node'
  if (peer.connection == null) return 'not connected (descriptor only)'
  const way = peer.connection.direction === 'inbound' ? 'inbound' : 'outbound'
  return peer.connection.relayed ? `relayed, ${way}` : `direct, ${way}`
}

export function stateLabel(peer: PeerView): string {
  return peer.gone ? 'gone' : STATE_LABEL[peer.state]
}

function Freshness({ peer }: { peer: PeerView }) {
  const d = peer.descriptor
  if (d == null) return <span>no descriptor</span>
  if (peer.gone) return <span>gone (descriptor no longer held)</span>
  const age = peer.age ?? 0
  const share = Math.min(1, age / d.ttl)
  return (
    <span class="fresh">
      <span>
        {seconds(age)} / {seconds(d.ttl)}
      </span>
      <span class={`bar bar-${peer.state}`} aria-hidden="true">
        <span class="fill" style={{ width: `${Math.round(share * 100)}%` }} />
      </span>
    </span>
  )
}

export function PeerCard({ peer, name }: { peer: PeerView; name?: string }) {
  const state = peer.descriptor?.state
  return (
    <li
      class={`card peer peer-${peer.state}`}
      data-peer={peer.id}
      data-state={peer.state}
      {...(peer.self ? { 'data-self': 'true' } : {})}
    >
      <h4 class="peer-title">
        {peer.self
          ? `This node${name != null ? ` (${name})` : ''}`
          : peer.name != null
            ? `${peer.name} (${shortPeer(peer.id)})`
            : shortPeer(peer.id)}
        <span class={`badge badge-${peer.state}`}>{stateLabel(peer)}</span>
      </h4>
      <p class="peer-id">
        <code>{peer.id}</code>
      </p>
      <dl class="facts">
        <dt>Link</dt>
        <dd>{linkText(peer)}</dd>
        <dt>Freshness</dt>
        <dd>
          <Freshness peer={peer} />
        </dd>
        {state?.battery != null && (
          <>
            <dt>Battery</dt>
            <dd>
              {Math.round(state.battery)} %{state.charging === true ? ', charging' : ''}
            </dd>
          </>
        )}
        {state?.battery == null && state?.charging != null && (
          <>
            <dt>Charging</dt>
            <dd>{state.charging ? 'yes' : 'no'}</dd>
          </>
        )}
        {state != null && (
          <>
            <dt>Load</dt>
            <dd>
              {percent(state.load)}, queue {state.queue}
            </dd>
          </>
        )}
        {state?.thermal != null && (
          <>
            <dt>Thermal</dt>
            <dd>{Math.round(state.thermal)} °C</dd>
          </>
        )}
        {peer.descriptor != null && (
          <>
            <dt>Capabilities</dt>
            <dd>
              {peer.descriptor.caps.length}
              {peer.descriptor.attest.tpm ? ', TPM attested' : ''}
            </dd>
          </>
        )}
      </dl>
    </li>
  )
}
