/**
 * kith's one error model. Every error kith raises on purpose is a {@link KithError}: a named class with a
 * default message (in the manner of js-libp2p's packages/interface/src/errors.ts) that carries a stable
 * snake_case `code`, the HTTP `status` the API answers with, the `exitCode` the CLI ends with, and optionally a
 * `hint` that says what to do next. The API writes `{"error":{"code","message"}}` ({@link toApiError}), the CLI
 * one line `kith: <code>: <message>`, MCP a tool result that carries the code: all from these fields.
 *
 * A subclass states its defaults as static fields, so a table of every class needs no instance
 * (docs/errors.md is printed from them by scripts/error-codes.ts); an instance may override them, for the
 * classes whose code is chosen where they are thrown (an API refusal, a task failure).
 */

/** The exit codes of the CLI: failure, a wrong command line, and `sysexits.h`'s EX_CONFIG. */
export const EXIT = Object.freeze({ failure: 1, usage: 2, config: 78 })

export interface KithErrorOptions extends ErrorOptions {
  /** overrides the class's code, for classes whose code is chosen where they are thrown */
  code?: string
  /** overrides the class's HTTP status */
  status?: number
  /** overrides the class's CLI exit code */
  exitCode?: number
  /** what the user can do next, printed after the message by the CLI */
  hint?: string
}

/**
 * The base of every kith error.
 *
 * @example
 * class BusyError extends KithError {
 *   static override readonly code = 'busy'
 *   static override readonly status = 503
 *   constructor(message = 'the node is busy') {
 *     super(message)
 *     this.name = 'BusyError'
 *   }
 * }
 * new BusyError().code // 'busy'
 */
export class KithError extends Error {
  /** the code instances of this class carry unless they are given one */
  static readonly code: string = 'internal'
  static readonly status: number = 500
  static readonly exitCode: number = EXIT.failure
  /** true for classes whose instances are given their code where they are thrown (an API refusal) */
  static readonly codeVaries: boolean = false

  readonly code: string
  readonly status: number
  readonly exitCode: number
  readonly hint?: string

  constructor(message: string, options: KithErrorOptions = {}) {
    const { code, status, exitCode, hint, ...errorOptions } = options
    super(message, errorOptions)
    // the class actually constructed: its static fields are the defaults
    const kind = new.target as typeof KithError
    // named explicitly in every subclass too: a minified bundle renames classes
    this.name = 'KithError'
    this.code = code ?? kind.code
    this.status = status ?? kind.status
    this.exitCode = exitCode ?? kind.exitCode
    if (hint !== undefined) this.hint = hint
  }
}

/**
 * Whether `err` is one of kith's own errors.
 *
 * @example
 * isKithError(new KithError('no')) // true
 * isKithError(new Error('no')) // false
 */
export function isKithError(err: unknown): err is KithError {
  return err instanceof KithError
}

/**
 * The stable code of `err`: a kith error's own, `internal` for anything else.
 *
 * @example
 * errorCode(new KithError('x', { code: 'busy' })) // 'busy'
 * errorCode(new TypeError('x')) // 'internal'
 */
export function errorCode(err: unknown): string {
  return isKithError(err) ? err.code : KithError.code
}

/** The body of every error the API sends (a type, not an interface: MCP takes it as a plain record). */
export type ApiErrorBody = { error: { code: string; message: string } }

/** What the API answers for an error; `unexpected` when it is not kith's own and should be logged. */
export interface ApiErrorResponse {
  status: number
  body: ApiErrorBody
  unexpected: boolean
}

/**
 * The API's answer to `err`: a kith error as its status, code and message; anything else as a 500 `internal`
 * whose detail stays in the log (it may name files or hold a peer's text).
 *
 * @example
 * toApiError(new KithError('no task t1', { code: 'not_found', status: 404 }))
 * // { status: 404, body: { error: { code: 'not_found', message: 'no task t1' } }, unexpected: false }
 */
export function toApiError(err: unknown): ApiErrorResponse {
  if (isKithError(err))
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message } },
      unexpected: false,
    }
  return {
    status: 500,
    body: { error: { code: KithError.code, message: 'internal error' } },
    unexpected: true,
  }
}

/**
 * Whether `err` is a third-party error of one of these names: libp2p's and the platform's errors (a
 * DOMException `TimeoutError` or `AbortError`, it-length-prefixed's `InvalidDataLengthError`) are known by name
 * only, as their classes are not exported or not ours to import. kith's own errors are matched with
 * `instanceof` or their `code` instead.
 *
 * @example
 * hasErrorName(AbortSignal.timeout(0).reason, 'TimeoutError') // true, once the signal has fired
 */
export function hasErrorName(err: unknown, ...names: string[]): boolean {
  if (typeof err !== 'object' || err === null || !('name' in err)) return false
  return typeof err.name === 'string' && names.includes(err.name)
}

/**
 * What a user is told of `err`: its code, and its message followed by the hint when there is one. The CLI
 * prints them as `kith: <code>: <message>`; stacks are for `--debug` only.
 *
 * @example
 * userMessage(new KithError('the node is busy', { code: 'busy', hint: 'try again in a moment' }))
 * // { code: 'busy', message: 'the node is busy (try again in a moment)' }
 */
export function userMessage(err: KithError): { code: string; message: string } {
  return { code: err.code, message: err.hint !== undefined ? `${err.message} (${err.hint})` : err.message }
}
