/**
 * The worker side of `WorkerSandbox`: an in-process `Sandbox` with one engine, fed one job at a time by the
 * main thread. Each granted host function is a proxy that asks the main thread to make the call, so grants,
 * and the authority they carry, never leave the main thread.
 */
import type { MessagePort } from 'node:worker_threads'
import { errorCode } from '../../util/errors.ts'
import { Sandbox } from './sandbox.ts'
import type { HostFunction, JsonValue } from './types.ts'
import type {
  FromWorker,
  HostResultMessage,
  JobMessage,
  SandboxWorkerData,
  ToWorker,
} from './worker-protocol.ts'

interface PendingCall {
  resolve(value: unknown): void
  reject(err: Error): void
}

/**
 * Serves jobs on `port` until the worker is terminated. Posts `ready` once the first engine has loaded, or
 * `fatal` if it cannot load.
 *
 * @example
 * serveSandboxWorker(parentPort!, workerData as SandboxWorkerData)
 */
export async function serveSandboxWorker(port: MessagePort, data: SandboxWorkerData): Promise<void> {
  const post = (message: FromWorker) => port.postMessage(message)
  const sandbox = new Sandbox({ limits: data.limits, maxEngines: 1 })
  const calls = new Map<number, PendingCall>()
  let nextCall = 0
  let reported = { engineLoads: 0, engineDiscards: 0, prewarmed: 0 }
  const engineDeltas = () => {
    const { engineLoads, engineDiscards, prewarmed } = sandbox.counters
    const delta = {
      engineLoads: engineLoads - reported.engineLoads,
      engineDiscards: engineDiscards - reported.engineDiscards,
      prewarmed: prewarmed - reported.prewarmed,
    }
    reported = { engineLoads, engineDiscards, prewarmed }
    return delta
  }

  const proxy =
    (id: number, name: string): HostFunction =>
    (args) =>
      new Promise((resolve, reject) => {
        const call = nextCall++
        calls.set(call, { resolve, reject })
        // JSON text, not a structured clone: the bridge has checked its size and depth (worker-protocol.ts)
        post({ type: 'hostcall', id, call, name, argsJson: JSON.stringify(args) })
      })

  const settle = (message: HostResultMessage) => {
    const pending = calls.get(message.call)
    if (pending === undefined) return
    calls.delete(message.call)
    if (!message.ok) pending.reject(new Error(message.message))
    else pending.resolve(message.text === '' ? undefined : (JSON.parse(message.text) as JsonValue))
  }

  const runJob = async (job: JobMessage) => {
    try {
      const result = await sandbox.runEncoded(
        {
          source: job.source,
          grants: Object.fromEntries(job.grants.map((name) => [name, proxy(job.id, name)])),
          deterministic: job.deterministic,
          seed: job.seed,
          now: job.now,
          limits: job.limits,
          filename: job.filename,
        },
        job.inputJson,
      )
      post({ type: 'result', id: job.id, result, ...engineDeltas() })
    } catch (err) {
      const { name, message } = err instanceof Error ? err : new Error(String(err))
      post({ type: 'result', id: job.id, thrown: { name, message, code: errorCode(err) }, ...engineDeltas() })
    } finally {
      // calls still pending belong to a task that has ended: their results have nowhere to go
      calls.clear()
    }
  }

  port.on('message', (message: ToWorker) => {
    if (message.type === 'hostresult') settle(message)
    // runJob reports every failure of its job; one it cannot report (the port is gone) ends this thread, and
    // the slot on the other side fails the job and starts another worker
    else runJob(message).catch(() => process.exit(1))
  })
  try {
    await sandbox.start()
    post({ type: 'ready', engineLoads: engineDeltas().engineLoads })
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err))
    post({ type: 'fatal', name, message })
  }
}
