/** The dashboard's frame: header with the node and the live state, the view tabs, and the current view. */
import { useEffect } from 'preact/hooks'
import { ClockBanner } from './clock-banner.tsx'
import { shortPeer } from './format.ts'
import { Login } from './login.tsx'
import { ROUTES, useRoute } from './route.ts'
import type { RouteId } from './route.ts'
import type { KithState, Store } from './store.ts'
import { useKith } from './use-kith.ts'
import { CapabilitiesView } from './views/capabilities.tsx'
import { DevicesView } from './views/devices.tsx'
import { NetworkView } from './views/network.tsx'
import { TasksView } from './views/tasks.tsx'
import { TrustView } from './views/trust.tsx'
import { NamesContext } from './names.ts'

function NodeInfo({ state }: { state: KithState }) {
  const peerId = state.health?.peerId ?? state.status.data?.peerId
  const version = state.health?.version ?? state.status.data?.version
  const name = state.status.data?.name
  return (
    <p class="node-info">
      {name != null && <span class="node-name">{name}</span>}
      {peerId != null && (
        <span title={peerId}>
          peer <code>{shortPeer(peerId)}</code>
        </span>
      )}
      {version != null && <span>v{version}</span>}
    </p>
  )
}

function LiveIndicator({ state }: { state: KithState }) {
  const connected = state.live === 'connected'
  return (
    <p class="live" data-live={state.live} role="status" aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {connected ? 'live' : state.needsToken ? 'signed out' : 'reconnecting…'}
    </p>
  )
}

function View({ route, state, store }: { route: RouteId; state: KithState; store: Store }) {
  switch (route) {
    case 'capabilities':
      return <CapabilitiesView state={state} />
    case 'devices':
      return <DevicesView state={state} run={store.run} />
    case 'tasks':
      return <TasksView state={state} />
    case 'trust':
      return <TrustView state={state} />
    default:
      return <NetworkView state={state} />
  }
}

export function App({ store }: { store: Store }) {
  const state = useKith(store)
  const route = useRoute()
  const label = ROUTES.find((r) => r.id === route)?.label ?? 'Network'
  useEffect(() => {
    document.title = `${label} · kith`
  }, [label])

  return (
    <NamesContext.Provider value={state.names}>
      <header class="top">
        <h1>kith</h1>
        <NodeInfo state={state} />
        <LiveIndicator state={state} />
      </header>
      <nav class="tabs" aria-label="Views">
        <ul>
          {ROUTES.map((r) => (
            <li key={r.id}>
              <a href={`#/${r.id}`} {...(r.id === route ? { 'aria-current': 'page' } : {})}>
                {r.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <ClockBanner clock={state.status.data?.clock} />
        {state.needsToken ? (
          <Login signIn={store.signIn} />
        ) : (
          <View route={route} state={state} store={store} />
        )}
      </main>
    </NamesContext.Provider>
  )
}
