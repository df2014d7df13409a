/**
 * The provider side of the task protocol: a task arrives, the cooperation rules decide, the journal records
 * it before it can act, the scheduler runs it, and the reply carries its output and, when asked, evidence.
 * The same path runs this node's own tasks when it is the best candidate for them (`runHere`).
 */
import { createHash } from 'node:crypto'
import { canonicalEncode } from '../util/canonical.ts'
import type { Logger } from '../util/logger.ts'
import type { ContractPolicy } from './contracts.ts'
import type { Journal, NewTask, RefusedStatus } from './journal.ts'
import type { Reciprocity } from './reciprocity.ts'
import { type CapabilityRegistry, TaskFailure } from './registry.ts'
import { BusyError, type Scheduler, TimeoutError } from './scheduler.ts'
import type { TaskReply, TaskRequest } from './task-wire.ts'

/** A reply without its frame fields: what running a task comes to. */
export type Outcome = Omit<TaskReply, 't' | 'id'>

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

/** Makes the evidence package (encoded) of a task run for another; undefined when none can be made. */
export type EvidenceMaker = (fields: EvidenceFields) => Promise<Uint8Array | undefined>

/** What the pipeline runs over: the plane's parts, built before it. */
export interface TaskPipelineComponents {
  registry: CapabilityRegistry
  scheduler: Scheduler
  journal: Journal
  policy: ContractPolicy
  reciprocity: Reciprocity
  log: Logger
  /** the trust plane's evidence for tasks run for others (provider side); absent: replies go without */
  produceEvidence?: EvidenceMaker | undefined
}

/** The two entry points of the pipeline. */
export interface TaskPipeline {
  /** runs a capability of ours and journals it (see the doc comment inside) */
  runHere(
    task: NewTask,
    input: unknown,
    priority: number,
    signal?: AbortSignal,
    authenticate?: () => boolean,
  ): Promise<Outcome>
  /** answers a request from another peer: the cooperation rules, the replay check, then {@link runHere} */
  serve(req: TaskRequest, signal: AbortSignal, authenticate: () => boolean): Promise<Outcome>
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** sha256 hex of a value's canonical encoding: what the journal keeps of inputs and outputs. */
export const hashValue = (value: unknown): string => sha256(canonicalEncode(value ?? null))

/**
 * @example
 * const pipeline = createTaskPipeline({ registry, scheduler, journal, policy, reciprocity, log })
 * const server = new TaskServer(host, pipeline.serve, verify, log)
 */
export function createTaskPipeline(c: TaskPipelineComponents): TaskPipeline {
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
    const local = c.registry.get(task.cap)
    if (local == null) {
      c.journal.deferRefused(task, 'denied', 'unknown capability')
      return {
        status: 'denied',
        error: { code: 'unknown_capability', message: `this node does not offer ${task.cap}` },
      }
    }
    // refused before it takes a slot: the capability's input schema, compiled once at registration
    const badInput = local.checkInput?.(input)
    if (badInput !== undefined) {
      c.journal.deferRefused(task, 'error', badInput)
      return { status: 'error', error: { code: 'bad_input', message: badInput } }
    }
    let journalled = false
    const journalNow = (running: boolean) => {
      journalled = true
      if (running) c.journal.recordStarted(task)
      else c.journal.recordQueued(task)
    }
    const overlaps = local.capability.kind === 'script' && c.scheduler.running < c.scheduler.maxConcurrent
    if (!overlaps) {
      if (!authenticate()) return FORGED
      journalNow(false)
    }
    let forged = false
    try {
      const output = await c.scheduler.submit({
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
          if (journalled) c.journal.deferRunning(task.id)
          else journalNow(true)
          forged = !authenticate()
          return running
        },
      })
      if (forged) {
        c.journal.deferFinished(task.id, 'denied', { error: FORGED.error!.message })
        return FORGED
      }
      const badOutput = local.checkOutput?.(output)
      if (badOutput !== undefined) throw new TaskFailure('bad_output', badOutput)
      c.journal.deferFinished(task.id, 'ok', { outputHash: hashValue(output) })
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
        c.log.error({ err, id: task.id, cap: task.cap }, 'task failed unexpectedly')
      const status = outcome.status as RefusedStatus
      const error = outcome.error?.message ?? ''
      // a task refused or expired before it started has no row yet
      if (journalled) c.journal.deferFinished(task.id, status, { error })
      else c.journal.deferRefused(task, status, error)
      return outcome
    }
  }

  const serve = async (
    req: TaskRequest,
    signal: AbortSignal,
    authenticate: () => boolean,
  ): Promise<Outcome> => {
    const input = canonicalEncode(req.input ?? null)
    const decision = c.policy.decide({
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
      c.journal.deferRefused(task, decision.status, decision.message)
      return { status: decision.status, error: { code: decision.reason, message: decision.message } }
    }
    try {
      // an id that may have run is refused (a replay after a restart, when the nonces are forgotten)
      if (!c.journal.accepts(task))
        return { status: 'denied', error: { code: 'replay', message: 'this task id was run before' } }
      const start = Date.now()
      const outcome = await runHere(task, req.input, decision.priority, signal, authenticate)
      if (outcome.status === 'ok') c.reciprocity.recordWeServed(req.from)
      if (outcome.status === 'ok' && req.evidence !== 'none' && c.produceEvidence !== undefined) {
        const receipt = await c.produceEvidence({
          task: req.id,
          cap: req.cap,
          codeHash: c.registry.get(req.cap)?.codeHash,
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

  return { runHere, serve }
}
