/**
 * How the node reads its config: the config plane's load (shape, cross-field and file checks) plus the checks
 * only planes above config can make, today the devices plane's profile check. Every caller that starts,
 * checks or reloads a node's config loads it here, so each reports the same problems.
 */
import { type Config, type LoadConfigOptions, loadConfig } from '../config/index.ts'
import { checkDeviceConfig } from '../devices/config-devices.ts'

/**
 * Reads, merges and validates a node's config, its devices' profiles included; throws `ConfigError` listing
 * every problem as `FILE:LINE: path: message`. Takes {@link loadConfig}'s options; with `checkFiles: false`
 * the profile check is skipped along with the file checks.
 *
 * @example
 * const config = await loadNodeConfig('.kith/kith.yaml')
 * config.devices.length // 2
 */
export function loadNodeConfig(file: string, options: LoadConfigOptions = {}): Promise<Config> {
  return loadConfig(file, { ...options, checks: [...(options.checks ?? []), checkDeviceConfig] })
}
