/**
 * libp2p's connection events, carried onto the node's bus (the API's event stream names them `peers`), and
 * a log line per peer that comes or goes.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { ConnectivityEvents } from '../connectivity/events.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Events } from '../util/event-bus.ts'
import type { Logger } from '../util/logger.ts'
import type { Startable } from '../util/lifecycle.ts'

/**
 * A lifecycle part that listens to the host from start to stop.
 *
 * @example
 * lifecycle.add('connection-events', connectionEvents(host, events, log))
 */
export function connectionEvents(
  host: KithLibp2p,
  events: Events<ConnectivityEvents>,
  log: Logger,
): Required<Pick<Startable, 'start' | 'stop'>> {
  const connected = (evt: CustomEvent<PeerId>) => log.info({ peer: evt.detail.toString() }, 'peer connected')
  const disconnected = (evt: CustomEvent<PeerId>) =>
    log.info({ peer: evt.detail.toString() }, 'peer disconnected')
  const opened = (evt: CustomEvent<Connection>) =>
    events.emit('connection', { type: 'open', peer: evt.detail.remotePeer.toString() })
  const closed = (evt: CustomEvent<Connection>) =>
    events.emit('connection', { type: 'close', peer: evt.detail.remotePeer.toString() })
  return {
    start: () => {
      host.addEventListener('peer:connect', connected)
      host.addEventListener('peer:disconnect', disconnected)
      host.addEventListener('connection:open', opened)
      host.addEventListener('connection:close', closed)
    },
    stop: () => {
      host.removeEventListener('peer:connect', connected)
      host.removeEventListener('peer:disconnect', disconnected)
      host.removeEventListener('connection:open', opened)
      host.removeEventListener('connection:close', closed)
    },
  }
}
