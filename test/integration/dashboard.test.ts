import { mkdir, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DASHBOARD_CSP, dashboardRoutes, loadDashboard } from '../../src/api/dashboard.ts'
import { createHttpServer } from '../../src/api/http.ts'
import { tempDir } from '../helpers.ts'

let server: Server | undefined
let dir: string
let cleanup: () => Promise<void>
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))})`

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-dashboard-'))
  await mkdir(join(dir, 'assets'))
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>',
  )
  await writeFile(join(dir, 'assets/app-1a2b.js'), SCRIPT)
})
afterAll(() => cleanup?.())
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r))
})

async function serve(at: string | undefined): Promise<string> {
  const assets = loadDashboard(at ?? join(dir, 'missing'))
  server = createHttpServer({
    routes: dashboardRoutes(assets),
    token: 'a-token-of-16-chars-or-more',
    maxBodyBytes: 1024,
    maxConnections: 8,
  })
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('the dashboard routes', () => {
  it('serve the page without a token, with its CSP, and revalidate it by ETag', async () => {
    const base = await serve(dir)
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(await res.text()).toContain('/assets/app-1a2b.js')
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': res.headers.get('etag')! } })
    expect(again.status).toBe(304)
  })

  it('serve hashed assets as immutable, gzip-compressed when the browser accepts it', async () => {
    const base = await serve(dir)
    const res = await fetch(`${base}/assets/app-1a2b.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(res.headers.get('cache-control')).toContain('immutable')
    // fetch asks for gzip and undoes it
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(Number(res.headers.get('content-length'))).toBeLessThan(SCRIPT.length)
    expect(await res.text()).toBe(SCRIPT)
  })

  it('answer an unknown asset with 404 and a missing build with a page that says how to build it', async () => {
    const base = await serve(dir)
    const missing = await fetch(`${base}/assets/..%2Findex.html`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } })
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    const unbuilt = await serve(undefined)
    const res = await fetch(`${unbuilt}/`)
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('npm run build:dashboard')
  })
})
