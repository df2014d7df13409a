/**
 * Why a node did not start, in the one line `kith start` prints (`kith: <code>: <message>`): the config key,
 * the address and what to do. A second node on the ports of the first is the usual case, and libp2p's own
 * error for it is a paragraph with a stack inside, so its listen failures are read out of that paragraph.
 * The original error stays as `cause`, for `--debug`.
 */
import { hasErrorName, KithError } from '../util/errors.ts'

/** A failed start: `code` is `address_in_use` when a port is taken, `start_failed` otherwise. */
export class NodeStartError extends KithError {
  static override readonly code = 'start_failed'
  static override readonly codeVaries = true
  declare readonly code: 'address_in_use' | 'start_failed'
  constructor(code: NodeStartError['code'], message: string, options?: ErrorOptions) {
    super(message, { ...options, code })
    this.name = 'NodeStartError'
  }
}

/** libp2p lists each failed address as `  /ip4/…/tcp/N: Error: listen EADDRINUSE: …` (transport-manager.js). */
const FAILED_ADDRESS = /^\s+(\/\S+): (?:\w*Error: )?(.*)$/m

/** Whether `err` or an error in its `cause` chain (at most a few deep) is a socket's EADDRINUSE. */
function addressInUse(err: unknown): boolean {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if ((current as NodeJS.ErrnoException).code === 'EADDRINUSE') return true
    current = current.cause
  }
  return false
}

/**
 * The error a failed start is reported as.
 *
 * @example
 * startFailure(libp2pListenError).message
 * // 'network.listen: /ip4/127.0.0.1/tcp/7701 is in use (is another kith node running? give this one other
 * //  network.listen ports)'
 */
export function startFailure(err: unknown): NodeStartError {
  if (err instanceof NodeStartError) return err
  if (!(err instanceof Error)) return new NodeStartError('start_failed', String(err))
  if (hasErrorName(err, 'UnsupportedListenAddressesError')) {
    const failed = FAILED_ADDRESS.exec(err.message)
    if (failed != null) {
      const [, address, reason = ''] = failed
      return /EADDRINUSE/.test(reason)
        ? new NodeStartError(
            'address_in_use',
            `network.listen: ${address} is in use (is another kith node running? give this one other ` +
              'network.listen ports)',
            { cause: err },
          )
        : new NodeStartError('start_failed', `network.listen: cannot listen on ${address}: ${reason}`, {
            cause: err,
          })
    }
  }
  return new NodeStartError(addressInUse(err) ? 'address_in_use' : 'start_failed', err.message, {
    cause: err,
  })
}
