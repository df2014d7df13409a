/** Hash routing (`#/network`, `#/tasks` …): five fixed views need no router library. */
import { useEffect, useState } from 'preact/hooks'

export const ROUTES = [
  { id: 'network', label: 'Network' },
  { id: 'capabilities', label: 'Capabilities' },
  { id: 'devices', label: 'Devices' },
  { id: 'tasks', label: 'Tasks' },
  { id: 'trust', label: 'Trust' },
] as const

export type RouteId = (typeof ROUTES)[number]['id']

function current(): RouteId {
  const id = location.hash.replace(/^#\/?/, '')
  return ROUTES.find((r) => r.id === id)?.id ?? 'network'
}

export function useRoute(): RouteId {
  const [route, setRoute] = useState<RouteId>(current)
  useEffect(() => {
    const onChange = () => setRoute(current())
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}
