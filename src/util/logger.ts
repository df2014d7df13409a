/**
 * JSON-lines logging (pino) to stderr; stdout belongs to machine-readable output such as the ready line.
 * Every component gets a child logger named after its folder, e.g. `kith:connectivity:host`.
 */
import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/**
 * The root logger. Writes synchronously so that the last lines before an exit are not lost. An error logged
 * as `{ err }` keeps its type, message, code and cause; its stack is written only while the logger is at
 * `debug` or `trace` (`--debug`, `log.level: debug`), so a warning a user reads carries no stack trace.
 *
 * @example
 * const log = createLogger('info').child({ component: 'kith:node' })
 * log.info({ peers: 3 }, 'started')
 * log.warn({ err }, 'could not write the peer cache') // err.type and err.message; err.stack only at debug
 */
export function createLogger(level: LogLevel, destination: number | DestinationStream = 2): Logger {
  const root: Logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: (err: Error) => serializeError(err, () => root.isLevelEnabled('debug')) },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination,
  )
  return root
}

/** pino's error serializer, less the stack (its causes' too) unless `verbose()`. */
function serializeError(err: Error, verbose: () => boolean): unknown {
  const out = pino.stdSerializers.err(err) as { stack?: string } | undefined
  if (out == null || typeof out !== 'object' || verbose()) return out
  const { stack: _stack, ...rest } = out
  // pino folds the causes' stacks into `stack` ("caused by: …"); their messages stay in `message`
  return rest
}

/** A logger that drops everything, for library callers and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

/** The child logger for one component. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component })
}
