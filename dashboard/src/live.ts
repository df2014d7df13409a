/**
 * The live link to the node: `GET /v1/events` read with fetch() (so the bearer token goes along), each named
 * event handed on, and on any end or error a reconnect after 1 s, 2 s, 4 s … at most 30 s.
 */
import { authHeaders } from './api.ts'
import { SseParser } from './sse.ts'

export type LiveState = 'connected' | 'reconnecting'

export interface LiveInit {
  /** the stream is open: everything may have changed while it was down */
  onOpen(): void
  onEvent(name: string, data: string): void
  onState(state: LiveState): void
  /** the node refused the token; the link stays down until started again */
  onUnauthorized(): void
}

const FIRST_DELAY_MS = 1000
const MAX_DELAY_MS = 30_000
/** The node sends `: ping` every 15 s; this much silence means the connection died without closing. */
const SILENCE_MS = 45_000

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * Opens the event stream and keeps it open; returns the function that closes it for good.
 *
 * @example
 * const stop = startLive({ onOpen: refetchAll, onEvent: (name) => refetch(name), onState: show, onUnauthorized: askToken })
 */
export function startLive(init: LiveInit): () => void {
  const controller = new AbortController()
  const { signal } = controller

  async function readStream(body: ReadableStream<Uint8Array>, heard: () => void): Promise<void> {
    const reader = body.getReader()
    const decoder = new TextDecoder()
    const parser = new SseParser()
    const cancel = () => void reader.cancel().catch(() => undefined)
    let watchdog = setTimeout(cancel, SILENCE_MS)
    signal.addEventListener('abort', cancel, { once: true })
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        clearTimeout(watchdog)
        watchdog = setTimeout(cancel, SILENCE_MS)
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          heard()
          init.onEvent(event.event, event.data)
        }
      }
    } finally {
      clearTimeout(watchdog)
      signal.removeEventListener('abort', cancel)
    }
  }

  async function run(): Promise<void> {
    let delay = FIRST_DELAY_MS
    while (!signal.aborted) {
      try {
        const res = await fetch('/v1/events', {
          headers: { accept: 'text/event-stream', ...authHeaders() },
          cache: 'no-store',
          signal,
        })
        if (res.status === 401) {
          init.onUnauthorized()
          return
        }
        if (res.ok && res.body != null) {
          init.onState('connected')
          init.onOpen()
          // the delay starts over only once the node has said something, so a node that accepts and
          // drops the stream at once is still retried with growing pauses
          await readStream(res.body, () => (delay = FIRST_DELAY_MS))
        }
      } catch {
        // a dropped or refused stream: the same as its end, retried below
      }
      if (signal.aborted) return
      init.onState('reconnecting')
      await sleep(delay, signal)
      delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  }

  void run()
  return () => controller.abort()
}
