/** How the client verbs (`status`, `peers`, `find`, …) reach the running node: its HTTP API. */
import { existsSync } from 'node:fs'
import { loadConfig, parseHostPort } from '../config/index.ts'

export const DEFAULT_CONFIG = '.kith/kith.yaml'

export interface ClientOptions {
  api?: string
  config?: string
  token?: string
}

export interface ApiClient {
  url: string
  get(path: string): Promise<unknown>
  post(path: string, body: unknown): Promise<unknown>
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
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
  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (token != null) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (err) {
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
  return { url: base, get: (path) => request('GET', path), post: (path, body) => request('POST', path, body) }
}
