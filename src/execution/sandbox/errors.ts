/**
 * Errors the sandbox throws at its caller. A script's own failures never throw: they come back as a
 * `SandboxResult` with `ok: false`. These are for mistakes of the caller or a broken installation.
 */
import { KithError } from '../../util/errors.ts'

/**
 * A job or sandbox asked for limits or grants that cannot be honoured.
 *
 * @example
 * await sandbox.run({ source, limits: { stackBytes: 4 << 20 } }) // rejects with SandboxConfigError
 */
export class SandboxConfigError extends KithError {
  static override readonly code = 'bad_sandbox_config'

  constructor(message = 'invalid sandbox configuration') {
    super(message)
    this.name = 'SandboxConfigError'
  }
}

/**
 * The QuickJS WebAssembly module could not be loaded (a missing or damaged dependency).
 *
 * @example
 * await new Sandbox().start() // rejects with SandboxLoadError when the package is missing
 */
export class SandboxLoadError extends KithError {
  static override readonly code = 'sandbox_load_failed'

  constructor(message = 'the QuickJS engine could not be loaded', options?: ErrorOptions) {
    super(message, options)
    this.name = 'SandboxLoadError'
  }
}

/**
 * `run()` after `stop()`.
 *
 * @example
 * await sandbox.stop(); await sandbox.run(job) // rejects with SandboxClosedError
 */
export class SandboxClosedError extends KithError {
  static override readonly code = 'sandbox_closed'
  static override readonly status = 503

  constructor(message = 'the sandbox is closed') {
    super(message)
    this.name = 'SandboxClosedError'
  }
}
