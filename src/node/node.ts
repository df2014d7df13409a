/**
 * The composition root: builds every plane from a validated config (planes.ts), registers each part that
 * runs with one lifecycle in the order it depends on the others, and exposes what the CLI and the tests
 * use. Nothing else constructs planes; nothing here holds module-level state.
 */
import type { NodeStatus } from '../api/routes.ts'
import type { Config } from '../config/index.ts'
import { createHost, type KithLibp2p, mdnsEnabled } from '../connectivity/host.ts'
import { type Identity, loadIdentity } from '../connectivity/identity.ts'
import { PeerKeeper } from '../connectivity/peer-keeper.ts'
import { PeerNames } from '../connectivity/peer-names.ts'
import type { DevicePlane } from '../devices/plane.ts'
import { syncDeviceCapabilities } from '../devices/device-capabilities.ts'
import { type LocalState, SampledLocalState } from '../discovery/local-state.ts'
import type { DiscoveryPlane } from '../discovery/plane.ts'
import { StateSampler } from '../discovery/sampler.ts'
import { SystemStateSource } from '../discovery/system-source.ts'
import type { ExecutionPlane } from '../execution/plane.ts'
import { type Database, openDatabase } from '../store/database.ts'
import { PeerCache } from '../store/peer-cache.ts'
import type { EvidenceProvider } from '../trust/evidence/index.ts'
import type { Reputation } from '../trust/reputation/index.ts'
import { EventBus } from '../util/event-bus.ts'
import { Lifecycle } from '../util/lifecycle.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { VERSION } from '../version.ts'
import { buildNodeApi, type NodeApi } from './api.ts'
import { connectionEvents } from './connection-events.ts'
import type { NodeBus } from './events.ts'
import { buildPlanes, type NodeBase, type Planes } from './planes.ts'
import {
  applyLive,
  ConfigReloader,
  type ReloadOutcome,
  type ReloadResult,
  type ReloadStatus,
} from './reload.ts'
import { startFailure } from './start-error.ts'

/** What `kith start` prints on stdout once the node is up. */
export interface ReadyInfo {
  event: 'ready'
  peerId: string
  api: string
  listen: string[]
}

export class KithNode {
  #config: Config
  readonly identity: Identity
  readonly host: KithLibp2p
  readonly db: Database
  readonly discovery: DiscoveryPlane
  /** Tier 1: multi-topic reputation, folded into the matcher's ranking and fed by delegation outcomes */
  readonly reputation: Reputation
  /** Tier 3: receipts and TPM quotes for the tasks this node runs for others */
  readonly evidence: EvidenceProvider
  readonly execution: ExecutionPlane
  readonly devices: DevicePlane
  /** the API's URL once started */
  apiUrl = ''
  readonly #root: Logger
  readonly #log: Logger
  readonly #events: NodeBus
  readonly #planes: Planes
  readonly #api: NodeApi
  readonly #reloader: ConfigReloader
  readonly #lifecycle: Lifecycle
  readonly #beforeStop: Array<() => Promise<void>> = []
  #stopping = false
  #startedAt = 0
  /** cached peers handed to libp2p at start (the "node started" line) */
  #seeded = 0

