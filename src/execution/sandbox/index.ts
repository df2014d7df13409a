/**
 * The QuickJS-WASM sandbox of the execution plane.
 *
 * @example
 * import { Sandbox } from './execution/sandbox/index.ts'
 * const sandbox = new Sandbox({ limits: { timeoutMs: 500 } })
 * await sandbox.start()
 * const result = await sandbox.run({
 *   source: 'async function run(room) { return { celsius: await device.read(room + "/temperature") } }',
 *   input: 'kitchen',
 *   grants: { 'device.read': async ([topic]) => sensors.read(String(topic)) },
 * })
 */
export { Sandbox, type SandboxInit } from './sandbox.ts'
export { WorkerSandbox, type WorkerSandboxCounters, type WorkerSandboxInit } from './worker-pool.ts'
export { runSandboxWorkerIfRequested } from './worker-entry.ts'
export {
  DEFAULT_WORKER_HEAP_MB,
  MAX_MEMORY_BYTES,
  MAX_STACK_BYTES,
  MAX_TIMEOUT_MS,
  SANDBOX_DEFAULTS,
} from './constants.ts'
export { SandboxClosedError, SandboxConfigError, SandboxLoadError } from './errors.ts'
export type {
  HostCallOptions,
  HostFunction,
  JsonValue,
  SandboxCounters,
  SandboxErrorCode,
  SandboxFailure,
  SandboxJob,
  SandboxLimits,
  SandboxResult,
} from './types.ts'
