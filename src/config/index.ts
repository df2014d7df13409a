export { ConfigError, type ConfigProblem, EX_CONFIG, formatProblem } from './errors.ts'
export { type Config, type LoadConfigOptions, loadConfig, mergeDeep } from './load.ts'
export {
  type CapabilityConfig,
  CONFIG_VERSION,
  type ConfigFile,
  configSchema,
  DEFAULT_API,
  DEFAULT_LISTEN,
  isLoopbackHost,
  isPeerId,
  parseHostPort,
} from './schema.ts'
export { ConfigWatcher, type ConfigWatcherInit, watchedFiles } from './watch.ts'