  constructor(base: Omit<NodeBase, 'current'>) {
    this.#config = base.config
    this.#root = base.logger
    this.#log = componentLogger(base.logger, 'kith:node')
    this.#events = base.events
    this.identity = base.identity
    this.host = base.host
    this.db = base.db
    const planes = buildPlanes({ ...base, current: () => this.#config })
    this.#planes = planes
    ;({
      discovery: this.discovery,
      reputation: this.reputation,
      evidence: this.evidence,
      execution: this.execution,
      devices: this.devices,
    } = planes)
    this.#reloader = new ConfigReloader({
      apply: (next) => this.applyConfig(next),
      log: componentLogger(base.logger, 'kith:node:reload'),
    })
    const names = new PeerNames(base.host)
    this.#api = buildNodeApi({
      ...base,
      ...planes,
      names,
      status: () => this.status(),
      current: () => this.#config,
      apiUrl: () => this.apiUrl,
    })
    this.#lifecycle = this.#parts(names)
  }

  /** The config in effect: as loaded at start, with the changes applied live since (see {@link applyConfig}). */
  get config(): Config {
    return this.#config
  }

  /**
   * Applies a new config to the running node: capabilities, devices, discovery ttl, trust lists and log
   * level change at once; every other changed path is returned as needing a restart, its old value staying
   * in effect. Throws, changing nothing, when a script or device of `next` cannot be loaded.
   *
   * @example
   * const { applied, restartRequired } = await node.applyConfig(await loadConfig(file))
   */
  async applyConfig(next: Config): Promise<ReloadResult> {
    const { config, result } = await applyLive(
      {
        execution: this.execution,
        devices: this.devices,
        local: this.#planes.local,
        setTtl: (ttlMs) => this.discovery.setTtl(ttlMs),
        // nobody awaits a reload's announce: a failure is logged, not left to end the node
        announce: () => {
          this.discovery.announce().catch((err: unknown) => {
            this.#log.error({ err }, 'announce after a reload failed')
          })
        },
        logger: this.#root,
      },
      this.#config,
      next,
    )
    this.#config = config
    return result
  }

  /**
   * Loads a config with `load` and applies it, one reload at a time; an invalid config is logged with
   * every problem and the running one stays. The outcome also shows in GET /v1/status as `reload`.
   *
   * @example
   * await node.reload(() => loadConfig(file), 'SIGHUP')
   */
  reload(load: () => Promise<Config>, reason: string): Promise<ReloadOutcome> {
    if (this.#stopping) return Promise.resolve({ ok: false, problems: ['the node is stopping'] })
    // GET /v1/status shows the reload count and the name: its event stream hears of every reload
    return this.#reloader
      .reload(load, reason)
      .finally(() => this.#events.emit('status', { reason: 'reload' }))
  }

  /** What `GET /v1/status` shows: identity, uptime, addresses, connections, the clock and the last reload. */
  status(): NodeStatus & { reload: ReloadStatus } {
    return {
      peerId: this.host.peerId.toString(),
      ...(this.config.name != null ? { name: this.config.name } : {}),
      ...(this.config.owner != null ? { owner: this.config.owner } : {}),
      version: VERSION,
      startedAt: this.#startedAt,
      uptimeMs: this.#startedAt > 0 ? Date.now() - this.#startedAt : 0,
      listen: this.host.getMultiaddrs().map(String),
      connections: this.host.getConnections().length,
      mdns: mdnsEnabled(this.config.network),
      dht: this.config.network.dht,
      clock: this.discovery.clock.estimate(),
      reload: this.#reloader.status,
    }
  }

  /** Starts every part in order; on a failure, stops what started and throws why, in one line. */
  async start(): Promise<ReadyInfo> {
    try {
      await this.#lifecycle.start()
    } catch (err) {
      // the lifecycle has stopped what had started, logging the clean-up's failures at debug: the cause
      // (often a port in use) is what the caller sees
      throw startFailure(err)
    }
    this.#startedAt = Date.now()
    const peerId = this.host.peerId.toString()
    const listen = this.host.getMultiaddrs().map(String)
    this.#log.info({ peerId, listen, api: this.apiUrl, cachedPeers: this.#seeded }, 'node started')
    return { event: 'ready', peerId, api: this.apiUrl, listen }
  }

  /** Runs `task` first when the node stops (e.g. the CLI's demo devices). */
  onStop(task: () => Promise<void>): void {
    this.#beforeStop.push(task)
  }

  /** Runs the `onStop` tasks, then stops every part in reverse order of start, each even when one fails. */
  async stop(): Promise<void> {
    this.#stopping = true
    for (const task of this.#beforeStop.splice(0))
      // one task failing (a demo device that will not stop) must not keep the node from stopping
      await task().catch((err: unknown) =>
        this.#log.warn({ err }, 'a task run before the node stops failed; stopping the node anyway'),
      )
    await this.#lifecycle.stop()
    this.#log.info('node stopped')
  }

  /**
   * Every part that runs, in the order it starts: each after the parts it uses; a stop runs in reverse, so
   * the API closes first and the database last.
   */
  #parts(names: PeerNames): Lifecycle {
    const { host, db } = this
    const life = new Lifecycle({ log: this.#log })
    life.add('database', { stop: () => (db.isOpen ? db.close() : undefined) })
    const keeper = new PeerKeeper(
      host,
      new PeerCache(db, this.#config.network.peerCacheSize),
      componentLogger(this.#root, 'kith:connectivity:peer-keeper'),
      { maxRedial: Math.max(1, Math.floor(this.#config.network.maxConnections / 2)) },
    )
    life.add('peer-keeper', {
      // before the host starts, so libp2p's reconnect queue sees the cached peers
      start: async () => {
        this.#seeded = await keeper.seed()
        keeper.start()
      },
      stop: () => keeper.stop(),
    })
    life.add('peer-names', names)
    life.add('connection-events', connectionEvents(host, this.#events, this.#log))
    life.add('host', host)
    // before the first descriptor: it carries the attestation key
    life.add('evidence', this.evidence)
    life.add('discovery', this.discovery)
    life.add('reputation', this.reputation)
    life.add('sandbox', this.#planes.sandbox)
    life.add('execution', this.execution)
    life.add('devices', this.devices)
    let offDevices: (() => void) | undefined
    life.add('device-capabilities', {
      start: () => {
        offDevices = syncDeviceCapabilities(this.execution.registry, this.devices.bridge, this.#events)
      },
      stop: () => offDevices?.(),
    })
    life.add('api', {
      start: async () => {
        this.apiUrl = await this.#api.listen(this.#config.api.listen)
      },
      stop: () => this.#api.close(),
    })
    return life
  }
}

/**
 * Builds a node from a validated config: loads the identity, opens the database, creates the host and the
 * event bus, and samples the machine's state (unless `overrides.local` stands in for it).
 *
 * @example
 * const node = await createNode(await loadConfig('.kith/kith.yaml'), createLogger('info'))
 * const ready = await node.start()
 */
export async function createNode(
  config: Config,
  logger: Logger,
  overrides: { local?: LocalState } = {},
): Promise<KithNode> {
  const identity = await loadIdentity(config.paths.identity)
  const db = openDatabase(config.paths.database)
  try {
    const host = await createHost(config.network, identity, { name: config.name })
    const events: NodeBus = new EventBus({ log: componentLogger(logger, 'kith:node:events') })
    // the descriptor advertises the task queue: the scheduler, built later with the planes, publishes its size
    let queued = 0
    events.on('queue', ({ size }) => (queued = size))
    const samplerLog = componentLogger(logger, 'kith:discovery:sampler')
    const local =
      overrides.local ??
      new SampledLocalState(
        new StateSampler(new SystemStateSource({ log: samplerLog }), {
          queue: () => queued,
          intervalMs: config.discovery.sampleInterval,
          log: samplerLog,
          events,
        }),
        config.capabilities,
      )
    return new KithNode({ config, identity, host, db, logger, local, events })
  } catch (err) {
    db.close()
    throw err
  }
}
