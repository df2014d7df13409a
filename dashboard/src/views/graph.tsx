/**
 * The household as a star: this node in the middle, every other peer on a ring around it. The line says
 * how this node reaches it: solid direct, dashed relayed, dotted when it is known only from its descriptor.
 * The graph is a picture (role img); the peer list under it carries the same facts for assistive technology.
 */
import { percent, seconds, shortPeer } from '../format.ts'
import type { PeerView } from '../peers.ts'
import { linkText, stateLabel } from './peer-card.tsx'

const WIDTH = 400
const HEIGHT = 300
const CX = WIDTH / 2
const CY = HEIGHT / 2
// an ellipse, wider than tall, leaves room for the labels above and below the nodes
const RX = 130
const RY = 95

function subtitle(peer: PeerView): string {
  const s = peer.descriptor?.state
  if (peer.gone) return 'gone'
  if (s == null) return 'no descriptor'
  const parts = [`load ${percent(s.load)}`]
  if (s.battery != null) parts.unshift(`${Math.round(s.battery)}%${s.charging === true ? '+' : ''}`)
  if (s.thermal != null) parts.push(`${Math.round(s.thermal)}°C`)
  return parts.join(' · ')
}

function tooltip(peer: PeerView): string {
  const d = peer.descriptor
  const fresh =
    d != null && peer.age != null && !peer.gone ? `, ${seconds(peer.age)} / ${seconds(d.ttl)}` : ''
  return `${peer.id}: ${linkText(peer)}, ${stateLabel(peer)}${fresh}`
}

function Node({ peer, x, y }: { peer: PeerView; x: number; y: number }) {
  const r = peer.self ? 32 : 18
  // this node's words sit inside its circle, a peer's on the side away from the centre: no link crosses them
  const above = y < CY - 10
  const labelY = peer.self ? -2 : above ? -r - 19 : r + 14
  const subY = peer.self ? 11 : above ? -r - 6 : r + 27
  return (
    <g
      class={`gnode gnode-${peer.state}`}
      data-peer={peer.id}
      data-state={peer.state}
      {...(peer.self ? { 'data-self': 'true' } : {})}
      transform={`translate(${x.toFixed(1)} ${y.toFixed(1)})`}
    >
      <title>{tooltip(peer)}</title>
      <circle r={r} class={peer.self ? 'gself' : 'gpeer'} />
      <text class={peer.self ? 'glabel ginside' : 'glabel'} y={labelY}>
        {peer.self ? 'this node' : (peer.name ?? shortPeer(peer.id))}
      </text>
      <text class={peer.self ? 'gsub ginside' : 'gsub'} y={subY}>
        {subtitle(peer)}
      </text>
    </g>
  )
}

export function Graph({ peers }: { peers: PeerView[] }) {
  const self = peers.find((p) => p.self)
  const others = peers.filter((p) => !p.self)
  const at = (i: number) => {
    const angle = (2 * Math.PI * i) / Math.max(others.length, 1) - Math.PI / 2
    return { x: CX + RX * Math.cos(angle), y: CY + RY * Math.sin(angle) }
  }
  const connected = others.filter((p) => p.link === 'direct' || p.link === 'relayed').length
  return (
    <svg
      class="graph"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`This node and ${others.length} other peers, ${connected} of them connected`}
    >
      {others.map((p, i) => {
        const { x, y } = at(i)
        return (
          <line
            key={`l-${p.id}`}
            class={`glink glink-${p.link} gnode-${p.state}`}
            x1={CX}
            y1={CY}
            x2={x.toFixed(1)}
            y2={y.toFixed(1)}
          />
        )
      })}
      {others.map((p, i) => {
        const { x, y } = at(i)
        return <Node key={p.id} peer={p} x={x} y={y} />
      })}
      {self != null && <Node peer={self} x={CX} y={CY} />}
    </svg>
  )
}
