/**
 * `GET /v1/events`: server-sent events that tell a client (the dashboard) which resource changed, so that it
 * fetches it again instead of polling. An event names the resource (`descriptors`, `peers`, `tasks`…) and
 * carries only the server's time: the data itself stays behind the ordinary endpoints and their token.
 *
 * Every source pushes: it subscribes to what its planes publish on the node's event bus while anyone listens,
 * and nothing is polled. Changes are coalesced per resource; a client that stops reading is dropped rather
 * than buffered without bound.
 */
import type { ServerResponse } from 'node:http'
import { HttpError, RESPONDED, type Route } from './http.ts'

export interface EventSourceDef {
  /** the event's name: the resource that changed */
  name: string
  /** calls `changed` on every change; returns the unsubscribe */
  subscribe(changed: () => void): () => void
}

export interface EventsInit {
  sources: EventSourceDef[]
  /** sent in the first (`hello`) event */
  peerId: string
  /** most clients at once; default 16 */
  maxClients?: number
  /** a `: ping` comment keeps proxies and the client's watchdog content; default 15 s */
  heartbeatMs?: number
  /** changes of one resource within this window go out as one event; default 100 ms */
  coalesceMs?: number
  /** a client with more unsent bytes than this is dropped; default 64 KiB */
  maxBufferedBytes?: number
  now?: () => number
}

export const EVENTS_DEFAULTS = Object.freeze({
  maxClients: 16,
  heartbeatMs: 15_000,
  coalesceMs: 100,
  maxBufferedBytes: 64 * 1024,
})

export interface EventsHub {
  route: Route
  /** clients listening now */
  readonly clients: number
  counters: { sent: number; dropped: number; refused: number }
  /** ends every stream (the node stops) */
  close(): void
}

/**
 * @example
 * const hub = createEvents({ peerId, sources: [{ name: 'descriptors', subscribe: (f) => store.onChange(f) }] })
 * routes.push(hub.route)
 */
export function createEvents(init: EventsInit): EventsHub {
  const o = { ...EVENTS_DEFAULTS, ...init }
  const now = init.now ?? Date.now
  const clients = new Set<ServerResponse>()
  const pending = new Set<string>()
  const counters = { sent: 0, dropped: 0, refused: 0 }
  let unsubscribe: Array<() => void> = []
  let heartbeat: NodeJS.Timeout | undefined
  let flushTimer: NodeJS.Timeout | undefined

  const write = (res: ServerResponse, text: string): void => {
    if (res.writableLength > o.maxBufferedBytes) {
      counters.dropped++
      drop(res)
      return
    }
    res.write(text)
  }
  const broadcast = (text: string): void => {
    for (const res of [...clients]) write(res, text)
  }
  const flush = (): void => {
    flushTimer = undefined
    const at = now()
    for (const name of pending) {
      broadcast(`event: ${name}\ndata: {"at":${at}}\n\n`)
      counters.sent++
    }
    pending.clear()
  }
  const changed = (name: string): void => {
    if (clients.size === 0) return
    pending.add(name)
    flushTimer ??= setTimeout(flush, o.coalesceMs)
  }
  const begin = (): void => {
    for (const s of init.sources) unsubscribe.push(s.subscribe(() => changed(s.name)))
    heartbeat = setInterval(() => broadcast(': ping\n\n'), o.heartbeatMs)
    heartbeat.unref()
  }
  const end = (): void => {
    for (const off of unsubscribe) off()
    unsubscribe = []
    clearInterval(heartbeat)
    clearTimeout(flushTimer)
    flushTimer = undefined
    pending.clear()
  }
  /** Lets a client go: its stream ends cleanly (`graceful`), or is cut off (it stopped reading). */
  const drop = (res: ServerResponse, graceful = false): void => {
    if (!clients.delete(res)) return
    if (graceful) res.end()
    else res.destroy()
    if (clients.size === 0) end()
  }

  const route: Route = {
    method: 'GET',
    path: '/v1/events',
    doc: {
      summary: 'Server-sent events naming the resource that changed (descriptors, peers, devices, tasks…)',
      description:
        'The first event is `hello` with `{peerId, at}`; then one event per changed resource, named after it, ' +
        'with `{at}` (server time, ms). Fetch the resource again on each. `: ping` comments every 15 s. ' +
        `At most ${o.maxClients} streams at once.`,
      response: { contentType: 'text/event-stream', description: 'an endless event stream' },
    },
    handle: ({ raw: { req, res } }) => {
      if (clients.size >= o.maxClients) {
        counters.refused++
        throw new HttpError(503, 'too_many_streams', `at most ${o.maxClients} event streams at once`)
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      res.socket?.setNoDelay(true)
      if (clients.size === 0) begin()
      clients.add(res)
      const names = init.sources.map((s) => s.name)
      res.write(
        `retry: 2000\nevent: hello\ndata: ${JSON.stringify({ peerId: init.peerId, at: now(), events: names })}\n\n`,
      )
      const gone = (): void => drop(res)
      req.once('close', gone)
      res.once('close', gone)
      res.once('error', gone)
      return RESPONDED
    },
  }

  return {
    route,
    get clients() {
      return clients.size
    },
    counters,
    close: () => {
      for (const res of [...clients]) drop(res, true)
    },
  }
}
