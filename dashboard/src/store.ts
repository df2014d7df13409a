/**
 * Everything the dashboard knows of the node, refreshed only when the node says a resource changed (the
 * live stream) or when a descriptor is due to expire. Plain TypeScript: the Preact hook in use-kith.ts
 * only subscribes to it.
 */
import { ApiError, RESOURCE_NAMES, RESOURCES, getToken, isResourceName, request, setToken } from './api.ts'
import type { ResourceName } from './api.ts'
import { startLive } from './live.ts'
import type { LiveState } from './live.ts'
import type {
  Connection,
  Descriptor,
  Descriptors,
  Devices,
  Health,
  RunResult,
  Status,
  Tasks,
  Trust,
} from './types.ts'

/** How long a peer whose descriptor vanished stays on screen, faded. */
export const GONE_MS = 10 * 60_000
// the node coalesces its events already (100 ms); this only joins the ones of one burst
const DEBOUNCE_MS = 50
/** a refetch at a descriptor's expiry waits this much longer, so the node has dropped it by then */
const EXPIRY_MARGIN_MS = 500

export interface Resource<T> {
  data?: T
  error?: ApiError
}

export interface Gone {
  descriptor: Descriptor
  /** performance.now() when its descriptor was last missing from the list */
  at: number
}

/** The node's clock at a local instant, so ages count against the node's time, not the browser's. */
export interface Clock {
  server: number
  local: number
}

export interface KithState {
  health?: Health
  status: Resource<Status>
  peers: Resource<{ peers: Connection[] }>
  descriptors: Resource<Descriptors>
  devices: Resource<Devices>
  tasks: Resource<Tasks>
  trust: Resource<Trust>
  live: LiveState
  needsToken: boolean
  gone: Map<string, Gone>
  clock: Clock
  /** the names peers gave themselves, as the node last reported them (descriptors and connections) */
  names: Map<string, string>
}

export interface Store {
  get(): KithState
  start(): void
  stop(): void
  /** refetch a resource soon; requests within {@link DEBOUNCE_MS} share one fetch */
  schedule(name: ResourceName): void
  /** stores the token and reloads; resolves to the node's message when the token is refused */
  signIn(token: string): Promise<string | undefined>
  /** calls `listener` with every new state; returns the unsubscribe */
  subscribe(listener: (state: KithState) => void): () => void
  /** runs a task (`POST /v1/tasks`); the task list and trust are refetched after it */
  run(body: { capability: string; provider: string; input: unknown }): Promise<RunResult>
}

export function serverNow(clock: Clock): number {
  return clock.server + (performance.now() - clock.local)
}

/** peers whose names are kept, the least recently reported leaving first */
const MAX_NAMES = 256

/** `names` with those of `rows` added; the same map when nothing changed, so nothing re-renders for it. */
export function learnNames(
  names: Map<string, string>,
  rows: ReadonlyArray<{ id: string; name?: string | undefined }>,
): Map<string, string> {
  if (rows.every((r) => r.name == null || names.get(r.id) === r.name)) return names
  const next = new Map(names)
  for (const { id, name } of rows) {
    if (name == null) continue
    next.delete(id)
    next.set(id, name)
  }
  while (next.size > MAX_NAMES) next.delete(next.keys().next().value as string)
  return next
}

function trackGone(previous: Descriptor[], next: Descriptor[], gone: Map<string, Gone>): Map<string, Gone> {
  const now = performance.now()
  const present = new Set(next.map((d) => d.peer))
  const kept = new Map([...gone].filter(([peer, g]) => !present.has(peer) && now - g.at < GONE_MS))
  for (const d of previous)
    if (!present.has(d.peer) && !kept.has(d.peer)) kept.set(d.peer, { descriptor: d, at: now })
  return kept
}

/**
 * Creates the store; nothing is fetched before `start()`.
 *
 * @example
 * const store = createStore()
 * store.subscribe((state) => render(state))
 * store.start()
 */
