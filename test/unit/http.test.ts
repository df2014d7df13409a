import { request } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpServer, HttpError, loopbackHost, type Route } from '../../src/api/http.ts'

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
