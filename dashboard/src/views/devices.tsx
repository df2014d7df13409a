/**
 * The Devices view: this node's MQTT devices with availability and readings, then the device and sensor
 * capabilities of the other nodes by provider (available while their descriptor is live).
 */
import { Fragment } from 'preact'
import { Action } from '../action.tsx'
import type { RunTask } from '../action.tsx'
import { peerName, seconds, shortPeer, valueText } from '../format.ts'
import { peerViews } from '../peers.ts'
import type { PeerView } from '../peers.ts'
import { serverNow } from '../store.ts'
import type { KithState } from '../store.ts'
import type { Capability, Device, Devices } from '../types.ts'
import { useTick } from '../use-tick.ts'
import { Problem } from './problem.tsx'
import { useNames } from '../names.ts'

const physical = (c: Capability) => c.kind === 'device' || c.kind === 'sensor'

function readingAge(at: number, ageMs: number, now: number): number {
  return Number.isFinite(at) && at > 0 ? now - at : ageMs
}

/** A part's title without the device's own title in front ("Smart plug: Power" → "Power"). */
function partLabel(cap: Capability, device: Device): string {
  const rest = cap.title.startsWith(device.title)
    ? cap.title.slice(device.title.length).replace(/^[\s:·–-]+/, '')
    : cap.title
  // a part titled like its device is named by its id instead ("desk_plug.switch" → "Switch")
  const label = rest !== '' ? rest : cap.id.slice(cap.id.lastIndexOf('.') + 1).replace(/_/g, ' ')
  return label.charAt(0).toUpperCase() + label.slice(1)
}

function DeviceCard(props: {
  device: Device
  caps: Map<string, Capability>
  now: number
  self: string
  run: RunTask
}) {
  const { device, caps, now, self, run } = props
  const own = device.capabilities
    .map((id) => caps.get(id))
    .filter((c): c is Capability => c != null && physical(c))
  const sensorKey = (c: Capability) =>
    c.id.startsWith(`${device.id}.`) ? c.id.slice(device.id.length + 1) : c.id
  const shown = new Set(own.filter((c) => c.kind === 'sensor').map(sensorKey))
  const loose = Object.entries(device.readings).filter(([sensor]) => !shown.has(sensor))
  const reading = (key: string) => {
    const r = device.readings[key]
    if (r == null) return <span class="muted">no reading</span>
    return (
      <>
        {valueText(r.value)} <span class="muted">({seconds(readingAge(r.at, r.ageMs, now))} ago)</span>
      </>
    )
  }
  return (
    <li class="card" data-device={device.id}>
      <h4>
        {device.title}
        <span class={`badge ${device.online ? 'badge-live' : 'badge-bad'}`}>
          {device.online ? 'online' : 'offline'}
        </span>
      </h4>
      <p class="muted">
        <code>{device.id}</code> · {device.source}
      </p>
      {loose.length > 0 && (
        <dl class="facts">
          {loose.map(([sensor]) => (
            <Fragment key={sensor}>
              <dt>{sensor}</dt>
              <dd>{reading(sensor)}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      {own.map((cap) => (
        <Action
          key={cap.id}
          cap={cap}
          provider={self}
          self={self}
          run={run}
          label={partLabel(cap, device)}
          {...(cap.kind === 'sensor' ? { reading: reading(sensorKey(cap)) } : {})}
        />
      ))}
    </li>
  )
}

function OwnDevices({
  data,
  caps,
  now,
  self,
  run,
}: {
  data: Devices
  caps: Capability[]
  now: number
  self: string
  run: RunTask
}) {
  const byId = new Map(caps.map((c) => [c.id, c]))
  const attached = new Set(data.devices.flatMap((d) => d.capabilities))
  const loose = caps.filter((c) => physical(c) && !attached.has(c.id))
  const counters = Object.entries(data.commands ?? {})
  return (
    <>
      <p class="summary">
        Broker {data.connected === false ? 'disconnected' : 'connected'}
        {data.broker != null && ` (${data.broker})`}
        {counters.length > 0 && ` · commands: ${counters.map(([k, v]) => `${k} ${v}`).join(', ')}`}
      </p>
      {data.devices.length === 0 && loose.length === 0 && <p class="muted">This node has no devices.</p>}
      <ul class="cards">
        {data.devices.map((d) => (
          <DeviceCard key={d.id} device={d} caps={byId} now={now} self={self} run={run} />
        ))}
        {loose.length > 0 && (
          <li class="card">
            <h4>Other device capabilities</h4>
            {loose.map((c) => (
              <Action key={c.id} cap={c} provider={self} self={self} run={run} />
            ))}
          </li>
        )}
      </ul>
    </>
  )
}

function ProviderCard({ peer, self, run }: { peer: PeerView; self: string | undefined; run: RunTask }) {
  const names = useNames()
  const caps = (peer.descriptor?.caps ?? []).filter(physical)
  const live = peer.state !== 'expired'
  return (
    <li class={`card peer-${peer.state}`} data-provider={peer.id}>
      <h4 title={peer.id}>
        {shortPeer(peer.id)}
        <span class={`badge ${live ? 'badge-live' : 'badge-expired'}`}>
          {live ? 'available' : 'unavailable'}
        </span>
      </h4>
      {caps.map((c) => (
        <Action
          key={c.id}
          cap={c}
          provider={peer.id}
          self={self}
          run={run}
          {...(live ? {} : { unavailable: `${peerName(peer.id, self, names)} is gone` })}
        />
      ))}
    </li>
  )
}

export function DevicesView({ state, run }: { state: KithState; run: RunTask }) {
  useTick()
  const now = serverNow(state.clock)
  const self = state.status.data?.peerId ?? state.health?.peerId
  const peers = peerViews({
    self,
    descriptors: state.descriptors.data?.descriptors ?? [],
    connections: [],
    gone: state.gone,
    now,
    localNow: performance.now(),
    names: state.names,
  })
  const own = peers.find((p) => p.self)
  const providers = peers.filter((p) => !p.self && (p.descriptor?.caps ?? []).some(physical))
  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">Devices</h2>
      <Problem resources={[state.devices, state.descriptors]} />
      <h3>This node</h3>
      {state.devices.data != null && self != null && (
        <OwnDevices
          data={state.devices.data}
          caps={own?.descriptor?.caps ?? []}
          now={now}
          self={self}
          run={run}
        />
      )}
      <h3>Other nodes</h3>
      {providers.length === 0 ? (
        <p class="muted">No other node offers devices or sensors.</p>
      ) : (
        <ul class="cards">
          {providers.map((p) => (
            <ProviderCard key={p.id} peer={p} self={self} run={run} />
          ))}
        </ul>
      )}
    </section>
  )
}
