/** The CLI's own refusal of a command line: exit 2, like commander's. */
import { EXIT, KithError } from '../util/errors.ts'

/**
 * A command line that cannot be run as given (options that exclude each other, `--input` that is not JSON).
 *
 * @example
 * throw new UsageError('--tier must be auto, 1, 2 or 3') // kith: --tier must be auto, 1, 2 or 3, exit 2
 */
export class UsageError extends KithError {
  static override readonly code = 'usage'
  static override readonly status = 400
  static override readonly exitCode = EXIT.usage
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
