/**
 * The household dashboard's static files at `/` and `/assets/*`: the page Vite builds from dashboard/
 * (`npm run build:dashboard`, into dist/dashboard/), or, in the single binary, the copy the bundler put inside
 * it (`__KITH_DASHBOARD__`). The page holds no data: it reads everything through the API with the user's token,
 * so its files are served without one, and a browser on a tokened node can show the sign-in prompt.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError, RESPONDED, type Route } from './http.ts'

declare const __KITH_DASHBOARD__: string | undefined

/** The page may load only its own files and talk only to its own node. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json'])
/** Files larger than this are not served (the built page is tens of KiB). */
const MAX_FILE_BYTES = 4 * 1024 * 1024

interface Asset {
  type: string
  body: Buffer
  gzip?: Buffer
  etag: string
  /** hashed names under assets/ never change; index.html must be revalidated */
  immutable: boolean
}

export interface DashboardAssets {
  /** relative path (`index.html`, `assets/index-3f2a.js`) → file */
  files: ReadonlyMap<string, Asset>
  /** where they came from, for the log: a directory, `embedded`, or undefined when there are none */
  source: string | undefined
  /** the gzip'd bytes of every file, as a browser loading the page fetches them */
  gzipBytes: number
}

function asset(path: string, body: Buffer): Asset {
  const ext = extname(path)
  const gzip = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : undefined
  return {
    type: TYPES[ext] ?? 'application/octet-stream',
    body,
    ...(gzip !== undefined && gzip.byteLength < body.byteLength ? { gzip } : {}),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    immutable: path.startsWith('assets/'),
  }
}

function walk(root: string, dir = root): Array<[string, Buffer]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry): Array<[string, Buffer]> => {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) return walk(root, full)
    if (!entry.isFile() || statSync(full).size > MAX_FILE_BYTES) return []
    return [[relative(root, full).split('\\').join('/'), readFileSync(full)]]
  })
}

/** The checkout's build output, next to src/: dist/dashboard/. */
function checkoutDir(): string | undefined {
  const url = import.meta.url as string | undefined
  if (typeof url !== 'string' || !url.startsWith('file:')) return undefined
  return fileURLToPath(new URL('../../dist/dashboard/', url))
}

/**
 * Loads the dashboard's files: the embedded copy in a bundle, else `dir` (default: the checkout's
 * dist/dashboard/). No files is not an error: `/` then says how to build them.
 *
 * @example
 * const assets = loadDashboard()
 * assets.files.has('index.html')
 */
export function loadDashboard(dir?: string): DashboardAssets {
  let entries: Array<[string, Buffer]> = []
  let source: string | undefined
  if (dir === undefined && typeof __KITH_DASHBOARD__ === 'string') {
    const files = JSON.parse(__KITH_DASHBOARD__) as Record<string, string>
    entries = Object.entries(files).map(([path, b64]) => [path, Buffer.from(b64, 'base64')])
    source = 'embedded'
  } else {
    const at = dir ?? checkoutDir()
    if (at !== undefined && existsSync(join(at, 'index.html'))) {
      entries = walk(at)
      source = at
    }
  }
  const files = new Map(entries.map(([path, body]) => [path, asset(path, body)]))
  let gzipBytes = 0
  for (const f of files.values()) gzipBytes += (f.gzip ?? f.body).byteLength
  return { files, source: files.size > 0 ? source : undefined, gzipBytes }
}

function send(req: IncomingMessage, res: ServerResponse, file: Asset): void {
  const headers: Record<string, string | number> = {
    'content-type': file.type,
    etag: file.etag,
    'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    vary: 'accept-encoding',
  }
  if (file.type.startsWith('text/html')) {
    headers['content-security-policy'] = DASHBOARD_CSP
    headers['x-frame-options'] = 'DENY'
  }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  const body = gzip ? (file.gzip as Buffer) : file.body
  if (gzip) headers['content-encoding'] = 'gzip'
  headers['content-length'] = body.byteLength
  res.writeHead(200, headers)
  res.end(body)
}

const NOT_BUILT = Buffer.from(
  '<!doctype html><html lang="en"><meta charset="utf-8"><title>kith</title>' +
    '<p>The dashboard is not built. In the checkout, run <code>npm run build:dashboard</code> and reload.</p>' +
    '<p>The API is at <a href="/openapi.json">/openapi.json</a>.</p></html>',
)

/** The routes that serve the page: `GET /` and `GET /assets/:file`, open (no token: the page holds no data). */
export function dashboardRoutes(assets: DashboardAssets): Route[] {
  return [
    {
      method: 'GET',
      path: '/',
      open: true,
      doc: {
        summary: 'The household dashboard (a web page; it asks for the API token where one is required)',
        response: { contentType: 'text/html' },
      },
      handle: ({ raw: { req, res } }) => {
        const index = assets.files.get('index.html')
        if (index === undefined) {
          res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          res.end(NOT_BUILT)
          return RESPONDED
        }
        send(req, res, index)
        return RESPONDED
      },
    },
    {
      method: 'GET',
      path: '/assets/:file',
      open: true,
      doc: { summary: "The dashboard's scripts and styles", response: { contentType: 'text/javascript' } },
      handle: ({ params, raw: { req, res } }) => {
        const file = assets.files.get(`assets/${params.file}`)
        if (file === undefined) throw new HttpError(404, 'not_found', `no such file: /assets/${params.file}`)
        send(req, res, file)
        return RESPONDED
      },
    },
  ]
}
