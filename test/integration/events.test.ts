import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createEvents, type EventsHub } from '../../src/api/events.ts'
import { createHttpServer } from '../../src/api/http.ts'
import { eventSources } from '../../src/node/api-views.ts'
import type { NodeEvents } from '../../src/node/events.ts'
import { EventBus } from '../../src/util/event-bus.ts'

let server: Server | undefined
let hub: EventsHub | undefined
afterEach(async () => {
  hub?.close()
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r))
})

async function serve(h: EventsHub, token?: string): Promise<string> {
  hub = h
  server = createHttpServer({ routes: [h.route], token, maxBodyBytes: 1024, maxConnections: 32 })
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

type Event = { event: string; data: unknown }

/** An SSE reader over a fetch body: `next(n)` resolves with the next `n` events (fewer when the stream ends). */
function sse(res: Response): { next(count: number): Promise<Event[]>; cancel(): Promise<void> } {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const queued: Event[] = []
  let buffer = ''
  let done = false
  return {
    async next(count) {
      while (queued.length < count && !done) {
        const chunk = await reader.read()
        if (chunk.done) {
          done = true
          break
        }
        buffer += decoder.decode(chunk.value, { stream: true })
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, end).split('\n')
          buffer = buffer.slice(end + 2)
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7)
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6)
          if (event !== undefined)
            queued.push({ event, data: data === undefined ? undefined : JSON.parse(data) })
        }
      }
      return queued.splice(0, count)
    },
    cancel: () => reader.cancel(),
  }
}

describe('GET /v1/events', () => {
  it('says hello, then names each resource that changed, coalesced', async () => {
    let push: (() => void) | undefined
    let pushTask: (() => void) | undefined
    let unsubscribed = 0
    const base = await serve(
      createEvents({
        peerId: 'self',
        coalesceMs: 30,
        sources: [
          {
            name: 'descriptors',
            subscribe: (changed) => {
              push = changed
              return () => unsubscribed++
            },
          },
          {
            name: 'tasks',
            subscribe: (changed) => {
              pushTask = changed
              return () => unsubscribed++
            },
          },
        ],
      }),
    )
    const res = await fetch(`${base}/v1/events`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const stream = sse(res)
    expect((await stream.next(1))[0]).toMatchObject({
      event: 'hello',
      data: { peerId: 'self', events: ['descriptors', 'tasks'] },
    })
    // three pushes inside the coalescing window are one event; another resource's push is another
    push?.()
    push?.()
    push?.()
    pushTask?.()
    const next = await stream.next(2)
    expect(next.map((e) => e.event).sort()).toEqual(['descriptors', 'tasks'])
    expect(next[0]?.data).toMatchObject({ at: expect.any(Number) })
    await stream.cancel()
    // the last client gone: the sources are let go
    await expect.poll(() => unsubscribed).toBe(2)
    expect(hub!.clients).toBe(0)
  })

  it('needs the token like every data endpoint, and refuses clients beyond its limit with 503', async () => {
    const base = await serve(
      createEvents({ peerId: 'p', maxClients: 1, sources: [] }),
      'a-token-of-16-chars-or-more',
    )
    expect((await fetch(`${base}/v1/events`)).status).toBe(401)
    const auth = { headers: { authorization: 'Bearer a-token-of-16-chars-or-more' } }
    const first = await fetch(`${base}/v1/events`, auth)
    expect(first.status).toBe(200)
    const second = await fetch(`${base}/v1/events`, auth)
    expect(second.status).toBe(503)
    expect(await second.json()).toMatchObject({ error: { code: 'too_many_streams' } })
    expect(hub!.counters.refused).toBe(1)
    await first.body?.cancel()
  })

  it('ends every stream on close', async () => {
    const base = await serve(createEvents({ peerId: 'p', sources: [] }))
    const res = await fetch(`${base}/v1/events`)
    const stream = sse(res)
    await stream.next(1)
    hub!.close()
    expect(await stream.next(1)).toEqual([])
    expect(hub!.clients).toBe(0)
  })

  it('hears the node bus: each plane event names the resource it moves, with nothing polled', async () => {
    const bus = new EventBus<NodeEvents>()
    const base = await serve(createEvents({ peerId: 'p', coalesceMs: 10, sources: eventSources(bus) }))
    const stream = sse(await fetch(`${base}/v1/events`))
    expect((await stream.next(1))[0]?.data).toMatchObject({
      events: ['descriptors', 'peers', 'devices', 'tasks', 'trust', 'status'],
    })
    const heard = async (emit: () => void): Promise<string[]> => {
      emit()
      return (await stream.next(1)).map((e) => e.event)
    }
    expect(await heard(() => bus.emit('mqtt', { type: 'message' }))).toEqual(['devices'])
    expect(await heard(() => bus.emit('device-command', { outcome: 'sent' }))).toEqual(['devices'])
    expect(await heard(() => bus.emit('trust', { reason: 'recomputed' }))).toEqual(['trust'])
    expect(await heard(() => bus.emit('task', {}))).toEqual(['tasks'])
    expect(await heard(() => bus.emit('status', { reason: 'reload' }))).toEqual(['status'])
    const clock = { offsetMs: 0, peers: 0, suspect: true, outliers: [] }
    expect(await heard(() => bus.emit('clock', clock))).toEqual(['status'])
    bus.emit('connection', { type: 'open', peer: 'q' })
    expect((await stream.next(2)).map((e) => e.event).sort()).toEqual(['peers', 'status'])
    await stream.cancel()
    // the last client gone: the stream lets go of the bus
    await expect.poll(() => bus.listenerCount()).toBe(0)
  })
})
