/**
 * The composition root: builds every plane from a validated config and runs them under one start/stop
 * lifecycle. Nothing else constructs planes; nothing here holds module-level state.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Connection, PeerId } from '@libp2p/interface'
import type { NodeStatus } from '../api/routes.ts'
import { type Config, parseHostPort } from '../config/index.ts'
import { createHost, type KithLibp2p, mdnsEnabled } from '../connectivity/host.ts'
import { type Identity, loadIdentity } from '../connectivity/identity.ts'
import { PeerKeeper } from '../connectivity/peer-keeper.ts'
import { PeerNames } from '../connectivity/peer-names.ts'
import { StateSampler } from '../discovery/sampler.ts'
import { SystemStateSource } from '../discovery/system-source.ts'
import { createVerifier } from '../discovery/verify.ts'
import { TaskFailure } from '../execution/registry.ts'
import { type HostFunction, WorkerSandbox } from '../execution/sandbox/index.ts'
import { type Database, openDatabase } from '../store/database.ts'
import { PeerCache } from '../store/peer-cache.ts'
import { createEvidenceProvider, type EvidenceProvider } from '../trust/evidence/index.ts'
import { createReputation, type Reputation } from '../trust/reputation/index.ts'
import { createVerification } from '../trust/verification.ts'
import type { DeviceBridge } from '../devices/bridge.ts'
import { SchemaCompiler } from '../execution/io-schema.ts'
import { EventBus } from '../util/event-bus.ts'
import { Lifecycle } from '../util/lifecycle.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { VERSION } from '../version.ts'
import { buildNodeApi, type NodeApi } from './api.ts'
import type { NodeBus } from './events.ts'
import { buildDiscovery, type DiscoveryPlane, type LocalState, SampledLocalState } from './discovery.ts'
import { buildDevices, type DevicePlane, syncDeviceCapabilities, withDeviceCapabilities } from './devices.ts'
import { buildExecution, type ExecutionPlane, sandboxInitFromConfig } from './execution.ts'
import {
  applyLive,
  ConfigReloader,
  type ReloadOutcome,
  type ReloadResult,
  type ReloadStatus,
} from './reload.ts'
import { startFailure } from './start-error.ts'
import { evidenceProducer, localReplay } from './trust.ts'

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
  readonly #log: Logger
  readonly #root: Logger
  readonly #local: LocalState
  readonly #reloader: ConfigReloader
  #stopping = false
  readonly #keeper: PeerKeeper
  readonly #names: PeerNames
  readonly #api: NodeApi
  readonly discovery: DiscoveryPlane
  /** Tier 1: multi-topic reputation, folded into the matcher's ranking and fed by delegation outcomes */
  readonly reputation: Reputation
  /** Tier 3: receipts and TPM quotes for the tasks this node runs for others */
  readonly evidence: EvidenceProvider
  readonly execution: ExecutionPlane
  readonly devices: DevicePlane
  readonly #beforeStop: Array<() => Promise<void>> = []
  readonly #sandbox: WorkerSandbox
  /** CPU time of every script the sandbox ran, ms (GET /metrics) */
  #sandboxCpuMs = 0
  #startedAt = 0
  /** cached peers handed to libp2p at start (the "node started" line) */
  #seeded = 0
  readonly #lifecycle: Lifecycle
  /** the API's URL once started */
  apiUrl = ''
  readonly #events: NodeBus
  readonly #onOpen = (evt: CustomEvent<Connection>) =>
    this.#events.emit('connection', { type: 'open', peer: evt.detail.remotePeer.toString() })
  readonly #onClose = (evt: CustomEvent<Connection>) =>
    this.#events.emit('connection', { type: 'close', peer: evt.detail.remotePeer.toString() })
  readonly #onConnect = (evt: CustomEvent<PeerId>) =>
    this.#log.info({ peer: evt.detail.toString() }, 'peer connected')
  readonly #onDisconnect = (evt: CustomEvent<PeerId>) =>
    this.#log.info({ peer: evt.detail.toString() }, 'peer disconnected')

  constructor(parts: {
    config: Config
    identity: Identity
    host: KithLibp2p
    db: Database
    logger: Logger
    local: LocalState
    events: NodeBus
  }) {
    this.#events = parts.events
    this.#config = parts.config
    this.#root = parts.logger
    this.identity = parts.identity
    this.host = parts.host
    this.db = parts.db
    const verify = createVerifier()
    const schemas = new SchemaCompiler()
    this.devices = buildDevices({
      config: parts.config,
      peerId: parts.host.peerId.toString(),
      schemas,
      logger: parts.logger,
      events: parts.events,
    })
    const local = withDeviceCapabilities(parts.local, this.devices.bridge, parts.events)
    this.#local = local
    this.reputation = createReputation({
      ...parts,
      libp2p: parts.host,
      verify,
      // opinions only from peers with a live descriptor; the pre-trusted list follows config reloads
      known: (peer) => this.discovery.store.get(peer) !== undefined,
      pretrusted: () => this.#config.trust.pretrusted,
      events: parts.events,
    })
    this.evidence = createEvidenceProvider({
      config: parts.config,
      identity: parts.identity,
      dataDir: parts.config.paths.dataDir,
      logger: componentLogger(parts.logger, 'kith:trust:evidence'),
    })
    this.discovery = buildDiscovery({
      ...parts,
      local,
      verify,
      trustOf: this.reputation.trustOf,
      attest: () => this.evidence.describe(),
      events: parts.events,
    })
    // each task on a worker thread: a CPU-bound script cannot stall this thread (gossip, API, other tasks)
    this.#sandbox = new WorkerSandbox({
      ...sandboxInitFromConfig(parts.config),
      logger: componentLogger(parts.logger, 'kith:execution:sandbox'),
    })
    const verification = createVerification({
      trust: () => this.#config.trust,
      descriptorOf: (peer) => this.discovery.store.get(peer)?.descriptor,
      replayLocally: localReplay(() => this.execution.registry, parts.host.peerId.toString()),
      verify,
      standing: this.reputation.standing,
    })
    this.execution = buildExecution({
      ...parts,
      verify,
      discovery: this.discovery,
      recordOutcome: (outcome) => this.reputation.recordOutcome(outcome),
      verification,
      produceEvidence: evidenceProducer(this.evidence, componentLogger(parts.logger, 'kith:trust:evidence')),
      canQuote: () => this.evidence.describe().tpm,
      trustOf: this.reputation.trustOf,
      load: () => local.state().load,
      events: parts.events,
      runScript: async ({ sensors, ...job }) => {
        const result = await this.#sandbox.run(
          sensors != null && sensors.length > 0
            ? { ...job, grants: sensorGrants(sensors, this.devices.bridge) }
            : job,
        )
        this.#sandboxCpuMs += result.cpuMs
        if (result.ok) return result.output
        throw new TaskFailure(result.error.code, result.error.message)
      },
    })
    this.#log = componentLogger(parts.logger, 'kith:node')
    this.#reloader = new ConfigReloader({
      apply: (next) => this.applyConfig(next),
      log: componentLogger(parts.logger, 'kith:node:reload'),
    })
    const cache = new PeerCache(parts.db, parts.config.network.peerCacheSize)
    this.#keeper = new PeerKeeper(
      parts.host,
      cache,
      componentLogger(parts.logger, 'kith:connectivity:peer-keeper'),
      {
        maxRedial: Math.max(1, Math.floor(parts.config.network.maxConnections / 2)),
      },
    )
    this.#names = new PeerNames(parts.host)
    this.#api = buildNodeApi({
      ...parts,
      names: this.#names,
      discovery: this.discovery,
      execution: this.execution,
      devices: this.devices,
      reputation: this.reputation,
      sandbox: this.#sandbox,
      canaries: verification.book,
      local,
      status: () => this.status(),
      sandboxCpuMs: () => this.#sandboxCpuMs,
      current: () => this.config,
      apiUrl: () => this.apiUrl,
      events: parts.events,
    })
    this.#lifecycle = this.#parts()
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
        local: this.#local,
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

  status(): NodeStatus & { reload: ReloadStatus } {
    return {
      peerId: this.host.peerId.toString(),
      ...(this.config.name != null ? { name: this.config.name } : {}),
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

  async start(): Promise<ReadyInfo> {
    try {
      await this.#lifecycle.start()
    } catch (err) {
      // the lifecycle has stopped what had started, logging the clean-up's failures at debug: the cause
      // (often a port in use) is what the caller sees
      throw startFailure(err)
    }
    this.#startedAt = Date.now()
    const api = this.apiUrl
    const listen = this.host.getMultiaddrs().map(String)
    this.#log.info(
      { peerId: this.host.peerId.toString(), listen, api, cachedPeers: this.#seeded },
      'node started',
    )
    return { event: 'ready', peerId: this.host.peerId.toString(), api, listen }
  }

  /** Runs `task` first when the node stops (e.g. the CLI's demo devices). */
  onStop(task: () => Promise<void>): void {
    this.#beforeStop.push(task)
  }

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
  #parts(): Lifecycle {
    const life = new Lifecycle({ log: this.#log })
    life.add('database', { stop: () => (this.db.isOpen ? this.db.close() : undefined) })
    life.add('peer-keeper', {
      // before the host starts, so libp2p's reconnect queue sees the cached peers
      start: async () => {
        this.#seeded = await this.#keeper.seed()
        this.#keeper.start()
      },
      stop: () => this.#keeper.stop(),
    })
    life.add('peer-names', this.#names)
    life.add('connection-log', {
      start: () => {
        this.host.addEventListener('peer:connect', this.#onConnect)
        this.host.addEventListener('peer:disconnect', this.#onDisconnect)
        this.host.addEventListener('connection:open', this.#onOpen)
        this.host.addEventListener('connection:close', this.#onClose)
      },
      stop: () => {
        this.host.removeEventListener('peer:connect', this.#onConnect)
        this.host.removeEventListener('peer:disconnect', this.#onDisconnect)
        this.host.removeEventListener('connection:open', this.#onOpen)
        this.host.removeEventListener('connection:close', this.#onClose)
      },
    })
    life.add('host', this.host)
    // before the first descriptor: it carries the attestation key
    life.add('evidence', this.evidence)
    life.add('discovery', this.discovery)
    life.add('reputation', this.reputation)
    life.add('sandbox', this.#sandbox)
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
        this.apiUrl = await this.#listenApi()
      },
      stop: () => this.#api.close(),
    })
    return life
  }

  async #listenApi(): Promise<string> {
    const bind = parseHostPort(this.config.api.listen)
    if (bind == null) throw new Error(`api.listen: ${this.config.api.listen} is not HOST:PORT`)
    this.#api.server.listen(bind.port, bind.host)
    try {
      await once(this.#api.server, 'listening')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new Error(
        code === 'EADDRINUSE'
          ? `api.listen: ${this.config.api.listen} is in use (is another kith node running? set api.listen to ` +
              'another port)'
          : `api.listen: cannot listen on ${this.config.api.listen}: ${code ?? err}`,
        { cause: err },
      )
    }
    const { address, port } = this.#api.server.address() as AddressInfo
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`
  }
}

/**
 * Builds a node from a validated config: loads the identity, opens the database, creates the host.
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
    const samplerLog = componentLogger(logger, 'kith:discovery:sampler')
    // the scheduler is built with the node, after the sampler that reports its queue length
    const queue = { size: () => 0 }
    const local =
      overrides.local ??
      new SampledLocalState(
        new StateSampler(new SystemStateSource({ log: samplerLog }), {
          queue: () => queue.size(),
          intervalMs: config.discovery.sampleInterval,
          log: samplerLog,
          events,
        }),
        config.capabilities,
      )
    const node = new KithNode({ config, identity, host, db, logger, local, events })
    queue.size = () => node.execution.scheduler.size
    return node
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * The host function a script capability gets for the sensors its config lists: `device.read(id)` returns
 * `{value, at, ageMs}` (null before the first reading or while the device is offline); any other id is
 * refused, so a script reads only what it was granted.
 */
function sensorGrants(sensors: readonly string[], bridge: DeviceBridge): Record<string, HostFunction> {
  return {
    'device.read': ([id]) => {
      if (typeof id !== 'string' || !sensors.includes(id))
        throw new Error(`not granted: device.read(${JSON.stringify(id)})`)
      return bridge.read(id) ?? null
    },
  }
}
