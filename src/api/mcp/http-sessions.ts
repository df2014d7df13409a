/**
 * MCP streamable HTTP sessions on node:http: one SDK transport and one server per session, at most
 * `maxSessions` at once, each closed after `idleMs` without a request or an open stream. A session exists so
 * that `notifications/tools/list_changed` can reach its client on the GET event stream.
 *
 * The SDK's web-standard transport does the protocol; this file adapts node:http to it (the request body
 * arrives already parsed and bounded by the API's server) and keeps the session table.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from '../../util/logger.ts'
import { MAX_SESSIONS, SESSION_IDLE_MS } from './constants.ts'
import type { ToolListWatcher } from './watcher.ts'

export interface McpHttpSessionsInit {
  createServer(): Server
  watcher: ToolListWatcher
  maxSessions?: number
  idleMs?: number
  log?: Pick<Logger, 'debug' | 'warn'>
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport
  server: Server
  /** requests and streams in progress */
  open: number
  lastSeen: number
  unsubscribe?: () => void
}

/**
 * @example
 * const sessions = new McpHttpSessions({ createServer: () => createMcpServer(init), watcher })
 * await sessions.handle(req, res, parsedBody) // for POST, GET and DELETE /mcp
 */
export class McpHttpSessions {
  readonly #init: McpHttpSessionsInit
  readonly #sessions = new Map<string, Session>()
  readonly #maxSessions: number
  readonly #idleMs: number
  #pending = 0
  #sweeper: ReturnType<typeof setInterval> | undefined

  constructor(init: McpHttpSessionsInit) {
    this.#init = init
    this.#maxSessions = init.maxSessions ?? MAX_SESSIONS
    this.#idleMs = init.idleMs ?? SESSION_IDLE_MS
  }

  get size(): number {
    return this.#sessions.size
  }

  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const header = req.headers['mcp-session-id']
    const id = Array.isArray(header) ? header[0] : header
    if (id != null) {
      const session = this.#sessions.get(id)
      if (session == null) return rpcError(res, 404, -32001, 'Session not found; initialize a new one')
      return this.#serve(session, req, res, body)
    }
    if (req.method !== 'POST' || !isInitializeRequest(body))
      return rpcError(res, 400, -32000, 'Bad Request: initialize first, then send its Mcp-Session-Id header')
    if (this.#sessions.size + this.#pending >= this.#maxSessions && !(await this.#evictOne()))
      return rpcError(res, 503, -32000, `Too many MCP sessions (${this.#maxSessions}); close one and retry`)
    this.#pending++
    let session: Session | undefined
    try {
      session = this.#open()
      await this.#serve(session, req, res, body)
    } finally {
      this.#pending--
      // an initialize that failed (say, an unsupported protocol version) leaves no session behind
      if (session != null && session.transport.sessionId === undefined) await session.server.close()
    }
  }

  /** Closes every session (the node is stopping). */
  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
    await Promise.all([...this.#sessions.values()].map((s) => s.server.close().catch(() => undefined)))
    this.#sessions.clear()
  }

  #open(): Session {
    const server = this.#init.createServer()
    const session: Session = {
      server,
      open: 0,
      lastSeen: Date.now(),
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          this.#sessions.set(id, session)
          session.unsubscribe = this.#init.watcher.subscribe(() => {
            server.sendToolListChanged().catch(() => undefined)
          })
          this.#init.log?.debug({ session: id, sessions: this.#sessions.size }, 'MCP session opened')
          this.#sweep()
        },
      }),
    }
    server.onclose = () => {
      const id = session.transport.sessionId
      session.unsubscribe?.()
      if (id != null && this.#sessions.get(id) === session) this.#sessions.delete(id)
    }
    server
      .connect(session.transport)
      .catch((err: unknown) => this.#init.log?.warn({ err }, 'MCP session failed'))
    return session
  }

  async #serve(session: Session, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.open++
    session.lastSeen = Date.now()
    const abort = new AbortController()
    res.once('close', () => {
      abort.abort()
      session.open--
      session.lastSeen = Date.now()
    })
    const response = await session.transport.handleRequest(webRequest(req, abort.signal), {
      parsedBody: body,
    })
    await pipeResponse(response, res)
  }

  /** Makes room by closing the longest-idle session without an open stream; false when every one is busy. */
  async #evictOne(): Promise<boolean> {
    let oldest: Session | undefined
    for (const s of this.#sessions.values())
      if (s.open === 0 && (oldest == null || s.lastSeen < oldest.lastSeen)) oldest = s
    if (oldest == null) return false
    this.#init.log?.warn({ session: oldest.transport.sessionId }, 'MCP session closed to make room')
    await oldest.server.close()
    return true
  }

  #sweep(): void {
    if (this.#sweeper !== undefined) return
    this.#sweeper = setInterval(
      () => {
        const now = Date.now()
        for (const s of this.#sessions.values())
          if (s.open === 0 && now - s.lastSeen > this.#idleMs) void s.server.close().catch(() => undefined)
        if (this.#sessions.size === 0) {
          clearInterval(this.#sweeper)
          this.#sweeper = undefined
        }
      },
      Math.min(60_000, Math.max(1_000, this.#idleMs / 4)),
    )
    this.#sweeper.unref()
  }
}

/** The request as the web-standard transport reads it: method, URL and headers (the body is passed parsed). */
function webRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value == null) continue
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else headers.set(name, value)
  }
  return new Request(new URL(req.url ?? '/mcp', 'http://localhost'), {
    method: req.method ?? 'GET',
    headers,
    signal,
  })
}

/** Writes a web Response to node:http, streaming its body (SSE) until it ends or the client goes away. */
async function pipeResponse(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers))
  if (response.body == null) {
    res.end()
    return
  }
  res.flushHeaders()
  const reader = response.body.getReader()
  const cancel = () => void reader.cancel().catch(() => undefined)
  res.once('close', cancel)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done || res.destroyed) break
      if (!res.write(value))
        await new Promise<void>((resolve) => {
          res.once('drain', resolve)
          res.once('close', resolve)
        })
    }
    res.end()
  } catch {
    res.destroy()
  } finally {
    res.off('close', cancel)
  }
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
