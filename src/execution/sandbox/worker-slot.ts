/**
 * One sandbox worker thread, seen from the main thread: starts it, runs one job on it at a time, answers its
 * host calls, and ends it hard (`worker.terminate()`) when the job's deadline passes, the job is aborted, a
 * message from it cannot be decoded, or the pool stops. A slot that was ended, or whose thread died, is
 * dead: the pool replaces it. Outputs and host call arguments arrive as JSON text, parsed here.
 */
import { Worker } from 'node:worker_threads'
import { MAX_JSON_DEPTH } from './constants.ts'
import { SandboxLoadError } from './errors.ts'
import { jsonDepth } from './limits.ts'
import type { HostFunction, JsonValue, SandboxFailure, SandboxResult } from './types.ts'
import { decodeResult } from './types.ts'
import type {
  FromWorker,
  HostCallMessage,
  JobMessage,
  SandboxWorkerData,
  ThrownError,
  ToWorker,
} from './worker-protocol.ts'

export interface WorkerSlotInit {
  /** the worker file, the bundle itself, or (in the single binary) the worker's code to evaluate */
  url: URL | string | { code: string }
  data: SandboxWorkerData
  /** the thread's V8 heap limits (MiB); a worker that outgrows them dies and is replaced */
  heap?: { oldMb: number; youngMb: number }
  /** called once if the thread ends after it was ready, however it ends */
  onDeath?: (slot: WorkerSlot) => void
}

/** A job as the slot runs it: the message for the worker, plus what stays in the main thread. */
export interface SlotJob {
  message: Omit<JobMessage, 'type' | 'id'>
  grants: ReadonlyMap<string, HostFunction>
  signal?: AbortSignal
  /** the hard deadline, from the moment the job is posted */
  hardTimeoutMs: number
}

type JobEnd = { result: SandboxResult } | { thrown: ThrownError }

/** How a job ended, with the worker's engine counts since its last report. */
export type SlotOutcome = {
  engineLoads: number
  engineDiscards: number
  prewarmed: number
  hostCalls: number
} & JobEnd

function failed(failure: SandboxFailure): SandboxResult {
  return { ok: false, error: failure, cpuMs: 0 }
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.length > 1024 ? `${text.slice(0, 1024)}…` : text
}

/**
 * @example
 * const slot = new WorkerSlot({ url, data })
 * await slot.ready
 * const outcome = await slot.run({ message, grants, hardTimeoutMs: 1250 })
 */
export class WorkerSlot {
  /** resolves with the engines loaded once the worker can take jobs; rejects with `SandboxLoadError` */
  readonly ready: Promise<number>
  /** engines this worker dropped: their memory stays with it until its next garbage collection */
  droppedEngines = 0
  readonly #worker: Worker
  readonly #onDeath: ((slot: WorkerSlot) => void) | undefined
  #ready = false
  #dead = false
  #nextId = 0
  /** ends the running job, if any, with a failure */
  #end: ((failure: SandboxFailure) => void) | undefined

