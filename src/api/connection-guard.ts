/**
 * Admission of the API's TCP connections. Node's `maxConnections` alone counts sockets that never send a
 * byte, and its headers timeout is only swept every 30 s, so seventy idle connections locked every client
 * out, the dashboard and agents included, for about 25 s, again and again (issue 23). Three bounds close
 * that: a socket that sends no byte within `firstByteMs` is closed; one address holds at most
 * `maxPerAddress` sockets; and a share of the cap ({@link localReserve}) is kept for this machine's own
 * clients, which connect from 127.0.0.1 or ::1, so hosts elsewhere cannot fill it.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { KithError, toApiError } from '../util/errors.ts'

export interface ConnectionLimits {
  /** sockets at once, every address together (Node's `server.maxConnections`) */
  maxConnections: number
  /** sockets at once from one address other than this machine's own */
  maxPerAddress: number
  /** ms from accepting a socket to the first byte of its request */
  firstByteMs: number
}

/** Connections the server closed before answering them, by reason. Counters only grow. */
export interface ConnectionRefusals {
  /** the whole cap was taken: Node closed the socket before HTTP saw it */
  full: number
  /** the share for other hosts was taken; the rest is kept for this machine's own clients */
  reserved: number
  /** the address already held `maxPerAddress` sockets */
  perAddress: number
  /** no byte arrived within `firstByteMs` */
  firstByteTimeout: number
}

/** Sockets at once from one other host, where the caller sets none (`api.maxConnectionsPerAddress`). */
export const DEFAULT_MAX_PER_ADDRESS = 16
/** ms a new socket may stay silent, where the caller sets none (`api.firstByteTimeoutMs`). */
export const DEFAULT_FIRST_BYTE_MS = 5_000

export const emptyRefusals = (): ConnectionRefusals => ({
  full: 0,
  reserved: 0,
  perAddress: 0,
  firstByteTimeout: 0,
})

/**
 * The addresses this machine's own clients (a local browser, the CLI, agents) come from. Other 127.x
 * sources only appear when a program binds one on purpose, which is also how tests play other hosts.
 */
const LOCAL = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/**
 * Sockets kept for this machine's own clients: a quarter of the cap, enough for a browser's six
 * connections plus the CLI and an agent at the default cap of 64.
 *
 * @example
 * localReserve(64) // 16
 */
export const localReserve = (maxConnections: number): number => Math.floor(maxConnections / 4)

/**
 * Applies `limits` to `server`'s connections and counts what it closes in `refusals`. A refused socket
 * gets a one-line HTTP error, so a client sees why, before it is closed.
 *
 * @example
 * const refusals = emptyRefusals()
 * guardConnections(server, { maxConnections: 64, maxPerAddress: 16, firstByteMs: 5_000 }, refusals)
 */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  refusals: ConnectionRefusals,
): void {
  server.maxConnections = limits.maxConnections
  const othersCap = limits.maxConnections - localReserve(limits.maxConnections)
  // bounded: only sockets that are open and admitted are in it, at most othersCap of them
  const byAddress = new Map<string, number>()
  let others = 0

  server.on('drop', () => {
    refusals.full++
  })
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    if (!LOCAL.has(address)) {
      const held = byAddress.get(address) ?? 0
      if (others >= othersCap) {
        refusals.reserved++
        return refuse(socket, 503, 'the API is busy with other hosts; retry in a few seconds')
      }
      if (held >= limits.maxPerAddress) {
        refusals.perAddress++
        return refuse(socket, 503, 'too many connections from your address; close idle ones and retry')
      }
      byAddress.set(address, held + 1)
      others++
      socket.once('close', () => {
        others--
        const left = (byAddress.get(address) ?? 1) - 1
        if (left > 0) byAddress.set(address, left)
        else byAddress.delete(address)
      })
    }
    const timer = setTimeout(() => {
      if (socket.bytesRead > 0 || socket.destroyed) return
      refusals.firstByteTimeout++
      refuse(socket, 408, 'no request arrived in time; send the request right after connecting')
    }, limits.firstByteMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  })
}

const REASONS: Record<number, string> = { 408: 'Request Timeout', 503: 'Service Unavailable' }

/** Writes an API error straight onto the socket, then closes it whether or not the peer reads. */
function refuse(socket: Socket, status: 408 | 503, message: string): void {
  const code = status === 408 ? 'request_timeout' : 'too_many_connections'
  const body = JSON.stringify(toApiError(new KithError(message, { code, status })).body)
  const head = [
    `HTTP/1.1 ${status} ${REASONS[status]}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ]
  socket.on('error', () => undefined)
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy())
}
