/**
 * Environment overrides, derived from the schema: every key has a name, `KITH_` followed by its path in
 * upper snake case (`api.listen` -> `KITH_API_LISTEN`, `network.maxConnections` ->
 * `KITH_NETWORK_MAX_CONNECTIONS`). Values are read as YAML scalars or flow collections, so
 * `KITH_NETWORK_BOOTSTRAP='[/ip4/…/p2p/…]'` sets a list.
 */
import { parse } from 'yaml'
import type { z } from 'zod'
import type { ConfigProblem } from './errors.ts'

/** Environment variables that configure the CLI itself rather than a config key. */
export const CLI_ENV = new Set(['KITH_CONFIG', 'KITH_API_URL', 'KITH_TOKEN'])

export interface EnvOverride {
  name: string
  path: string[]
  value: unknown
}

interface ZodLike {
  _zod: {
    def: {
      type: string
      innerType?: ZodLike
      out?: ZodLike
      shape?: Record<string, ZodLike>
      options?: ZodLike[]
    }
  }
}

/** A schema without its defaults, optionality and preprocessing: the type a value finally has to fit. */
export function unwrapSchema<T extends { _zod: { def: { type: string; innerType?: T; out?: T } } }>(
  schema: T,
): T {
  let s = schema
  for (;;) {
    const def = s._zod.def
    if (def.innerType != null) s = def.innerType
    else if (def.type === 'pipe' && def.out != null) s = def.out
    else return s
  }
}

function takesText(schema: ZodLike): boolean {
  const def = unwrapSchema(schema)._zod.def
  if (def.type === 'string') return true
  return def.type === 'union' && (def.options ?? []).some(takesText)
}

function snake(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

/** Every settable key of `schema` by its environment name. */
export function envNames(schema: z.ZodType): Map<string, { path: string[]; text: boolean }> {
  const names = new Map<string, { path: string[]; text: boolean }>()
  const walk = (s: ZodLike, path: string[]) => {
    if (path.length > 0) names.set(`KITH_${path.map(snake).join('_')}`, { path, text: takesText(s) })
    const shape = unwrapSchema(s)._zod.def.shape
    if (shape != null) for (const [key, child] of Object.entries(shape)) walk(child, [...path, key])
  }
  walk(schema as unknown as ZodLike, [])
  return names
}

/** Reads the `KITH_*` variables of `env` that name config keys; unknown `KITH_*` names are problems. */
export function readEnvOverrides(
  schema: z.ZodType,
  env: NodeJS.ProcessEnv,
): { overrides: EnvOverride[]; problems: ConfigProblem[] } {
  const names = envNames(schema)
  const overrides: EnvOverride[] = []
  const problems: ConfigProblem[] = []
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('KITH_') || raw == null || CLI_ENV.has(name)) continue
    const key = names.get(name)
    if (key == null) {
      problems.push({ source: `env:${name}`, line: 0, path: '(env)', message: 'not a kith setting' })
      continue
    }
    let value: unknown = raw
    if (!key.text) {
      try {
        value = parse(raw)
      } catch (err) {
        problems.push({
          source: `env:${name}`,
          line: 0,
          path: key.path.join('.'),
          message: (err as Error).message,
        })
        continue
      }
    }
    overrides.push({ name, path: key.path, value })
  }
  return { overrides, problems }
}
