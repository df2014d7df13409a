/**
 * The plumbing of the local HTTP API on node:http: a route table, bearer-token checks, bounded bodies, and
 * errors as `{"error":{"code","message"}}` (every one through `toApiError`: a kith error keeps its status and
 * code, anything else is a 500 `internal`). Routes are plain functions; this file knows nothing of the planes.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ZodType } from 'zod'
import {
  DEFAULT_FIRST_BYTE_MS,
  DEFAULT_MAX_PER_ADDRESS,
  emptyRefusals,
  guardConnections,
  type ConnectionRefusals,
} from './connection-guard.ts'
import { KithError, toApiError } from '../util/errors.ts'

/** A refusal of the API: its status and code are chosen where it is thrown (`404 not_found`). */
export class HttpError extends KithError {
  static override readonly code = 'bad_request'
  static override readonly status = 400
  static override readonly codeVaries = true

  constructor(status: number, code: string, message: string) {
    super(message, { status, code })
    this.name = 'HttpError'
  }
}

export interface Request {
  method: string
  path: string
  query: URLSearchParams
  params: Record<string, string>
  /** the parsed JSON body; undefined for bodiless requests */
  body: unknown
  /** the exchange itself, for a route that writes its own response (a stream) and returns {@link RESPONDED} */
  raw: { req: IncomingMessage; res: ServerResponse }
}

/** What a route returns when it has answered through `req.raw.res` itself. */
export const RESPONDED = Symbol('kith.api.responded')

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  /** a path with `:name` segments, e.g. `/v1/tasks/:id` */
  path: string
  /** open routes answer without a token (`/healthz`, the agent card) */
  open?: boolean
  /** what `GET /openapi.json` says of the route: the route table is the document's only source */
  doc?: RouteDoc
  handle(req: Request): unknown | Promise<unknown>
}

/** A route's entry in the OpenAPI document (openapi.ts). */
export interface RouteDoc {
  summary: string
  description?: string
  /** the schema the route validates its JSON body with */
  body?: ZodType
  query?: QueryParamDoc[]
  /** the answer, where more than "a JSON object" is worth saying */
  response?: { description?: string; contentType?: string; schema?: Record<string, unknown> }
}

export interface QueryParamDoc {
  name: string
  description: string
  /** a JSON Schema; a string when absent */
  schema?: Record<string, unknown>
  required?: boolean
}

export interface HttpServerInit {
  routes: Route[]
  token?: string
  maxBodyBytes: number
  maxConnections: number
  /** sockets at once from one host other than this machine; default 16 */
  maxConnectionsPerAddress?: number
  /** ms a new socket may stay silent before it is closed; default 5,000 */
  firstByteTimeoutMs?: number
  /** counters the server adds its refused connections to, by reason (for the metrics) */
  refusals?: ConnectionRefusals
  onError?(err: unknown, req: { method: string; path: string }): void
}

interface CompiledRoute extends Route {
  pattern: RegExp
  names: string[]
}

function compile(route: Route): CompiledRoute {
  const names: string[] = []
  const source = route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  return { ...route, pattern: new RegExp(`^${source}$`), names }
}

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * Creates (does not start) the API server.
 *
 * @example
 * const server = createHttpServer({ routes: [{ method: 'GET', path: '/healthz', open: true, handle: () => ({ status: 'ok' }) }], maxBodyBytes: 1 << 20, maxConnections: 64 })
 * server.listen(7700, '127.0.0.1')
 */
export function createHttpServer(init: HttpServerInit): Server {
  const routes = init.routes.map(compile)
  const tokenDigest = init.token != null ? digest(init.token) : undefined

  const authorized = (req: IncomingMessage): boolean => {
    if (tokenDigest == null) return true
    const header = req.headers.authorization ?? ''
    const match = /^Bearer (.+)$/.exec(header)
    return match != null && timingSafeEqual(digest(match[1] as string), tokenDigest)
  }

  const server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      // Node sweeps the two timeouts above at this interval (30 s by default, which let idle sockets sit)
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'http://kith')
      const method = req.method ?? 'GET'
      handle(req, res, url, method).catch((err: unknown) => {
        const answer = toApiError(err)
        // a refusal is the client's business; anything else that reached the API (a plane's error) is logged
        if (!(err instanceof HttpError)) init.onError?.(err, { method, path: url.pathname })
        sendJson(res, answer.status, answer.body)
      })
    },
  )
  guardConnections(
    server,
    {
      maxConnections: init.maxConnections,
      maxPerAddress: init.maxConnectionsPerAddress ?? DEFAULT_MAX_PER_ADDRESS,
      firstByteMs: init.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_MS,
    },
    init.refusals ?? emptyRefusals(),
  )
  server.keepAliveTimeout = 5_000

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    if (tokenDigest == null && !loopbackHost(req.headers.host))
      throw new HttpError(
        403,
        'forbidden_host',
        'without api.token this API answers only to a loopback host name',
      )
    const candidates = routes.filter((r) => r.pattern.test(url.pathname))
    if (candidates.length === 0) throw new HttpError(404, 'not_found', `no such endpoint: ${url.pathname}`)
    const route = candidates.find((r) => r.method === method)
    if (route == null) {
      res.setHeader('allow', candidates.map((r) => r.method).join(', '))
      throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`)
    }
    if (route.open !== true && !authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer')
      throw new HttpError(401, 'unauthorized', 'a valid bearer token is required')
    }
    const values = route.pattern.exec(url.pathname)?.slice(1) ?? []
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(values[i] ?? '')]))
    const body = method === 'GET' ? undefined : await readJson(req, init.maxBodyBytes)
    const raw = { req, res }
    const result = await route.handle({
      method,
      path: url.pathname,
      query: url.searchParams,
      params,
      body,
      raw,
    })
    if (result !== RESPONDED) sendJson(res, 200, result)
  }

  return server
}

/**
 * True for a Host header that names this machine's loopback (`localhost`, `127.x.x.x`, `[::1]`, any port) or
 * is absent (HTTP/1.0). A tokenless API listens on loopback only, so any other name reached it through DNS
 * rebinding: a web page the user visits, with the API's origin in disguise, must not read or run anything.
 */
export function loopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === '') return true
  const name = (
    host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '')
  ).toLowerCase()
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(name)
  )
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, 'too_large', `the body is larger than ${limit} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > limit) throw new HttpError(413, 'too_large', `the body is larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  const type = req.headers['content-type'] ?? ''
  if (!type.startsWith('application/json'))
    throw new HttpError(415, 'unsupported_media_type', 'send application/json')
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid JSON')
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(value ?? null)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body)
}
