/**
 * How the CLI ends on an error: one line on stderr and the error's exit code. A kith error prints as
 * `kith: <code>: <message>` (its hint in parentheses), a usage error (exit 2) as `kith: <message>` (it is about
 * the command line, like commander's own), a config's or workflow's problems as one `FILE:LINE: path: problem`
 * line each (the promise of `kith config check`), anything else as `internal` with a pointer to `--debug`.
 * Stacks are main's business, and only under `--debug`.
 */
import { CommanderError } from 'commander'
import { ConfigError, formatProblem } from '../config/index.ts'
import { EXIT, isKithError, userMessage } from '../util/errors.ts'
import { printError } from './output.ts'
import { terminalText } from './terminal-text.ts'

/**
 * Prints `err` as the one line users see and returns the exit code to end with.
 *
 * @example
 * process.exitCode = reportError(new UsageError('give --out DIR')) // prints "kith: give --out DIR", 2
 */
export function reportError(err: unknown): number {
  // commander has printed its own message (and the help) already
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT.usage
  if (err instanceof ConfigError && err.problems.length > 0) {
    for (const p of err.problems) console.error(formatProblem(p))
    return err.exitCode
  }
  if (isKithError(err)) {
    const { code, message } = userMessage(err)
    if (err.exitCode === EXIT.usage) console.error(`kith: ${terminalText(message)}`)
    else printError(code, message)
    return err.exitCode
  }
  printError(
    'internal',
    `${err instanceof Error ? err.message : String(err)} (run again with --debug to see where)`,
  )
  return EXIT.failure
}
