/**
 * The capabilities this node itself provides, and how to run each: script capabilities run their source in
 * the sandbox; device actions and sensor reads (device plane) register their own runner. The registry feeds
 * the descriptor (through the discovery plane's LocalState) and the task handler.
 */
import { readFile, stat } from 'node:fs/promises'
import type { CapabilityConfig } from '../config/index.ts'
import type { Capability } from '../discovery/descriptor.ts'
import { EventBus, type Events } from '../util/event-bus.ts'
import { SchemaCompiler, SchemaError, type SchemaCheck } from './io-schema.ts'
import { sha256Hex } from '../util/canonical.ts'
import { KithError } from '../util/errors.ts'
import type { ExecutionEvents } from './events.ts'

/** Largest script source accepted. */
export const MAX_SCRIPT_BYTES = 256 * 1024

/** Who asked: the task id and the requesting peer (this node's own id for local calls). */
export interface RunContext {
  id: string
  peer: string
}

/** Runs one invocation; resolves with the output or rejects with a {@link TaskFailure}. */
export type CapabilityRunner = (input: unknown, signal: AbortSignal, context?: RunContext) => Promise<unknown>

/** A capability's run failed; `code` is what the task's result reports (`bad_input`, `device_offline`, …). */
export class TaskFailure extends KithError {
  static override readonly code = 'task_failed'
  static override readonly codeVaries = true
  constructor(code: string, message: string) {
    super(message, { code })
    this.name = 'TaskFailure'
  }
}

export interface LocalCapability {
  capability: Capability
  run: CapabilityRunner
  /** a script capability's sha256 of its source (hex): tells a changed script apart on a config reload */
  codeHash?: string
}

/** A capability as registered: with its `input` and `output` schemas compiled (absent: accepts anything). */
export interface RegisteredCapability extends LocalCapability {
  checkInput?: SchemaCheck
  checkOutput?: SchemaCheck
}

/** What a script capability needs from the sandbox. */
export type ScriptRunner = (job: {
  source: string
  input: unknown
  deterministic: boolean
  signal: AbortSignal
  /** sensor capabilities the script is granted `device.read` of */
  sensors?: readonly string[]
}) => Promise<unknown>

export class CapabilityRegistry {
  readonly #caps = new Map<string, RegisteredCapability>()
  readonly #events: Events<Pick<ExecutionEvents, 'capability'>>
  readonly #schemas = new SchemaCompiler()

  /** `events`: where registrations are published; default a bus of the registry's own */
  constructor(init: { events?: Events<Pick<ExecutionEvents, 'capability'>> } = {}) {
    this.#events = init.events ?? new EventBus()
  }

  get size(): number {
    return this.#caps.size
  }

  /**
   * Adds or replaces a capability, compiling its input and output schemas once. Throws a
   * {@link TaskFailure} `bad_schema` when one of them is not valid JSON Schema.
   */
  register(entry: LocalCapability): void {
    const { id, input, output } = entry.capability
    let checkInput: SchemaCheck | undefined
    let checkOutput: SchemaCheck | undefined
    try {
      checkInput = this.#schemas.compile(input, 'input')
      checkOutput = this.#schemas.compile(output, 'output')
    } catch (err) {
      if (err instanceof SchemaError) throw new TaskFailure('bad_schema', `capability ${id}: ${err.message}`)
      throw err
    }
    this.#caps.set(id, {
      ...entry,
      ...(checkInput !== undefined ? { checkInput } : {}),
      ...(checkOutput !== undefined ? { checkOutput } : {}),
    })
    this.#events.emit('capability', { id, change: 'registered' })
  }

  unregister(id: string): boolean {
    const had = this.#caps.delete(id)
    if (had) this.#events.emit('capability', { id, change: 'unregistered' })
    return had
  }

  get(id: string): RegisteredCapability | undefined {
    return this.#caps.get(id)
  }

  list(): Capability[] {
    return [...this.#caps.values()].map((e) => e.capability)
  }

  /** Calls `listener` whenever the set of capabilities changes; returns its remover. */
  onChange(listener: () => void): () => void {
    return this.#events.on('capability', listener)
  }
}

/**
 * Loads a configured script capability: reads its source once (bounded) and binds it to the sandbox.
 *
 * @example
 * registry.register(await loadScriptCapability(config.capabilities[0], toDescriptorCapability, runScript))
 */
export async function loadScriptCapability(
  config: CapabilityConfig,
  describe: (c: CapabilityConfig) => Capability,
  runScript: ScriptRunner,
): Promise<LocalCapability> {
  const info = await stat(config.script)
  if (info.size > MAX_SCRIPT_BYTES)
    throw new TaskFailure('bad_script', `${config.script} is larger than ${MAX_SCRIPT_BYTES} bytes`)
  const source = await readFile(config.script, 'utf8')
  return {
    capability: describe(config),
    codeHash: sha256Hex(source),
    run: (input, signal) =>
      runScript({ source, input, deterministic: config.deterministic, signal, sensors: config.sensors }),
  }
}
