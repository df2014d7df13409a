/**
 * How a script capability runs: on a sandbox worker, each task on a thread of its own so that a CPU-bound
 * script cannot stall this one (gossip, API, other tasks), with only the sensors its config grants.
 */
import { type ScriptRunner, TaskFailure } from './registry.ts'
import type { HostFunction, WorkerSandbox } from './sandbox/index.ts'

/** A sensor reading as a script sees it: null before the first reading or while its device is offline. */
export type SensorReader = (id: string) => { value: unknown; at: number; ageMs: number } | undefined

export interface ScriptRunnerComponents {
  sandbox: Pick<WorkerSandbox, 'run'>
  /** reads a device sensor (the device plane's bridge) */
  readSensor: SensorReader
}

/**
 * @example
 * const scripts = createScriptRunner({ sandbox, readSensor: (id) => devices.bridge.read(id) })
 * createExecution({ …, runScript: scripts.run })
 * scripts.cpuMs() // CPU time of every script run so far (GET /metrics)
 */
export function createScriptRunner(c: ScriptRunnerComponents): { run: ScriptRunner; cpuMs(): number } {
  let cpuMs = 0
  return {
    run: async ({ sensors, ...job }) => {
      const result = await c.sandbox.run(
        sensors != null && sensors.length > 0 ? { ...job, grants: sensorGrants(sensors, c.readSensor) } : job,
      )
      cpuMs += result.cpuMs
      if (result.ok) return result.output
      throw new TaskFailure(result.error.code, result.error.message)
    },
    cpuMs: () => cpuMs,
  }
}

/**
 * The host function a script capability gets for the sensors its config lists: `device.read(id)` returns
 * `{value, at, ageMs}` (null before the first reading or while the device is offline); any other id is
 * refused, so a script reads only what it was granted.
 */
function sensorGrants(sensors: readonly string[], read: SensorReader): Record<string, HostFunction> {
  return {
    'device.read': ([id]) => {
      if (typeof id !== 'string' || !sensors.includes(id))
        throw new Error(`not granted: device.read(${JSON.stringify(id)})`)
      return read(id) ?? null
    },
  }
}
