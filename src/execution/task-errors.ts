/**
 * How a task call to another peer fails on the requester's side. Apart from the task client, so that the
 * delegation logic and the simulator's client can name them without loading libp2p.
 */
import { KithError } from '../util/errors.ts'

/** The connection to the provider closed while a task was in flight. */
export class ConnectionLostError extends KithError {
  static override readonly code = 'connection_lost'
  static override readonly status = 502
  constructor(message = 'the connection to the provider was lost') {
    super(message)
    this.name = 'ConnectionLostError'
  }
}

/** The provider did not answer a task before its deadline. */
export class RequestTimeoutError extends KithError {
  static override readonly code = 'request_timeout'
  static override readonly status = 504
  constructor(message = 'the provider did not answer before the deadline') {
    super(message)
    this.name = 'RequestTimeoutError'
  }
}
