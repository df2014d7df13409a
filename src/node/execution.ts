/**
 * Wires the execution plane from the config: the capability registry, the scheduler, the task journal,
 * the cooperation rules (contract policy and reciprocity), the task protocol on both sides, and delegation.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Config } from '../config/index.ts'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { Identity } from '../connectivity/identity.ts'
import { canonicalEncode, type SignatureVerifier } from '../discovery/descriptor.ts'
import { ContractPolicy, contractInitFromConfig } from '../execution/contracts.ts'
import { delegate, type DelegateRequest, type DelegateResult } from '../execution/delegate.ts'
import { Journal } from '../execution/journal.ts'
import { Reciprocity } from '../execution/reciprocity.ts'
import {
  CapabilityRegistry,
  loadScriptCapability,
  type ScriptRunner,
  TaskFailure,
} from '../execution/registry.ts'
import { BusyError, SCHEDULER_DEFAULTS, Scheduler, TimeoutError } from '../execution/scheduler.ts'
import { TaskClient } from '../execution/task-client.ts'
import { TaskServer } from '../execution/task-server.ts'
import type { TaskReply, TaskRequest } from '../execution/task-wire.ts'
import type { Database } from '../store/database.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import type { DiscoveryPlane } from './discovery.ts'
import { toDescriptorCapability } from './discovery.ts'

type Outcome = Omit<TaskReply, 't' | 'id'>

export interface ExecutionPlane {
  registry: CapabilityRegistry
  scheduler: Scheduler
  journal: Journal
  /** runs a task somewhere in the network (here when this node is the best candidate), with fallback */
  delegate(
    request: Omit<DelegateRequest, 'timeoutMs'> & { timeoutMs?: number },
  ): Promise<DelegateResult & { id: string }>
  start(): Promise<void>
  stop(): Promise<void>
}

const hash = (value: unknown) =>
  createHash('sha256')
    .update(canonicalEncode(value ?? null))
    .digest('hex')

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
}): ExecutionPlane {
  const { config, host } = parts
  const log = componentLogger(parts.logger, 'kith:execution')
  const registry = new CapabilityRegistry()
  const journal = new Journal(parts.db)
  const reciprocity = new Reciprocity(parts.db)
  const scheduler = new Scheduler({
    ...(config.execution.maxConcurrent != null ? { maxConcurrent: config.execution.maxConcurrent } : {}),
    maxQueue: config.execution.maxQueue,
    load: parts.load,
    log: componentLogger(parts.logger, 'kith:execution:scheduler'),
  })
  const policy = new ContractPolicy({
    ...contractInitFromConfig(config),
    balance: (peer) => reciprocity.balance(peer),
    loaded: () => scheduler.queued > 0 && parts.load() > SCHEDULER_DEFAULTS.loadShedAt,
  })

  /** Runs a capability of ours through the scheduler; `id` is already journalled. */
  const runHere = async (
    id: string,
    peer: string,
    cap: string,
    input: unknown,
    deadline: number,
    priority: number,
    signal?: AbortSignal,
  ): Promise<Outcome> => {
    const local = registry.get(cap)
    if (local == null) {
      journal.recordFinished(id, 'denied', { error: 'unknown capability' })
      return {
        status: 'denied',
        error: { code: 'unknown_capability', message: `this node does not offer ${cap}` },
      }
    }
    try {
      const output = await scheduler.submit({
        id,
        peer,
        priority,
        deadline,
        run: (jobSignal) => {
          journal.recordRunning(id)
          return local.run(input, signal != null ? AbortSignal.any([jobSignal, signal]) : jobSignal)
        },
      })
      journal.recordFinished(id, 'ok', { outputHash: hash(output) })
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
      if (outcome.error?.code === 'internal') log.error({ err, id, cap }, 'task failed unexpectedly')
      journal.recordFinished(id, outcome.status as 'busy' | 'timeout' | 'error', {
        error: outcome.error?.message ?? '',
      })
      return outcome
    }
  }

  const serve = async (req: TaskRequest, signal: AbortSignal): Promise<Outcome> => {
    const inputBytes = canonicalEncode(req.input ?? null).byteLength
    const decision = policy.decide({
      peer: req.from,
      cap: req.cap,
      inputBytes,
      deadlineMs: req.deadline - Date.now(),
      evidence: req.evidence,
    })
    const task = {
      id: req.id,
      direction: 'in' as const,
      peer: req.from,
      cap: req.cap,
      deadline: req.deadline,
      inputHash: hash(req.input),
    }
    if (!decision.accept) {
      journal.recordRefused(task, decision.status, decision.message)
      return { status: decision.status, error: { code: decision.reason, message: decision.message } }
    }
    try {
      if (!journal.recordQueued(task))
        return { status: 'denied', error: { code: 'replay', message: 'this task id was run before' } }
      const outcome = await runHere(
        req.id,
        req.from,
        req.cap,
        req.input,
        req.deadline,
        decision.priority,
        signal,
      )
      if (outcome.status === 'ok') reciprocity.recordWeServed(req.from)
      return outcome
    } finally {
      decision.release()
    }
  }

  // a requester may have as many tasks in flight on its stream as the cooperation rules could let through;
  // the rules, not the stream, decide who gets `busy`
  const server = new TaskServer(
    host,
    serve,
    parts.verify,
    componentLogger(parts.logger, 'kith:execution:server'),
    {
      maxInflightPerStream: Math.max(64, config.execution.perPeer.maxConcurrent + config.execution.maxQueue),
    },
  )
  const client = new TaskClient(
    host,
    parts.identity.sign,
    parts.verify,
    componentLogger(parts.logger, 'kith:execution:client'),
  )
  const self = host.peerId.toString()

  return {
    registry,
    scheduler,
    journal,
    async delegate(request) {
      const id = randomUUID()
      const timeoutMs = Math.min(
        request.timeoutMs ?? config.execution.taskTimeout,
        config.execution.maxTaskTimeout,
      )
      const cap = 'capability' in request.target ? request.target.capability : '(intent)'
      journal.recordQueued({
        id,
        direction: 'out',
        peer: self,
        cap,
        deadline: Date.now() + timeoutMs,
        inputHash: hash(request.input),
      })
      journal.recordRunning(id)
      const result = await delegate(
        {
          self,
          store: parts.discovery.store,
          index: parts.discovery.index,
          client,
          runLocal: (capId, input, ms, signal) => {
            const localId = randomUUID()
            journal.recordQueued({
              id: localId,
              direction: 'in',
              peer: self,
              cap: capId,
              deadline: Date.now() + ms,
            })
            return runHere(localId, self, capId, input, Date.now() + ms, 1_000, signal)
          },
        },
        { ...request, timeoutMs },
      )
      if (result.provider != null && !result.local && result.ok) reciprocity.recordServedUs(result.provider)
      const outcome = result.ok
        ? 'ok'
        : result.status === 'busy' || result.status === 'denied' || result.status === 'timeout'
          ? result.status
          : 'error'
      journal.recordFinished(
        id,
        outcome,
        result.ok ? { outputHash: hash(result.output) } : { error: result.error?.message ?? '' },
      )
      return { id, ...result }
    },
    async start() {
      const interrupted = journal.recover()
      if (interrupted.length > 0)
        log.warn(
          { tasks: interrupted.map((t) => t.id) },
          'tasks in flight at the last stop were marked interrupted',
        )
      for (const cap of config.capabilities)
        registry.register(await loadScriptCapability(cap, toDescriptorCapability, parts.runScript))
      scheduler.start()
      await server.start()
    },
    async stop() {
      await server.stop()
      await client.stop()
      await scheduler.stop()
    },
  }
}
