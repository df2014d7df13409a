/**
 * What changed between the running config and a new one, and which of it a running node can take: the
 * paths in {@link LIVE_PATHS} are applied at once, every other change waits for a restart.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Config } from '../config/index.ts'

/**
 * Config paths a running node applies on a reload. `fleet` (the shared-defaults include) has no effect of
 * its own: the keys it brings are compared one by one like the node file's.
 */
export const LIVE_PATHS: readonly string[] = Object.freeze([
  'name',
  'fleet',
  'log.level',
  'capabilities',
  'devices',
  'mqtt.profiles',
  'discovery.ttl',
  'trust.pretrusted',
  // read by the requester's checks on every task (src/trust/verification.ts)
  'trust.policy',
  'trust.canaries',
  'trust.canary',
  'trust.evidence',
  'trust.tpm.policy',
  'execution.allowPeers',
])

/** What a reload did with the changed paths. */
export interface ReloadResult {
  /** changed paths now in effect */
  applied: string[]
  /** changed paths whose old value stays in effect until the node restarts */
  restartRequired: string[]
}

/** Derived and bookkeeping fields: not keys a user writes (secrets are compared on their own). */
const SKIP = new Set(['paths', 'locate', 'apiToken', 'mqttPassword'])

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v)
}

/**
 * The dotted paths whose values differ, as deep as both sides are maps; a list is compared whole. The
 * secrets read from files count as `api.token` and `mqtt.password`.
 *
 * @example
 * diffConfig(running, next) // ['api.listen', 'capabilities', 'discovery.ttl']
 */
export function diffConfig(running: Config, next: Config): string[] {
  const out = new Set<string>()
  const walk = (a: unknown, b: unknown, path: string[]) => {
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (path.length === 0 && SKIP.has(key)) continue
        walk(a[key], b[key], [...path, key])
      }
    } else if (!isDeepStrictEqual(a, b)) out.add(path.join('.'))
  }
  walk(running, next, [])
  if (running.apiToken !== next.apiToken) out.add('api.token')
  if (running.mqttPassword !== next.mqttPassword) out.add('mqtt.password')
  return [...out]
}

/** True when `path` is, or lies under, a path a running node applies. */
export function isLive(path: string): boolean {
  return LIVE_PATHS.some((live) => path === live || path.startsWith(`${live}.`))
}

/**
 * Splits changed paths into those applied live and those that need a restart.
 *
 * @example
 * classifyChanges(['api.listen', 'discovery.ttl']) // { applied: ['discovery.ttl'], restartRequired: ['api.listen'] }
 */
export function classifyChanges(paths: readonly string[]): ReloadResult {
  return { applied: paths.filter(isLive), restartRequired: paths.filter((p) => !isLive(p)) }
}

/**
 * The config a node runs after a reload: the live paths from `next`, everything else as it was, so that
 * the next reload again reports each change that still waits for a restart.
 *
 * @example
 * const now = effectiveConfig(running, next)
 * classifyChanges(diffConfig(now, next)).applied // []
 */
export function effectiveConfig(running: Config, next: Config): Config {
  const out: Record<string, unknown> = { ...running, locate: next.locate }
  const paths = { ...running.paths }
  if (next.paths.fleet != null) paths.fleet = next.paths.fleet
  else delete paths.fleet
  out.paths = paths
  for (const live of LIVE_PATHS) {
    const segs = live.split('.')
    let target = out
    let source: unknown = next
    for (const seg of segs.slice(0, -1)) {
      target[seg] = { ...(target[seg] as Record<string, unknown>) }
      target = target[seg] as Record<string, unknown>
      source = (source as Record<string, unknown> | undefined)?.[seg]
    }
    const last = segs[segs.length - 1] as string
    const value = (source as Record<string, unknown> | undefined)?.[last]
    if (value === undefined) delete target[last]
    else target[last] = value
  }
  return out as unknown as Config
}
