/**
 * How a running node ends on SIGTERM or SIGINT: a clean stop, exit 0; a failed or hung stop (past
 * `timeoutMs`), or a second signal, exit 1.
 */
import type { Logger } from '../util/logger.ts'

/** How long a clean stop may take before the process gives up and exits 1. */
export const STOP_TIMEOUT_MS = 10_000

/**
 * @example
 * const node = await createNode(config, root)
 * stopOnSignals(node, log)
 * await node.start()
 */
export function stopOnSignals(
  node: { stop(): Promise<void> },
  log: Logger,
  timeoutMs: number = STOP_TIMEOUT_MS,
): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'stopping')
    const timer = setTimeout(() => {
      log.error('stop timed out')
      process.exit(1)
    }, timeoutMs)
    timer.unref()
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
