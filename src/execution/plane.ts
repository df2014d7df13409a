/**
 * The execution plane, assembled: the scheduler, the task journal, the cooperation rules (contract policy
 * and reciprocity), the task protocol on both sides (serve.ts), the script capabilities and delegation.
 * What it needs of the trust plane (outcomes, verification, evidence) comes in as functions.
 */
import { randomUUID } from 'node:crypto'
import type { CapabilityConfig, Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import type { Capability, SignatureVerifier } from '../discovery/descriptor.ts'
import type { DiscoveryPlane } from '../discovery/plane.ts'
import type { Database } from '../store/database.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import type { Checkpointer } from './checkpointer.ts'
import { ContractPolicy, contractInitFromConfig } from './contracts.ts'
import {
  delegate,
  type DelegateRequest,
  type DelegateResult,
  type TaskOutcome,
  type Verification,
} from './delegate.ts'
import type { ExecutionEvents } from './events.ts'
import { Journal } from './journal.ts'
import { type Candidate, ProviderIndex } from './providers.ts'
import { RecentResults } from './recent-results.ts'
import { Reciprocity } from './reciprocity.ts'
import type { CapabilityRegistry, ScriptRunner } from './registry.ts'
import { SCHEDULER_DEFAULTS, Scheduler } from './scheduler.ts'
import { type CapabilityChanges, scriptCapabilities } from './script-capabilities.ts'
import { createTaskPipeline, type EvidenceMaker, hashValue } from './serve.ts'
import { TaskClient } from './task-client.ts'
import { TaskCounts } from './task-counts.ts'
import { TaskServer } from './task-server.ts'
import type { WriteQueue } from '../store/write-queue.ts'

export type { CapabilityChanges } from './script-capabilities.ts'
export { sandboxInitFromConfig } from './script-capabilities.ts'
export type { EvidenceFields } from './serve.ts'

export interface ExecutionPlane {
  registry: CapabilityRegistry
  scheduler: Scheduler
  journal: Journal
  /** tasks ended, by direction, status and tier (the metrics) */
  tasks: TaskCounts
  /** what the recent delegations' results said: provider, tier, checks (the journal keeps only the status) */
  results: RecentResults
  /**
   * task-protocol requests and streams refused before any task ran (malformed, forged, expired, replayed,
   * too many streams…), by reason: they never reach the journal or {@link tasks}
   */
  refused(): Readonly<Record<string, number>>
  /**
   * Makes the script capabilities `caps` (at start, and on a config reload): reads every script and
   * compiles every schema first, throwing before anything changes when one fails; then registers the new
   * and changed ones (a script whose source changed counts as changed) and drops those no longer listed.
   */
  replaceCapabilities(caps: readonly CapabilityConfig[]): Promise<CapabilityChanges>
  /** who may delegate here (`execution.allowPeers`) and who is household (`trust.pretrusted`), from now on */
  updateAccess(access: { pretrusted: readonly string[]; allowPeers?: readonly string[] | undefined }): void
  /** runs a task somewhere in the network (here when this node is the best candidate), with fallback */
  delegate(
    request: Omit<DelegateRequest, 'timeoutMs'> & { timeoutMs?: number },
  ): Promise<DelegateResult & { id: string }>
  start(): Promise<void>
  stop(): Promise<void>
}

/** What the execution plane is built over. */
export interface ExecutionComponents {
  config: Pick<Config, 'execution' | 'capabilities' | 'paths' | 'trust'>
  identity: Pick<Identity, 'sign'>
  host: KithLibp2p
  db: Database
  /** the database's one write queue, shared with the other planes */
  writes: WriteQueue
  /** the WAL checkpoint thread that `writes` keeps awake; started and stopped with this plane */
  checkpointer: Checkpointer
  logger: Logger
  events: Events<ExecutionEvents>
  /** this node's capabilities; built before the plane, since the trust plane's replays read it too */
  registry: CapabilityRegistry
  discovery: Pick<DiscoveryPlane, 'store' | 'index' | 'clock'>
  verify: SignatureVerifier
  runScript: ScriptRunner
  /** this node's load (the sampler's), for shedding */
  load: () => number
  /** told what every delegation attempt showed about its provider (the trust plane's records) */
  recordOutcome?: (outcome: TaskOutcome) => void
  /** the trust plane's tiered checks of the answers this node gets (requester side) */
  verification?: Verification
  /** the evidence package (encoded) for a task this node ran for another, when its request asks for one */
  produceEvidence?: EvidenceMaker
  /** whether this node can add a TPM quote to its evidence now */
  canQuote?: () => boolean
  /** the trust plane's score of a provider, folded into the order candidates are tried in */
  trustOf?: (peer: string, capability: Capability) => number
}

/**
 * Builds the execution plane; `start()` recovers the journal, registers the script capabilities and
 * opens the task protocol.
 *
 * @example
 * const execution = createExecution({ config, identity, host, db, logger, events, registry, discovery, verify, runScript, load })
 */
export function createExecution(parts: ExecutionComponents): ExecutionPlane {
  const { config, host, writes, checkpointer } = parts
  const log = componentLogger(parts.logger, 'kith:execution')
  const { registry } = parts
  // one group commit for the journal and the ledger: a task's only write on its critical path is its row
  const journal = new Journal(parts.db, { writes, events: parts.events })
  const reciprocity = new Reciprocity(parts.db, { writes })
  const scheduler = new Scheduler({
    ...(config.execution.maxConcurrent != null ? { maxConcurrent: config.execution.maxConcurrent } : {}),
    maxQueue: config.execution.maxQueue,
    load: parts.load,
    log: componentLogger(parts.logger, 'kith:execution:scheduler'),
    events: parts.events,
  })
  const policy = new ContractPolicy({
    ...contractInitFromConfig(config),
    ...(parts.canQuote !== undefined ? { evidence: { tpm: parts.canQuote } } : {}),
    balance: (peer) => reciprocity.balance(peer),
    loaded: () => scheduler.queued > 0 && parts.load() > SCHEDULER_DEFAULTS.loadShedAt,
  })

  const { runHere, serve } = createTaskPipeline({
    registry,
    scheduler,
    journal,
    policy,
    reciprocity,
    log,
    produceEvidence: parts.produceEvidence,
  })

  // a requester may have as many tasks in flight on its stream as the cooperation rules could let through;
  // the rules, not the stream, decide who gets `busy`
  const tasks = new TaskCounts()
  const results = new RecentResults()
  const counted: typeof serve = async (req, signal, authenticate) => {
    const outcome = await serve(req, signal, authenticate)
    tasks.add('in', outcome.status, req.evidence === 'none' ? 'unknown' : 3)
    return outcome
  }
  const server = new TaskServer(
    host,
    counted,
    parts.verify,
    componentLogger(parts.logger, 'kith:execution:server'),
    {
      maxInflightPerStream: Math.max(64, config.execution.perPeer.maxConcurrent + config.execution.maxQueue),
      clockOf: (peer) => parts.discovery.clock.of(peer),
    },
  )
  const client = new TaskClient(
    host,
    parts.identity.sign,
    parts.verify,
    componentLogger(parts.logger, 'kith:execution:client'),
    (peer) => parts.discovery.store.get(peer)?.descriptor.addrs ?? [],
  )
  const self = host.peerId.toString()
  const providers = new ProviderIndex(parts.discovery.store, self, parts.trustOf)

  const replaceCapabilities = scriptCapabilities(registry, parts.runScript)

  return {
    registry,
    scheduler,
    journal,
    tasks,
    results,
    refused: () => server.counters.rejected,
    replaceCapabilities,
    updateAccess: (access) => policy.updateAccess(access),
    async delegate(request) {
      const id = randomUUID()
      const timeoutMs = Math.min(
        request.timeoutMs ?? config.execution.taskTimeout,
        config.execution.maxTaskTimeout,
      )
      const cap = 'capability' in request.target ? request.target.capability : '(intent)'
      journal.recordStarted({
        id,
        direction: 'out',
        peer: self,
        cap,
        deadline: Date.now() + timeoutMs,
        inputHash: hashValue(request.input),
      })
      const result = await delegate(
        {
          providers: { of: (capId) => withLocalCandidate(providers.of(capId), registry, capId, self) },
          index: parts.discovery.index,
          client,
          runLocal: (capId, input, ms, signal) =>
            runHere(
              { id: randomUUID(), direction: 'in', peer: self, cap: capId, deadline: Date.now() + ms },
              input,
              1_000,
              signal,
            ),
          ...(parts.recordOutcome !== undefined ? { recordOutcome: parts.recordOutcome } : {}),
          ...(parts.verification !== undefined ? { verification: parts.verification } : {}),
          newId: randomUUID,
        },
        { ...request, timeoutMs },
      )
      if (result.provider != null && !result.local && result.ok) reciprocity.recordServedUs(result.provider)
      const outcome = result.ok
        ? 'ok'
        : result.status === 'busy' || result.status === 'denied' || result.status === 'timeout'
          ? result.status
          : 'error'
      tasks.add('out', result.status, result.tier)
      results.add(id, result)
      journal.deferFinished(
        id,
        outcome,
        result.ok ? { outputHash: hashValue(result.output) } : { error: result.error?.message ?? '' },
      )
      return { id, ...result }
    },
    async start() {
      await checkpointer.start()
      const interrupted = journal.recover()
      if (interrupted.length > 0)
        log.warn(
          { tasks: interrupted.map((t) => t.id) },
          'tasks in flight at the last stop were marked interrupted',
        )
      await replaceCapabilities(config.capabilities)
      scheduler.start()
      providers.start()
      await server.start()
    },
    async stop() {
      await server.stop()
      await client.stop()
      await scheduler.stop()
      providers.stop()
      writes.flush()
      await checkpointer.stop()
    },
  }
}

/**
 * The providers the store knows, with this node first when its registry offers the capability but its own
 * descriptor does not list it yet (a device that came online a moment ago, before the re-announce).
 */
function withLocalCandidate(
  found: Candidate[],
  registry: CapabilityRegistry,
  capId: string,
  self: string,
): Candidate[] {
  if (found.some((c) => c.local)) return found
  const mine = registry.get(capId)
  return mine == null ? found : [{ peer: self, capability: mine.capability, local: true }, ...found]
}
