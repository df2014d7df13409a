/**
 * The devices a node's config names: each `devices:` entry joined with its profile, from the shipped profiles
 * and the folders in `mqtt.profiles`. Config loading checks only the shape of an entry; whether its profile
 * exists and its overrides fit is checked here, where profiles are known.
 */
import type { ConfigProblem } from '../config/errors.ts'
import { ConfigError } from '../config/errors.ts'
import { deviceConfigSchema } from '../config/devices-schema.ts'
import type { Config } from '../config/load.ts'
import {
  builtinProfileDir,
  DeviceConfigError,
  type DeviceProblem,
  loadProfiles,
  type Profile,
  zodProblems,
} from './profile.ts'
import { deviceFromProfile } from './profile-device.ts'
import { compileTemplate } from './template.ts'
import type { DeviceSpec } from './types.ts'

export interface DevicesFromConfigOptions {
  /** where `devices.N…` was written, for problems located at a file and line */
  locate?: (path: ReadonlyArray<PropertyKey>) => { source: string; line: number }
}

/**
 * Validates a config's `devices:` list and builds each device from its profile. Throws {@link ConfigError}
 * listing every problem at `devices.N.field` (unknown profile, unknown key, duplicate id, bad topic).
 *
 * @example
 * const specs = devicesFromConfig(config.devices, profiles, { locate: config.locate })
 */
export function devicesFromConfig(
  entries: readonly unknown[],
  profiles: ReadonlyMap<string, Profile>,
  options: DevicesFromConfigOptions = {},
): DeviceSpec[] {
  const problems: ConfigProblem[] = []
  const report = (i: number, p: DeviceProblem) => {
    const path = ['devices', i, ...p.path]
    const where = options.locate?.(path) ?? { source: 'config', line: 0 }
    problems.push({ ...where, path: path.join('.'), message: p.message })
  }
  const specs: DeviceSpec[] = []
  const ids = new Set<string>()
  entries.forEach((raw, i) => {
    const parsed = deviceConfigSchema.safeParse(raw)
    if (!parsed.success) return zodProblems(parsed.error).forEach((p) => report(i, p))
    const entry = parsed.data
    if (ids.has(entry.id)) return report(i, { path: ['id'], message: `duplicate device id "${entry.id}"` })
    ids.add(entry.id)
    const profile = profiles.get(entry.profile)
    if (profile == null) {
      const known = [...profiles.keys()].sort().join(', ') || 'none loaded'
      return report(i, { path: ['profile'], message: `unknown profile "${entry.profile}" (known: ${known})` })
    }
    try {
      specs.push(deviceFromProfile(entry, profile))
    } catch (err) {
      if (!(err instanceof DeviceConfigError)) throw err
      err.problems.forEach((p) => report(i, p))
    }
  })
  if (problems.length > 0) throw new ConfigError(problems)
  return specs
}

/**
 * The device specs of the config's `devices:` list, from the built-in and configured profile folders (every
 * profile's templates compiled). Throws {@link ConfigError} listing every problem.
 *
 * @example
 * const specs = await configuredDevices(config)
 */
export async function configuredDevices(
  config: Pick<Config, 'devices' | 'mqtt' | 'locate'>,
): Promise<DeviceSpec[]> {
  if (config.devices.length === 0) return []
  const profiles = await loadProfiles([builtinProfileDir(), ...config.mqtt.profiles], {
    checkTemplate: compileTemplate,
  })
  return devicesFromConfig(config.devices, profiles, { locate: config.locate })
}

/**
 * What is wrong with a loaded config's devices, as `FILE:LINE` problems: every entry's profile exists (and
 * loads, templates included) and joins with its overrides into valid topics. Empty when all is well. Pass it
 * as a check to `loadConfig` so these problems are reported with the config's own.
 *
 * @example
 * const config = await loadConfig(file, { checks: [checkDeviceConfig] })
 */
export async function checkDeviceConfig(
  config: Pick<Config, 'devices' | 'mqtt' | 'locate'>,
): Promise<ConfigProblem[]> {
  try {
    await configuredDevices(config)
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems
  }
}
