import { request } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { emptyRefusals } from '../../src/api/connection-guard.ts'
import { createHttpServer, HttpError, loopbackHost, type Route } from '../../src/api/http.ts'
import { waitFor } from '../helpers.ts'
import { openIdle, openIdleFrom, type IdleSocket } from '../idle-sockets.ts'

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r))
})

async function serve(routes: Route[], token?: string): Promise<string> {
  const errors: unknown[] = []
  server = createHttpServer({
    routes,
    token,
    maxBodyBytes: 1024,
    maxConnections: 8,
    onError: (e) => errors.push(e),
  })
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const routes: Route[] = [
  { method: 'GET', path: '/healthz', open: true, handle: () => ({ status: 'ok' }) },
  { method: 'GET', path: '/v1/things/:id', handle: (req) => ({ id: req.params.id, q: req.query.get('q') }) },
  { method: 'POST', path: '/v1/things', handle: (req) => ({ got: req.body }) },
  {
    method: 'GET',
    path: '/v1/fail',
    handle: () => {
      throw new HttpError(409, 'conflict', 'no')
    },
  },
  {
    method: 'GET',
    path: '/v1/crash',
    handle: () => {
      throw new Error('secret detail')
    },
  },
]

describe('createHttpServer', () => {
  it('routes with path parameters and query strings', async () => {
    const base = await serve(routes)
    const res = await fetch(`${base}/v1/things/a%20b?q=lamp`)
    expect(await res.json()).toEqual({ id: 'a b', q: 'lamp' })
  })

  it('answers unknown paths and wrong methods with JSON errors', async () => {
    const base = await serve(routes)
    const missing = await fetch(`${base}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'no such endpoint: /nope' } })
    const wrong = await fetch(`${base}/healthz`, { method: 'POST' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET')
  })

  it('requires the bearer token everywhere except open routes', async () => {
    const base = await serve(routes, 'a-very-long-shared-secret')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const denied = await fetch(`${base}/v1/things/1`)
    expect(denied.status).toBe(401)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    const wrong = await fetch(`${base}/v1/things/1`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    const ok = await fetch(`${base}/v1/things/1`, {
      headers: { authorization: 'Bearer a-very-long-shared-secret' },
    })
    expect(ok.status).toBe(200)
  })

  it('parses JSON bodies and rejects bad, unlabelled or oversize ones', async () => {
    const base = await serve(routes)
    const post = (body: string, type = 'application/json') =>
      fetch(`${base}/v1/things`, { method: 'POST', headers: { 'content-type': type }, body })
    expect(await (await post('{"a":1}')).json()).toEqual({ got: { a: 1 } })
    expect((await post('{bad')).status).toBe(400)
    expect((await post('{"a":1}', 'text/plain')).status).toBe(415)
    expect((await post(JSON.stringify({ a: 'x'.repeat(2000) }))).status).toBe(413)
  })

  it('keeps the status of a thrown HttpError and hides the detail of unexpected errors', async () => {
    const base = await serve(routes)
    const fail = await fetch(`${base}/v1/fail`)
    expect(fail.status).toBe(409)
    const crash = await fetch(`${base}/v1/crash`)
    expect(crash.status).toBe(500)
    expect(await crash.json()).toEqual({ error: { code: 'internal', message: 'internal error' } })
  })

  it('without a token answers only to loopback host names, against DNS rebinding', async () => {
    const base = await serve(routes)
    const port = Number(new URL(base).port)
    const statusFor = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/healthz', headers: { host } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
          .on('error', reject)
          .end()
      })
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '127.1.2.3'])
      expect(await statusFor(host), host).toBe(200)
    for (const host of [`evil.example:${port}`, 'kith.local', '10.0.0.2', '127.0.0.1.evil.example'])
      expect(await statusFor(host), host).toBe(403)
    expect(loopbackHost(undefined)).toBe(true)
  })
})

describe('createHttpServer connection limits (issue 23)', () => {
  const idle: IdleSocket[] = []
  afterEach(() => {
    for (const s of idle.splice(0)) s.socket.destroy()
  })

  async function limited(firstByteTimeoutMs: number) {
    const refusals = emptyRefusals()
    server = createHttpServer({
      routes,
      maxBodyBytes: 1024,
      maxConnections: 8,
      maxConnectionsPerAddress: 2,
      firstByteTimeoutMs,
      refusals,
    })
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    return { port, base: `http://127.0.0.1:${port}`, refusals }
  }

  it('closes a socket that sends no byte within the first-byte bound, with a 408', async () => {
    const { port, refusals } = await limited(300)
    const socket = await openIdle(port)
    idle.push(socket)
    await socket.closed
    expect(socket.received()).toMatch(/^HTTP\/1\.1 408 .*"code":"request_timeout"/s)
    expect(refusals.firstByteTimeout).toBe(1)
  })

  it('keeps a quarter of the cap for this machine when other hosts fill the rest', async () => {
    const { port, base, refusals } = await limited(60_000)
    // 8 sockets from 4 other hosts: the first 6 (8 less the reserve of 2) are held, the rest refused
    idle.push(...(await openIdleFrom(port, 4, 2)))
    await waitFor('the refused sockets to close', () => idle.filter((s) => s.isClosed()).length === 2)
    expect(idle.filter((s) => s.isClosed()).every((s) => s.received().includes(' 503 '))).toBe(true)
    expect(refusals.reserved).toBe(2)
    const res = await fetch(`${base}/healthz`)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('counts the sockets Node closes at the whole cap', async () => {
    const { port, refusals } = await limited(60_000)
    for (let i = 0; i < 10; i++) idle.push(await openIdle(port))
    await waitFor('the sockets over the cap to close', () => idle.filter((s) => s.isClosed()).length === 2)
    await waitFor('the closed sockets to be counted', () => refusals.full === 2)
  })

  it('caps the sockets of one address, and counts the refused ones', async () => {
    const { port, base, refusals } = await limited(60_000)
    idle.push(...(await openIdleFrom(port, 1, 5)))
    await waitFor('the refused sockets to close', () => idle.filter((s) => s.isClosed()).length === 3)
    expect(idle[2]?.received()).toMatch(/^HTTP\/1\.1 503 .*"code":"too_many_connections"/s)
    expect(refusals).toEqual({ full: 0, reserved: 0, perAddress: 3, firstByteTimeout: 0 })
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
  })
})
