/**
 * The node's HTTP API as the dashboard calls it: same origin, JSON, the bearer token from sessionStorage on
 * every request. Errors become {@link ApiError} carrying the node's own `{"error":{"code","message"}}`.
 */

const TOKEN_KEY = 'kith.token'

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

/** The resources the dashboard keeps; each is also the name of the SSE event that says it changed. */
export const RESOURCES = {
  status: '/v1/status',
  peers: '/v1/peers',
  descriptors: '/v1/descriptors',
  devices: '/v1/devices',
  tasks: '/v1/tasks?limit=50',
  trust: '/v1/trust',
} as const

export type ResourceName = keyof typeof RESOURCES

export const RESOURCE_NAMES = Object.keys(RESOURCES) as ResourceName[]

export function isResourceName(name: string): name is ResourceName {
  return Object.hasOwn(RESOURCES, name)
}

// sessionStorage throws where storage is disabled; the dashboard then works for open nodes only
export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function setToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token)
  } catch {
    // nothing to do: the token then lives only as long as the request that carries it
  }
}

export function authHeaders(): Record<string, string> {
  const token = getToken()
  return token != null && token !== '' ? { authorization: `Bearer ${token}` } : {}
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } }
    return new ApiError(res.status, body.error?.code ?? 'http', body.error?.message ?? res.statusText)
  } catch {
    return new ApiError(res.status, 'http', `${res.status} ${res.statusText}`)
  }
}

/**
 * Calls the API and returns its JSON answer.
 *
 * @example
 * const status = await request<Status>('/v1/status')
 */
export async function request<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() }
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      cache: 'no-store',
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    })
  } catch {
    // the browser's own words ("Failed to fetch") say less than this
    throw new ApiError(0, 'network', 'the node did not answer')
  }
  if (!res.ok) throw await errorOf(res)
  return (await res.json()) as T
}
