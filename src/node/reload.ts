/**
 * Config reloads of a running node: apply what is safe to change live (capabilities, devices, discovery
 * ttl, who is trusted, log level), report the rest as needing a restart, and keep the running config
 * whole when the new one is invalid or cannot be applied.
 */
import { type Config, ConfigError, formatProblem } from '../config/index.ts'
import type { Logger } from '../util/logger.ts'
import type { DevicePlane } from '../devices/plane.ts'
import { deviceAccess } from '../devices/plane.ts'
import type { LocalState } from '../discovery/local-state.ts'
import type { ExecutionPlane } from '../execution/plane.ts'
import { classifyChanges, diffConfig, effectiveConfig, type ReloadResult } from './reload-diff.ts'

export { classifyChanges, diffConfig, effectiveConfig, LIVE_PATHS, type ReloadResult } from './reload-diff.ts'

/** The parts of a node a reload changes. */
export interface LiveParts {
  execution: Pick<ExecutionPlane, 'replaceCapabilities' | 'updateAccess'>
  devices: Pick<DevicePlane, 'resolveDevices' | 'replaceDevices'> & {
    bridge: { updateAccess(access: ReturnType<typeof deviceAccess>): void }
  }
  /** the state behind the node's descriptor */
  local: Pick<LocalState, 'replaceCapabilities'>
  /** changes the ttl of the node's descriptors */
  setTtl(ttlMs: number): void
  /** announces the node's descriptor again (its capabilities changed) */
  announce(): void
  /** the root logger, whose level every component logger follows */
  logger: { level: string }
}

/**
 * Applies `next` over `running`. Everything that can fail (reading scripts, compiling their schemas,
 * fitting devices to their profiles) happens before anything changes, so a failure leaves the node as it
 * was. Capabilities and devices count as applied also when only a script or a profile file changed.
 *
 * @example
 * const { config, result } = await applyLive(parts, node.config, await loadConfig(file))
 */
export async function applyLive(
  parts: LiveParts,
  running: Config,
  next: Config,
): Promise<{ config: Config; result: ReloadResult }> {
  const { applied, restartRequired } = classifyChanges(diffConfig(running, next))
  const specs = await parts.devices.resolveDevices(next)
  const caps = await parts.execution.replaceCapabilities(next.capabilities)
  const capsChanged = caps.added.length + caps.changed.length + caps.removed.length > 0
  parts.execution.updateAccess({
    pretrusted: next.trust.pretrusted,
    allowPeers: next.execution.allowPeers,
  })
  parts.devices.bridge.updateAccess(deviceAccess(next))
  // the ttl first: the descriptors signed for the new capabilities and devices then carry it
  if (next.discovery.ttl !== running.discovery.ttl) parts.setTtl(next.discovery.ttl)
  if (capsChanged) parts.local.replaceCapabilities?.(next.capabilities)
  const devices = await parts.devices.replaceDevices(specs)
  if (capsChanged) parts.announce()
  parts.logger.level = next.log.level
  const add = (path: string) => {
    if (!applied.includes(path)) applied.push(path)
  }
  if (capsChanged) add('capabilities')
  if (devices.added.length + devices.changed.length + devices.removed.length > 0) add('devices')
  return { config: effectiveConfig(running, next), result: { applied, restartRequired } }
}

/** The outcome of one reload. */
export type ReloadOutcome =
  | ({ ok: true } & ReloadResult)
  | {
      ok: false
      /** `FILE:LINE: path: message` for an invalid config, else what failed */
      problems: string[]
    }

/** Reloads so far and the last one's outcome: GET /v1/status shows it as `reload`. */
export interface ReloadStatus {
  reloads: number
  failed: number
  last?: ReloadOutcome & { at: number; reason: string }
}

/**
 * Runs reloads one at a time and keeps their {@link ReloadStatus}; logs one line per reload, plus a
 * warning naming the changes that wait for a restart.
 */
export class ConfigReloader {
  readonly #apply: (next: Config) => Promise<ReloadResult>
  readonly #log: Logger
  readonly #status: ReloadStatus = { reloads: 0, failed: 0 }
  #queue: Promise<unknown> = Promise.resolve()

  constructor(init: { apply: (next: Config) => Promise<ReloadResult>; log: Logger }) {
    this.#apply = init.apply
    this.#log = init.log
  }

  get status(): ReloadStatus {
    return structuredClone(this.#status)
  }

  /**
   * Loads the config with `load` and applies it; `reason` (`watch`, `SIGHUP`) goes into the log.
   *
   * @example
   * await reloader.reload(() => loadConfig(file), 'SIGHUP')
   */
  reload(load: () => Promise<Config>, reason: string): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(load, reason))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #reload(load: () => Promise<Config>, reason: string): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome
    try {
      const result = await this.#apply(await load())
      outcome = { ok: true, ...result }
      this.#log.info({ reason, ...result }, 'config reloaded')
      if (result.restartRequired.length > 0)
        this.#log.warn(
          { restartRequired: result.restartRequired },
          'config changes that take effect only after a restart',
        )
    } catch (err) {
      const problems =
        err instanceof ConfigError ? err.problems.map(formatProblem) : [(err as Error).message ?? String(err)]
      outcome = { ok: false, problems }
      this.#log.error({ reason, problems }, 'config reload rejected: the running config stays in effect')
    }
    this.#status.reloads += 1
    if (!outcome.ok) this.#status.failed += 1
    this.#status.last = { ...outcome, at: Date.now(), reason }
    return outcome
  }
}