export function createStore(): Store {
  const listeners = new Set<(state: KithState) => void>()
  let state: KithState = {
    status: {},
    peers: {},
    descriptors: {},
    devices: {},
    tasks: {},
    trust: {},
    live: 'reconnecting',
    needsToken: false,
    gone: new Map(),
    clock: { server: Date.now(), local: performance.now() },
    names: new Map(),
  }
  const generation = Object.fromEntries(RESOURCE_NAMES.map((n) => [n, 0])) as Record<ResourceName, number>
  const pending = new Set<ResourceName>()
  let debounce: ReturnType<typeof setTimeout> | undefined
  let expiry: ReturnType<typeof setTimeout> | undefined
  let stopLive: (() => void) | undefined
  let fetchedAllAt = -Infinity

  const update = (patch: Partial<KithState>) => {
    state = { ...state, ...patch }
    for (const listener of listeners) listener(state)
  }

  function unauthorized(): void {
    stopLive?.()
    stopLive = undefined
    if (!state.needsToken) update({ needsToken: true })
  }

  function applyDescriptors(data: Descriptors): void {
    const local = performance.now()
    const clock = { server: data.now ?? Date.now(), local }
    const previous = state.descriptors.data?.descriptors ?? []
    update({
      descriptors: { data },
      clock,
      gone: trackGone(previous, data.descriptors, state.gone),
      names: learnNames(
        state.names,
        data.descriptors.map((d) => ({ id: d.peer, name: d.name })),
      ),
    })
    clearTimeout(expiry)
    // the node need not announce an expiry, so the dashboard asks again when the soonest one is due
    const soonest = Math.min(...data.descriptors.map((d) => d.expiresAt))
    if (Number.isFinite(soonest))
      expiry = setTimeout(
        () => schedule('descriptors'),
        Math.max(soonest - clock.server + EXPIRY_MARGIN_MS, 1000),
      )
  }

  async function fetchResource(name: ResourceName): Promise<void> {
    const mine = ++generation[name]
    const token = getToken()
    try {
      const data = await request<never>(RESOURCES[name])
      if (mine !== generation[name]) return
      if (name === 'descriptors') applyDescriptors(data)
      else if (name === 'peers') {
        const { peers } = data as { peers: Connection[] }
        update({
          peers: { data },
          names: learnNames(
            state.names,
            peers.map((c) => ({ id: c.peerId, name: c.name })),
          ),
        })
      } else update({ [name]: { data } })
    } catch (err) {
      if (mine !== generation[name]) return
      const error = err instanceof ApiError ? err : new ApiError(0, 'client', String(err))
      // a refusal of the token the user has since replaced says nothing of the new one
      if (error.status === 401 && token === getToken()) unauthorized()
      update({ [name]: { ...state[name], error } })
    }
  }

  function fetchHealth(): void {
    request<Health>('/healthz').then(
      (health) => update({ health }),
      () => undefined,
    )
  }

  function fetchAll(): void {
    fetchedAllAt = performance.now()
    fetchHealth()
    for (const name of RESOURCE_NAMES) void fetchResource(name)
  }

  function schedule(name: ResourceName): void {
    pending.add(name)
    if (debounce != null) return
    debounce = setTimeout(() => {
      debounce = undefined
      const names = [...pending]
      pending.clear()
      for (const n of names) void fetchResource(n)
    }, DEBOUNCE_MS)
  }

  function connect(): void {
    stopLive?.()
    stopLive = startLive({
      // start() has just fetched everything when the first stream opens at once
      onOpen: () => {
        if (performance.now() - fetchedAllAt > 1000) fetchAll()
      },
      onEvent: (name) => {
        if (isResourceName(name)) schedule(name)
      },
      onState: (live) => update({ live }),
      onUnauthorized: unauthorized,
    })
  }

  return {
    get: () => state,
    start() {
      fetchAll()
      connect()
    },
    stop() {
      stopLive?.()
      stopLive = undefined
      clearTimeout(debounce)
      clearTimeout(expiry)
      debounce = undefined
    },
    schedule,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async run(body) {
      try {
        return await request<RunResult>('/v1/tasks', { method: 'POST', body })
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) unauthorized()
        throw err
      } finally {
        // the live stream says so too; this covers a node whose stream is down
        schedule('tasks')
        schedule('trust')
      }
    },
    async signIn(token) {
      setToken(token)
      try {
        await request<Status>(RESOURCES.status)
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return err.message
      }
      update({ needsToken: false })
      fetchAll()
      connect()
      return undefined
    },
  }
}
