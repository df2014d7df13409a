/**
 * JSON-lines logging (pino) to stderr; stdout belongs to machine-readable output such as the ready line.
 * Every component gets a child logger named after its folder, e.g. `kith:connectivity:host`.
 */
import { type Logger, pino } from 'pino'

export type { Logger }
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/**
 * The root logger. Writes synchronously so that the last lines before an exit are not lost.
 *
 * @example
 * const log = createLogger('info').child({ component: 'kith:node' })
 * log.info({ peers: 3 }, 'started')
 */
export function createLogger(level: LogLevel, destination = 2): Logger {
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination, sync: true }),
  )
}

/** A logger that drops everything, for library callers and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

/** The child logger for one component. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component })
}
