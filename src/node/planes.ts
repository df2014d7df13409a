/**
 * Builds every plane of a node, each from the parts built before it, in the order data flows: devices and
 * the descriptor store first, then trust's reputation and evidence, discovery, the sandbox and the
 * requester's checks, and execution last. Nothing is patched after it is built; what a lower plane needs
 * from a higher one arrives as a function or an event on the bus.
 */
import type { Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { createDevices, type DevicePlane } from '../devices/plane.ts'
import { withDeviceCapabilities } from '../devices/device-capabilities.ts'
import type { LocalState } from '../discovery/local-state.ts'
import { createDescriptorStore, createDiscovery, type DiscoveryPlane } from '../discovery/plane.ts'
import { createVerifier } from '../discovery/verify.ts'
import { SchemaCompiler } from '../execution/io-schema.ts'
import { Checkpointer } from '../execution/checkpointer.ts'
import { createExecution, type ExecutionPlane, sandboxInitFromConfig } from '../execution/plane.ts'
import { CapabilityRegistry } from '../execution/registry.ts'
import { WorkerSandbox } from '../execution/sandbox/index.ts'
import { createScriptRunner } from '../execution/script-runner.ts'
import type { Database } from '../store/database.ts'
import type { CanaryBook } from '../trust/canary.ts'
import { createEvidenceProvider, type EvidenceProvider } from '../trust/evidence/index.ts'
import { WriteQueue } from '../store/write-queue.ts'
import { createReputation, type Reputation } from '../trust/reputation/index.ts'
import { evidenceProducer, localReplay } from '../trust/task-evidence.ts'
import { createVerification } from '../trust/verification.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import type { NodeBus } from './events.ts'

/** What every plane is built over: made by `createNode` before the planes. */
export interface NodeBase {
  config: Config
  identity: Identity
  host: KithLibp2p
  db: Database
  logger: Logger
  events: NodeBus
  /** the node's state and configured capabilities (the sampler's, or a test's) */
  local: LocalState
  /** the config in effect now: reloads change it, and trust reads it on every task */
  current(): Config
}

/** The planes of a running node. */
export interface Planes {
  devices: DevicePlane
  /** the local state with the devices' capabilities added: what the descriptor offers */
  local: LocalState
  /** Tier 1: multi-topic reputation, folded into the matcher's ranking and fed by delegation outcomes */
  reputation: Reputation
  /** Tier 3: receipts and TPM quotes for the tasks this node runs for others */
  evidence: EvidenceProvider
  discovery: DiscoveryPlane
  sandbox: WorkerSandbox
  /** canaries known to this node (Tier 2), shown by the metrics */
  canaries: CanaryBook
  execution: ExecutionPlane
  /** CPU time of every script the sandbox ran, ms (GET /metrics) */
  sandboxCpuMs(): number
}

/**
 * @example
 * const planes = buildPlanes({ config, identity, host, db, logger, events, local, current: () => config })
 */
export function buildPlanes(base: NodeBase): Planes {
  const { config, identity, host, db, logger, events } = base
  const self = host.peerId.toString()
  const verify = createVerifier()
  const devices = createDevices({ config, peerId: self, schemas: new SchemaCompiler(), logger, events })
  const local = withDeviceCapabilities(base.local, devices.bridge, events)
  const store = createDescriptorStore(config, events)
  // one write queue for the database: every plane's deferred writes share its group commits, and each commit
  // keeps the WAL checkpoint thread (started and stopped with the execution plane) from ending
  const storeLog = componentLogger(logger, 'kith:store')
  const checkpointer = new Checkpointer(db, config.paths.database, { log: storeLog })
  const writes = new WriteQueue(db, { log: storeLog, onCommit: () => checkpointer.touch() })
  const reputation = createReputation({
    config,
    identity,
    db,
    writes,
    logger,
    libp2p: host,
    verify,
    events,
    // opinions only from peers with a live descriptor; the pre-trusted list follows config reloads
    known: (peer) => store.get(peer) !== undefined,
    pretrusted: () => base.current().trust.pretrusted,
  })
  const evidenceLog = componentLogger(logger, 'kith:trust:evidence')
  const evidence = createEvidenceProvider({
    config,
    identity,
    dataDir: config.paths.dataDir,
    logger: evidenceLog,
  })
  const discovery = createDiscovery({
    config,
    identity,
    host,
    db,
    logger,
    local,
    verify,
    events,
    store,
    trustOf: reputation.trustOf,
    attest: () => evidence.describe(),
  })
  const sandbox = new WorkerSandbox({
    ...sandboxInitFromConfig(config),
    logger: componentLogger(logger, 'kith:execution:sandbox'),
  })
  // the registry comes before both of its readers: the requester's replays and the execution plane
  const registry = new CapabilityRegistry({ events })
  const verification = createVerification({
    trust: () => base.current().trust,
    descriptorOf: (peer) => store.get(peer)?.descriptor,
    replayLocally: localReplay(registry, self),
    verify,
    standing: reputation.standing,
  })
  const scripts = createScriptRunner({ sandbox, readSensor: (id) => devices.bridge.read(id) })
  const execution = createExecution({
    config,
    identity,
    host,
    db,
    writes,
    checkpointer,
    logger,
    events,
    registry,
    discovery,
    verify,
    runScript: scripts.run,
    load: () => local.state().load,
    recordOutcome: (outcome) => reputation.recordOutcome(outcome),
    verification,
    produceEvidence: evidenceProducer(evidence, evidenceLog),
    canQuote: () => evidence.describe().tpm,
    trustOf: reputation.trustOf,
  })
  return {
    devices,
    local,
    reputation,
    evidence,
    discovery,
    sandbox,
    canaries: verification.book,
    execution,
    sandboxCpuMs: scripts.cpuMs,
  }
}
