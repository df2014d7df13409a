/**
 * The script capabilities of the config, kept in the registry: made at start and replaced on a config
 * reload, all or nothing, and the sandbox's settings from the same config.
 */
import { availableParallelism } from 'node:os'
import type { CapabilityConfig, Config } from '../config/index.ts'
import { toDescriptorCapability } from '../discovery/local-state.ts'
import {
  CapabilityRegistry,
  type LocalCapability,
  loadScriptCapability,
  type ScriptRunner,
} from './registry.ts'
import type { WorkerSandboxInit } from './sandbox/index.ts'

/** What a capability replacement did, by capability id. */
export interface CapabilityChanges {
  added: string[]
  changed: string[]
  removed: string[]
}

/**
 * Returns the function that makes the script capabilities `caps` the registry's: it reads every script and
 * compiles every schema first, throwing before anything changes when one fails; then registers the new and
 * changed ones (a script whose source changed counts as changed) and drops those no longer listed.
 *
 * @example
 * const replace = scriptCapabilities(registry, runScript)
 * await replace(config.capabilities) // { added: ['hello.echo'], changed: [], removed: [] }
 */
export function scriptCapabilities(
  registry: CapabilityRegistry,
  runScript: ScriptRunner,
): (caps: readonly CapabilityConfig[]) => Promise<CapabilityChanges> {
  /** per script capability id, what it was registered from: its config and its source's hash */
  const scripts = new Map<string, string>()
  return async (caps) => {
    const next = new Map<string, { entry: LocalCapability; print: string }>()
    // a scratch registry compiles the schemas, so a bad one fails the whole replacement, not half of it
    const scratch = new CapabilityRegistry()
    for (const cap of caps) {
      const entry = await loadScriptCapability(cap, toDescriptorCapability, runScript)
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
}

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
