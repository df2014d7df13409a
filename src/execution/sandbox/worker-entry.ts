/**
 * Lets one file be both the program and its sandbox workers. A bundle (esbuild, one CommonJS file) has no
 * separate worker file to start, so `WorkerSandbox` starts the bundle itself with a marker in `workerData`;
 * the bundle's entry calls `runSandboxWorkerIfRequested()` first and skips its own work when it returns true.
 * Unbundled, `worker.ts` is the worker file and calls it too. Kept apart from the worker loop so that the
 * check costs the main thread one import of `node:worker_threads`.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { isSandboxWorkerData } from './worker-protocol.ts'

/**
 * In a thread started by `WorkerSandbox`: starts serving sandbox jobs and returns true. Anywhere else
 * (the main thread, other workers): does nothing and returns false.
 *
 * @example
 * if (!runSandboxWorkerIfRequested()) await main(process.argv)
 */
export function runSandboxWorkerIfRequested(): boolean {
  if (isMainThread || parentPort === null || !isSandboxWorkerData(workerData)) return false
  const port = parentPort
  const data = workerData
  // a failure the loop could not report ends this thread (process.exit ends only a worker): its slot sees
  // the exit, fails the job and starts another worker, as it does for a crash
  import('./worker-loop.ts')
    .then(({ serveSandboxWorker }) => serveSandboxWorker(port, data))
    .catch(() => process.exit(1))
  return true
}
