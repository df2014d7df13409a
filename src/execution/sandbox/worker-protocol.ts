/**
 * The messages between a `WorkerSandbox` (main thread) and its sandbox workers. A worker runs one job at a
 * time; host functions stay in the main thread and cross by name, their arguments and results as JSON
 * capped at the job's `maxHostCallBytes` on both sides. Every value a script shaped (input, output, host
 * call arguments and results) crosses as JSON text, never as a structured clone: V8's deserialiser
 * recurses, and a value a few thousand levels deep cannot be read on the other side (a `messageerror`).
 */
import type { EncodedResult, SandboxLimits } from './types.ts'

/** What a worker is started with; the marker also lets a bundled entry tell a sandbox worker apart. */
export interface SandboxWorkerData {
  kithSandboxWorker: true
  /** the pool's limits: they size the worker's engines */
  limits: SandboxLimits
}

/** main → worker: run one job */
export interface JobMessage {
  type: 'job'
  id: number
  source: string
  /** the input already encoded and size-checked by the main thread */
  inputJson: string
  deterministic: boolean
  seed: number
  now: number
  limits: SandboxLimits
  filename: string
  /** names of the granted host functions; the worker installs a proxy for each */
  grants: string[]
}

/** main → worker: how a host call ended; `text` is the JSON of the result, '' for `undefined` */
export type HostResultMessage = { type: 'hostresult'; id: number; call: number } & (
  { ok: true; text: string } | { ok: false; message: string }
)

export type ToWorker = JobMessage | HostResultMessage

/** worker → main: the worker's engine loaded (or could not) */
export type ReadyMessage =
  { type: 'ready'; engineLoads: number } | { type: 'fatal'; name: string; message: string }

/** worker → main: a script called a granted host function; `argsJson` is the JSON of its argument list */
export interface HostCallMessage {
  type: 'hostcall'
  id: number
  call: number
  name: string
  argsJson: string
}

/** An error thrown in a worker, as it crosses to the main thread: its `code` says which class to rebuild. */
export interface ThrownError {
  name: string
  message: string
  code: string
}

/**
 * worker → main: the job ended, its output still JSON text; `thrown` carries an error the in-process
 * sandbox would have thrown
 */
export type ResultMessage = {
  type: 'result'
  id: number
  engineLoads: number
  engineDiscards: number
  prewarmed: number
} & ({ result: EncodedResult } | { thrown: ThrownError })

export type FromWorker = ReadyMessage | HostCallMessage | ResultMessage

/**
 * True for the data a sandbox worker is started with.
 *
 * @example
 * isSandboxWorkerData({ kithSandboxWorker: true, limits }) // true
 */
export function isSandboxWorkerData(data: unknown): data is SandboxWorkerData {
  return (
    typeof data === 'object' &&
    data !== null &&
    'kithSandboxWorker' in data &&
    data.kithSandboxWorker === true
  )
}
