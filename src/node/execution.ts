/**
 * Wires the execution plane from the config: the capability registry, the scheduler, the task journal,
 * the cooperation rules (contract policy and reciprocity), the task protocol on both sides, and delegation.
 */
import { createHash, randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { CapabilityConfig, Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { type Capability, canonicalEncode, type SignatureVerifier } from '../discovery/descriptor.ts'
import { ContractPolicy, contractInitFromConfig } from '../execution/contracts.ts'
import {
  delegate,
  type DelegateRequest,
  type DelegateResult,
  type TaskOutcome,
  type Verification,
} from '../execution/delegate.ts'
import { Checkpointer } from '../execution/checkpointer.ts'
import { Journal, type NewTask, type RefusedStatus } from '../execution/journal.ts'
import { type Candidate, ProviderIndex } from '../execution/providers.ts'
import { Reciprocity } from '../execution/reciprocity.ts'
import {
  CapabilityRegistry,
  type LocalCapability,
  loadScriptCapability,
  type ScriptRunner,
  TaskFailure,
} from '../execution/registry.ts'
import type { WorkerSandboxInit } from '../execution/sandbox/index.ts'
import { BusyError, SCHEDULER_DEFAULTS, Scheduler, TimeoutError } from '../execution/scheduler.ts'
import { TaskClient } from '../execution/task-client.ts'
import { RecentResults } from '../execution/recent-results.ts'
import { TaskCounts } from '../execution/task-counts.ts'
import { TaskServer } from '../execution/task-server.ts'
import type { TaskReply, TaskRequest } from '../execution/task-wire.ts'
import { WriteQueue } from '../execution/write-queue.ts'
import type { Database } from '../store/database.ts'
import type { ExecutionEvents } from '../execution/events.ts'
import type { Events } from '../util/event-bus.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import type { DiscoveryPlane } from './discovery.ts'
import { toDescriptorCapability } from './discovery.ts'

type Outcome = Omit<TaskReply, 't' | 'id'>

/** What a forged request gets; the task server cuts its stream instead of sending it. */
const FORGED: Outcome = {
  status: 'denied',
  error: { code: 'bad_signature', message: 'the request is not signed by its sender' },
}

/** What a provider's evidence package is made of (the trust plane hashes and signs it). */
export interface EvidenceFields {
  task: string
  cap: string
  /** sha256 hex of the script's source, when the capability is a script */
  codeHash: string | undefined
  input: unknown
  output: unknown
  start: number
  end: number
  /** the request asked for a TPM quote */
  tpm: boolean
}

/** What a capability replacement did, by capability id. */
export interface CapabilityChanges {
  added: string[]
  changed: string[]
  removed: string[]
}

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

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const hash = (value: unknown) => sha256(canonicalEncode(value ?? null))

/**
 * The sandbox's settings from `execution.sandbox` (and, where that leaves them out, from the task limits
 * of `execution`: a script runs until its task's deadline, on as many workers as tasks run at once).
 *
 * @example
 * const sandbox = new WorkerSandbox({ ...sandboxInitFromConfig(config), logger })
 */
export function sandboxInitFromConfig(config: Pick<Config, 'execution' | 'capabilities'>): WorkerSandboxInit {
  const { execution } = config
  return {
    workers: execution.sandbox.workers ?? execution.maxConcurrent ?? availableParallelism(),
    // a node without script capabilities runs scripts rarely (replays, workflows): no worker waits for them
    warmWorkers: config.capabilities.some((c) => c.kind === 'script') ? execution.sandbox.warmWorkers : 0,
    idleTimeoutMs: execution.sandbox.idleTimeout,
    workerHeapMb: execution.sandbox.workerHeapMb,
    limits: {
      memoryBytes: execution.sandbox.memoryBytes,
      stackBytes: execution.sandbox.stackBytes,
      timeoutMs: execution.sandbox.timeoutMs ?? execution.maxTaskTimeout,
      maxInputBytes: execution.maxInputBytes,
      maxOutputBytes: execution.sandbox.maxOutputBytes,
    },
  }
}

export function buildExecution(parts: {
  config: Config
  identity: Identity
  host: KithLibp2p
  db: Database
  logger: Logger
  discovery: DiscoveryPlane
  verify: SignatureVerifier
  runScript: ScriptRunner
  load: () => number
  /** told what every delegation attempt showed about its provider (the trust plane's records) */
  recordOutcome?: (outcome: TaskOutcome) => void
  /** the trust plane's tiered checks of the answers this node gets (requester side) */
  verification?: Verification
  /**
   * The evidence package (encoded) for a task this node ran for another, when its request asks for one;
   * undefined when none can be made (provider side).
   */
  produceEvidence?: (fields: EvidenceFields) => Promise<Uint8Array | undefined>
  /** whether this node can add a TPM quote to its evidence now */
  canQuote?: () => boolean
  /** the trust plane's score of a provider, folded into the order candidates are tried in */
  trustOf?: (peer: string, capability: Capability) => number
  events: Events<ExecutionEvents>
}): ExecutionPlane {
  const { config, host } = parts
  const log = componentLogger(parts.logger, 'kith:execution')
  const registry = new CapabilityRegistry({ events: parts.events })
  // WAL checkpoints in a thread of their own, not inside a task's commit; it ends while no commits come
  const checkpointer = new Checkpointer(parts.db, config.paths.database, { log })
  // one group commit for the journal and the ledger: a task's only write on its critical path is its row
  const writes = new WriteQueue(parts.db, { log, onCommit: () => checkpointer.touch() })
  const journal = new Journal(parts.db, { writes, events: parts.events })
  const reciprocity = new Reciprocity(parts.db, { writes })
  const scheduler = new Scheduler({
    ...(config.execution.maxConcurrent != null ? { maxConcurrent: config.execution.maxConcurrent } : {}),
    maxQueue: config.execution.maxQueue,
    load: parts.load,
    log: componentLogger(parts.logger, 'kith:execution:scheduler'),
  })
  const policy = new ContractPolicy({
    ...contractInitFromConfig(config),
    ...(parts.canQuote !== undefined ? { evidence: { tpm: parts.canQuote } } : {}),
    balance: (peer) => reciprocity.balance(peer),
    loaded: () => scheduler.queued > 0 && parts.load() > SCHEDULER_DEFAULTS.loadShedAt,
  })

  /**
   * Runs a capability of ours through the scheduler and journals it. The task's row is committed before
   * the task can have any effect: before a capability's runner starts, or, for a script, right after its
   * job is handed to a sandbox worker. A script acts on nothing but through host calls, which this thread
   * answers only after the commit it is busy with, so the commit overlaps the script's run instead of
   * preceding it. A task that has to wait for a slot is committed before it waits. The request's signature
   * (`authenticate`, see TaskHandler) is checked the same way: before a runner starts, or while a script runs.
   */
  const runHere = async (
    task: NewTask,
    input: unknown,
    priority: number,
    signal?: AbortSignal,
    authenticate: () => boolean = () => true,
  ): Promise<Outcome> => {
    const local = registry.get(task.cap)
    if (local == null) {
      journal.deferRefused(task, 'denied', 'unknown capability')
      return {
        status: 'denied',
        error: { code: 'unknown_capability', message: `this node does not offer ${task.cap}` },
      }
    }
    // refused before it takes a slot: the capability's input schema, compiled once at registration
    const badInput = local.checkInput?.(input)
    if (badInput !== undefined) {
      journal.deferRefused(task, 'error', badInput)
      return { status: 'error', error: { code: 'bad_input', message: badInput } }
    }
    let journalled = false
    const journalNow = (running: boolean) => {
      journalled = true
      if (running) journal.recordStarted(task)
      else journal.recordQueued(task)
    }
    const overlaps = local.capability.kind === 'script' && scheduler.running < scheduler.maxConcurrent
    if (!overlaps) {
      if (!authenticate()) return FORGED
      journalNow(false)
    }
    let forged = false
    try {
      const output = await scheduler.submit({
        id: task.id,
        peer: task.peer,
        priority,
        deadline: task.deadline,
        run: (jobSignal) => {
          const running = local.run(
            input,
            signal != null ? AbortSignal.any([jobSignal, signal]) : jobSignal,
            {
              id: task.id,
              peer: task.peer,
            },
          )
          if (journalled) journal.deferRunning(task.id)
          else journalNow(true)
          forged = !authenticate()
          return running
        },
      })
      if (forged) {
        journal.deferFinished(task.id, 'denied', { error: FORGED.error!.message })
        return FORGED
      }
      const badOutput = local.checkOutput?.(output)
      if (badOutput !== undefined) throw new TaskFailure('bad_output', badOutput)
      journal.deferFinished(task.id, 'ok', { outputHash: hash(output) })
      return { status: 'ok', output }
    } catch (err) {
      const outcome: Outcome =
        err instanceof BusyError
          ? { status: 'busy', error: { code: 'busy', message: err.message } }
          : err instanceof TimeoutError
            ? { status: 'timeout', error: { code: 'timeout', message: err.message } }
            : err instanceof TaskFailure
              ? { status: 'error', error: { code: err.code, message: err.message } }
              : { status: 'error', error: { code: 'internal', message: 'the task failed' } }
      if (outcome.error?.code === 'internal')
        log.error({ err, id: task.id, cap: task.cap }, 'task failed unexpectedly')
      const status = outcome.status as RefusedStatus
      const error = outcome.error?.message ?? ''
      // a task refused or expired before it started has no row yet
      if (journalled) journal.deferFinished(task.id, status, { error })
      else journal.deferRefused(task, status, error)
      return outcome
    }
  }

  const serve = async (
    req: TaskRequest,
    signal: AbortSignal,
    authenticate: () => boolean,
  ): Promise<Outcome> => {
    const input = canonicalEncode(req.input ?? null)
    const decision = policy.decide({
      peer: req.from,
      cap: req.cap,
      inputBytes: input.byteLength,
      deadlineMs: req.deadline - Date.now(),
      evidence: req.evidence,
    })
    const task: NewTask = {
      id: req.id,
      direction: 'in',
      peer: req.from,
      cap: req.cap,
      deadline: req.deadline,
      inputHash: sha256(input),
    }
    if (!decision.accept) {
      journal.deferRefused(task, decision.status, decision.message)
      return { status: decision.status, error: { code: decision.reason, message: decision.message } }
    }
    try {
      // an id that may have run is refused (a replay after a restart, when the nonces are forgotten)
      if (!journal.accepts(task))
        return { status: 'denied', error: { code: 'replay', message: 'this task id was run before' } }
      const start = Date.now()
      const outcome = await runHere(task, req.input, decision.priority, signal, authenticate)
      if (outcome.status === 'ok') reciprocity.recordWeServed(req.from)
      if (outcome.status === 'ok' && req.evidence !== 'none' && parts.produceEvidence !== undefined) {
        const receipt = await parts.produceEvidence({
          task: req.id,
          cap: req.cap,
          codeHash: registry.get(req.cap)?.codeHash,
          input: req.input,
          output: outcome.output,
          start,
          end: Date.now(),
          tpm: req.evidence === 'tpm',
        })
        if (receipt !== undefined) return { ...outcome, receipt }
      }
      return outcome
    } finally {
      decision.release()
    }
  }

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

  /** per script capability id, what it was registered from: its config and its source's hash */
  const scripts = new Map<string, string>()
  const replaceCapabilities = async (caps: readonly CapabilityConfig[]): Promise<CapabilityChanges> => {
    const next = new Map<string, { entry: LocalCapability; print: string }>()
    // a scratch registry compiles the schemas, so a bad one fails the whole replacement, not half of it
    const scratch = new CapabilityRegistry()
    for (const cap of caps) {
      const entry = await loadScriptCapability(cap, toDescriptorCapability, parts.runScript)
      scratch.register(entry)
      next.set(cap.id, { entry, print: `${entry.codeHash}:${JSON.stringify(cap)}` })
    }
    const changes: CapabilityChanges = { added: [], changed: [], removed: [] }
    for (const id of [...scripts.keys()]) {
      if (next.has(id)) continue
      registry.unregister(id)
      scripts.delete(id)
      changes.removed.push(id)
    }
    for (const [id, { entry, print }] of next) {
      const before = scripts.get(id)
      if (before === print) continue
      registry.register(entry)
      scripts.set(id, print)
      ;(before == null ? changes.added : changes.changed).push(id)
    }
    return changes
  }

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
        inputHash: hash(request.input),
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
        result.ok ? { outputHash: hash(result.output) } : { error: result.error?.message ?? '' },
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
