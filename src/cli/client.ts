/** How the client verbs (`status`, `peers`, `find`, …) reach the running node: its HTTP API. */
import { existsSync } from 'node:fs'
import { MAX_TASK_TIMEOUT_MS } from '../api/tasks.ts'
import { loadConfig, parseHostPort } from '../config/index.ts'
import { hasErrorName, KithError } from '../util/errors.ts'

export const DEFAULT_CONFIG = '.kith/kith.yaml'

/** How long a request without a deadline of its own (status, peers, find) may take. */
export const DEFAULT_WAIT_MS = 30_000
/** Beyond a request's deadline: the node's answer still has to be verified, journalled and sent. */
export const DEADLINE_MARGIN_MS = 15_000

/** What a request may say about how long the client waits for its answer. */
export interface RequestOptions {
  /** the request's own deadline (ms): the node answers by then, so the client waits that long plus a margin */
  deadlineMs?: number
}

/**
 * How long the client waits for an answer: the request's own deadline plus {@link DEADLINE_MARGIN_MS}, or
 * {@link DEFAULT_WAIT_MS} for a request without one.
 *
 * @example
 * clientWaitMs({ deadlineMs: 300_000 }) // 315_000
 * clientWaitMs({}) // 30_000
 */
export function clientWaitMs(options: RequestOptions = {}): number {
  const deadline = options.deadlineMs
  // a deadline that is no number (`--timeout abc`) is the node's to refuse, at once
  return deadline == null || !Number.isFinite(deadline) ? DEFAULT_WAIT_MS : deadline + DEADLINE_MARGIN_MS
}

/**
 * The deadline of a task request: the one it states, or else the node's `execution.taskTimeout`, which the
 * client cannot see and which is at most {@link MAX_TASK_TIMEOUT_MS}.
 *
 * @example
 * taskDeadlineMs({ timeoutMs: 60_000 }) // 60_000
 * taskDeadlineMs({}) // 600_000
 */
export function taskDeadlineMs(request: { timeoutMs?: number }): number {
  return request.timeoutMs ?? MAX_TASK_TIMEOUT_MS
}

export interface ClientOptions {
  api?: string
  config?: string
  token?: string
}

export interface ApiClient {
  url: string
  get(path: string): Promise<unknown>
  post(path: string, body: unknown, options?: RequestOptions): Promise<unknown>
}

/** The node's API refused or could not be reached (`status` 0): its code and message, as the API gave them. */
export class ApiError extends KithError {
  static override readonly code = 'api_error'
  static override readonly status = 502
  static override readonly codeVaries = true
  constructor(status: number, code: string, message: string) {
    super(message, { status, code })
    this.name = 'ApiError'
  }
}

/** Resolves the API address: `--api`, then `KITH_API_URL`, then the config's `api.listen`. */
export async function apiClient(options: ClientOptions): Promise<ApiClient> {
  let url = options.api ?? process.env.KITH_API_URL
  let token = options.token ?? process.env.KITH_TOKEN
  const configPath = options.config ?? process.env.KITH_CONFIG ?? DEFAULT_CONFIG
  if (url == null || token == null) {
    if (url == null || existsSync(configPath)) {
      const config = await loadConfig(configPath)
      if (url == null) {
        const bind = parseHostPort(config.api.listen)
        const host =
          bind == null || bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host === '::' ? '::1' : bind.host
        url = `http://${host.includes(':') ? `[${host}]` : host}:${bind?.port ?? 7700}`
      }
      token ??= config.apiToken
    }
  }
  const base = (url as string).replace(/\/$/, '')
  const request = async (method: string, path: string, body?: unknown, options: RequestOptions = {}) => {
    const waitMs = clientWaitMs(options)
    const headers: Record<string, string> = {}
    if (token != null) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(waitMs),
      })
    } catch (err) {
      if (hasErrorName(err, 'TimeoutError'))
        throw new ApiError(
          0,
          'timeout',
          `the node at ${base} did not answer within ${Math.round(waitMs / 1000)} s; ` +
            '`kith status` shows whether it still runs',
        )
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach the node at ${base}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
      )
    }
    const value = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null
    if (!res.ok)
      throw new ApiError(
        res.status,
        value?.error?.code ?? 'http_error',
        value?.error?.message ?? `HTTP ${res.status}`,
      )
    return value
  }
  return {
    url: base,
    get: (path) => request('GET', path),
    post: (path, body, options) => request('POST', path, body, options),
  }
}
