/**
 * `kith mcp`: MCP over stdio, for desktop clients that launch a command (Claude Desktop). A thin client: the
 * tools call the running node's HTTP API (`--api`, `KITH_API_URL` or the config, with its token), and the
 * tool list is compared with the node's live descriptors every two seconds, a change being announced with
 * `notifications/tools/list_changed`. Stdout carries MCP messages only; anything else goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import {
  createMcpServer,
  REMOTE_POLL_MS,
  remoteBackend,
  ToolCatalog,
  ToolListWatcher,
} from '../api/mcp/index.ts'
import { apiClient, type ClientOptions } from './client.ts'

/** Largest JSON-RPC message read from stdin; a tool call's arguments are capped lower (256 KiB). */
const MAX_STDIN_MESSAGE = 1024 * 1024

/** Serves MCP on stdin/stdout until stdin closes or a signal arrives. */
export async function serveMcpStdio(options: ClientOptions): Promise<void> {
  const api = await apiClient(options)
  const backend = remoteBackend(api)
  // a list followed at once by a call (the usual pattern) asks the node for its descriptors once
  const catalog = new ToolCatalog(() => backend.providers(), { maxAgeMs: 1_000 })
  const log = {
    error: (fields: Record<string, unknown>, message: string) =>
      // the message, not the stack: this line is what an MCP client shows its user
      warn(`${message}: ${(fields.err as Error | undefined)?.message ?? JSON.stringify(fields)}`),
  }
  const server = createMcpServer({ backend, catalog, log })
  let unreachable = false
  const watcher = new ToolListWatcher({
    catalog,
    intervalMs: REMOTE_POLL_MS,
    onError: (err) => {
      // said once per outage, not every two seconds
      if (!unreachable) warn(`cannot follow the node's capabilities: ${(err as Error).message}`)
      unreachable = true
    },
  })
  server.oninitialized = () => {
    watcher.subscribe(() => {
      unreachable = false
      server.sendToolListChanged().catch(() => undefined)
    })
  }
  const transport = new StdioServerTransport(process.stdin, process.stdout, {
    maxBufferSize: MAX_STDIN_MESSAGE,
  })
  transport.onerror = (err) => warn(`stdio: ${err.message}`)
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve()
  })
  await server.connect(transport)
  const drained = trackRequests(transport)
  warn(`serving MCP on stdio for the node at ${api.url}`)
  const stop = () => {
    server.close().catch((err: Error) => warn(`closing: ${err.message}`))
  }
  // input ended (a client that sent its last request and closed the pipe): answer what is in flight first
  process.stdin.once('end', () => {
    const late = setTimeout(stop, DRAIN_TIMEOUT_MS)
    late.unref()
    drained()
      .then(stop)
      .catch((err: Error) => warn(`draining: ${err.message}`))
  })
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  await closed
  watcher.stop()
}

/** Longest wait for answers in flight once stdin has ended (a task's own limit is shorter). */
const DRAIN_TIMEOUT_MS = 30_000

/** Follows the requests received and answered on `transport`; `drained()` resolves when none is open. */
function trackRequests(transport: StdioServerTransport): () => Promise<void> {
  const open = new Set<string | number>()
  let onDrained: (() => void) | undefined
  const receive = transport.onmessage
  transport.onmessage = (message) => {
    if ('method' in message && 'id' in message) open.add(message.id)
    receive?.(message)
  }
  const send = transport.send.bind(transport)
  transport.send = async (message) => {
    await send(message)
    if (!('method' in message) && 'id' in message && message.id != null) open.delete(message.id)
    if (open.size === 0) onDrained?.()
  }
  return () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onDrained = resolve)))
}

function warn(message: string): void {
  process.stderr.write(`kith mcp: ${message}\n`)
}
