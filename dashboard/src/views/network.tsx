/** The Network view: the peer graph, a legend for its lines, and the peer list with the same facts. */
import { peerViews } from '../peers.ts'
import { serverNow } from '../store.ts'
import type { KithState } from '../store.ts'
import { useTick } from '../use-tick.ts'
import { Graph } from './graph.tsx'
import { PeerCard } from './peer-card.tsx'
import { Problem } from './problem.tsx'

function Legend() {
  const sample = (cls: string) => (
    <svg class="legend-line" viewBox="0 0 40 8" aria-hidden="true">
      <line class={`glink glink-${cls}`} x1="0" y1="4" x2="40" y2="4" />
    </svg>
  )
  return (
    <ul class="legend">
      <li>{sample('direct')} direct connection</li>
      <li>{sample('relayed')} relayed connection</li>
      <li>{sample('none')} known from its descriptor only</li>
      <li>
        <span class="legend-faded">faded</span>: descriptor gone, kept 10 minutes
      </li>
    </ul>
  )
}

export function NetworkView({ state }: { state: KithState }) {
  useTick()
  const self = state.status.data?.peerId ?? state.health?.peerId
  const peers = peerViews({
    self,
    descriptors: state.descriptors.data?.descriptors ?? [],
    connections: state.peers.data?.peers ?? [],
    gone: state.gone,
    now: serverNow(state.clock),
    localNow: performance.now(),
    names: state.names,
  })
  const status = state.status.data
  return (
    <section aria-labelledby="network-title">
      <h2 id="network-title">Network</h2>
      <Problem resources={[state.descriptors, state.peers]} />
      {status != null && (
        <p class="summary">
          {status.connections} {status.connections === 1 ? 'connection' : 'connections'} · mDNS{' '}
          {status.mdns ? 'on' : 'off'} · DHT {status.dht}
        </p>
      )}
      <div class="graph-box">
        <Graph peers={peers} />
        <Legend />
      </div>
      <h3 class="list-title">Peers ({peers.length})</h3>
      <ul class="cards">
        {peers.map((p) => (
          <PeerCard key={p.id} peer={p} {...(p.self && status?.name != null ? { name: status.name } : {})} />
        ))}
      </ul>
    </section>
  )
}
