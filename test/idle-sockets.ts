/**
 * Idle TCP connections for tests of the API's connection limits: sockets that connect and never send a
 * byte, from a chosen loopback source address (127.0.0.2… play other hosts).
 */
import { connect, type Socket } from 'node:net'

export interface IdleSocket {
  socket: Socket
  /** what the server wrote before closing, if anything */
  received(): string
  /** resolves when the server (or the network) closed the socket */
  closed: Promise<void>
  isClosed(): boolean
}

/**
 * Connects to `port` on 127.0.0.1 from `localAddress` and sends nothing.
 *
 * @example
 * const idle = await openIdle(port, '127.0.0.2')
 * await idle.closed
 */
export function openIdle(port: number, localAddress = '127.0.0.1'): Promise<IdleSocket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  let text = ''
  let done = false
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  socket.on('error', () => undefined)
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      done = true
      resolve()
    }),
  )
  const idle: IdleSocket = { socket, received: () => text, closed, isClosed: () => done }
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(idle))
    void closed.then(() => resolve(idle))
  })
}

/** Opens `perAddress` idle sockets from each of `addresses` sources, 127.0.0.2 upwards. */
export async function openIdleFrom(
  port: number,
  addresses: number,
  perAddress: number,
): Promise<IdleSocket[]> {
  const sockets: IdleSocket[] = []
  for (let a = 0; a < addresses; a++)
    for (let i = 0; i < perAddress; i++) sockets.push(await openIdle(port, `127.0.0.${a + 2}`))
  return sockets
}