  constructor(init: WorkerSlotInit) {
    const source = init.url
    this.#worker = new Worker(typeof source === 'object' && 'code' in source ? source.code : source, {
      eval: typeof source === 'object' && 'code' in source,
      workerData: init.data,
      ...(init.heap !== undefined
        ? {
            resourceLimits: {
              maxOldGenerationSizeMb: init.heap.oldMb,
              maxYoungGenerationSizeMb: init.heap.youngMb,
            },
          }
        : {}),
    })
    // an idle pool does not keep the process alive; a running job's deadline timer does
    this.#worker.unref()
    const { promise, resolve, reject } = Promise.withResolvers<number>()
    this.ready = promise
    this.#onDeath = init.onDeath
    const onReady = (message: FromWorker) => {
      if (message.type === 'ready') {
        this.#ready = true
        resolve(message.engineLoads)
      } else if (message.type === 'fatal') reject(new SandboxLoadError(`sandbox worker: ${message.message}`))
      else return
      this.#worker.off('message', onReady)
    }
    this.#worker.on('message', onReady)
    this.#worker.on('error', (err) => {
      reject(new SandboxLoadError(`sandbox worker failed: ${messageOf(err)}`, { cause: err }))
      this.#died(`the sandbox worker failed: ${messageOf(err)}`)
    })
    this.#worker.on('exit', (code) => {
      reject(new SandboxLoadError(`sandbox worker exited with code ${code} before it was ready`))
      this.#died(`the sandbox worker exited with code ${code}`)
    })
    // unheard, a message that cannot be decoded is dropped: its job would wait for its whole deadline
    this.#worker.on('messageerror', (err) => {
      const why = `a message from the sandbox worker could not be decoded: ${messageOf(err)}`
      reject(new SandboxLoadError(why, { cause: err }))
      // with no job running, the pool learns of the death only from onDeath
      if (this.#end === undefined) this.#died(why)
      this.#kill({ code: 'internal', message: why })
    })
  }

  /** false once the thread is ended or has died */
  get alive(): boolean {
    return !this.#dead
  }

  /** Runs one job; never throws. A timeout, abort or crash leaves the slot dead. */
  run(job: SlotJob): Promise<SlotOutcome> {
    const id = this.#nextId++
    const { promise, resolve } = Promise.withResolvers<SlotOutcome>()
    // made at the first host call: aborting one costs a DOMException with its stack
    let hostController: AbortController | undefined
    let hostCalls = 0
    const onMessage = (message: FromWorker) => {
      if (message.type === 'hostcall' && message.id === id) {
        hostCalls++
        // a host call answers its own failures; one it cannot answer ends the job, or it would wait forever
        this.#hostCall(message, job, (hostController ??= new AbortController()).signal).catch(
          (err: unknown) =>
            this.#kill({ code: 'internal', message: `a host call failed: ${messageOf(err)}` }),
        )
      } else if (message.type === 'result' && message.id === id) {
        const { engineLoads, engineDiscards, prewarmed } = message
        finish('result' in message ? { result: decodeResult(message.result) } : { thrown: message.thrown }, {
          engineLoads,
          engineDiscards,
          prewarmed,
        })
      }
    }
    const finish = (end: JobEnd, engines = { engineLoads: 0, engineDiscards: 0, prewarmed: 0 }) => {
      clearTimeout(timer)
      job.signal?.removeEventListener('abort', onAbort)
      this.#worker.off('message', onMessage)
      this.#end = undefined
      hostController?.abort()
      resolve({ ...engines, hostCalls, ...end })
    }
    const onAbort = () => this.#kill({ code: 'aborted', message: 'the task was aborted' })
    const timer = setTimeout(
      () => this.#kill({ code: 'timeout', message: 'the task ran past its deadline' }),
      job.hardTimeoutMs,
    )
    this.#end = (failure) => finish({ result: failed(failure) })
    this.#worker.on('message', onMessage)
    job.signal?.addEventListener('abort', onAbort, { once: true })
    this.#post({ type: 'job', id, ...job.message })
    if (this.#dead) this.#end({ code: 'internal', message: 'the sandbox worker has ended' })
    else if (job.signal?.aborted) onAbort()
    return promise
  }

  /** Ends the thread at once, whatever it is doing; a running job ends `aborted`. */
  async terminate(): Promise<void> {
    this.#kill({ code: 'aborted', message: 'the sandbox stopped' })
    await this.#worker.terminate()
  }

  #post(message: ToWorker): void {
    if (!this.#dead) this.#worker.postMessage(message)
  }

  #kill(failure: SandboxFailure): void {
    const end = this.#end
    this.#dead = true
    // terminate() is fulfilled with the exit code once the thread is gone; it has nothing to reject with
    this.#worker.terminate().catch(() => undefined)
    end?.(failure)
  }

  #died(why: string): void {
    const first = !this.#dead
    this.#dead = true
    this.#end?.({ code: 'internal', message: why })
    if (first && this.#ready) this.#onDeath?.(this)
  }

  async #hostCall(message: HostCallMessage, job: SlotJob, signal: AbortSignal): Promise<void> {
    const { id, call, name } = message
    const max = job.message.limits.maxHostCallBytes
    const reply = (outcome: { ok: true; text: string } | { ok: false; message: string }) => {
      if (!signal.aborted) this.#post({ type: 'hostresult', id, call, ...outcome })
    }
    const grant = job.grants.get(name)
    if (grant === undefined) return reply({ ok: false, message: 'no such host function' })
    // the worker checked this already; a worker is not trusted to have done so
    if (typeof message.argsJson !== 'string' || Buffer.byteLength(message.argsJson) > max)
      return reply({ ok: false, message: `the arguments of ${name} are larger than ${max} bytes` })
    let args: unknown
    try {
      args = JSON.parse(message.argsJson)
    } catch {
      args = undefined
    }
    if (!Array.isArray(args))
      return reply({ ok: false, message: `the arguments of ${name} are not a JSON list` })
    if (jsonDepth(message.argsJson, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      return reply({
        ok: false,
        message: `the arguments of ${name} are nested deeper than ${MAX_JSON_DEPTH} levels`,
      })
    let value: unknown
    try {
      value = await grant(args as JsonValue[], { signal })
    } catch (err) {
      return reply({ ok: false, message: messageOf(err) })
    }
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (err) {
      return reply({ ok: false, message: `the host function's result is not JSON: ${messageOf(err)}` })
    }
    if (text !== undefined && Buffer.byteLength(text) > max)
      return reply({ ok: false, message: `the host function's result is larger than ${max} bytes` })
    if (text !== undefined && jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      return reply({
        ok: false,
        message: `the host function's result is nested deeper than ${MAX_JSON_DEPTH} levels`,
      })
    reply({ ok: true, text: text ?? '' })
  }
}
