/**
 * Defaults and ceilings of the sandbox, and the facts about the QuickJS build they rest on
 * (`@jitl/quickjs-singlefile-cjs-release-sync` 0.32.0, measured on Node 24).
 */
import type { SandboxLimits } from './types.ts'

const KIB = 1024
const MIB = 1024 * KIB

/**
 * Limits of a task that neither the sandbox nor the job sets.
 *
 * @example
 * new Sandbox({ limits: { ...SANDBOX_DEFAULTS, timeoutMs: 500 } })
 */
export const SANDBOX_DEFAULTS: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: 16 * MIB,
  stackBytes: 256 * KIB,
  timeoutMs: 1000,
  maxInputBytes: 256 * KIB,
  maxOutputBytes: 256 * KIB,
  maxHostCallBytes: 64 * KIB,
  maxLogBytes: 4 * KIB,
})

/**
 * QuickJS's own stack check runs on the WebAssembly shadow stack (5 MiB in this build), but every
 * interpreter frame also uses Node's native stack (about 1 MiB in all). At 256 KiB a deep recursion stops
 * with QuickJS's `stack overflow` even when the host is 2,000 frames deep; at 384 KiB Node's own stack
 * overflows first from that depth, which leaves the engine unusable. Higher values are refused.
 */
export const MAX_STACK_BYTES = 256 * KIB

/** Largest `memoryBytes` a sandbox accepts: each engine reserves this much address space. */
export const MAX_MEMORY_BYTES = 512 * MIB

/** Largest `timeoutMs` a job may ask for. */
export const MAX_TIMEOUT_MS = 10 * 60_000

/**
 * Default number of engines, i.e. of tasks that run at the same time (a task keeps its engine while it
 * waits for host calls); more tasks wait for a free engine.
 */
export const DEFAULT_MAX_ENGINES = 4

/** Size of a WebAssembly memory page. */
export const WASM_PAGE_BYTES = 64 * KIB

/** The build's memory import asks for at least 16 MiB (256 pages). */
export const ENGINE_MIN_PAGES = 256

/**
 * What an engine's memory holds besides the task's heap: static data and the 5 MiB shadow stack (the stack
 * pointer starts at 5,333,088 in this build), the allocator's bookkeeping, and an empty runtime and context.
 */
export const ENGINE_BASE_BYTES = 6 * MIB

/** Pending jobs run per batch between deadline checks, so that a promise storm cannot hold the host. */
export const JOB_BATCH = 256

/**
 * Deepest nesting of arrays and objects in a JSON value that crosses the sandbox: an input, an output, a
 * host call's arguments or result. Deeper values are refused (`bad_input`, `bad_output`, a `HostError`):
 * what the node does with them next is recursive and bounded by Node's native stack. Measured on Node 24's
 * main thread with an empty stack: msgpackr (task frames) packs about 1,400 levels, structured clone (a
 * worker's messages) about 3,300, `JSON.stringify` about 4,400 (`JSON.parse` is iterative, not bounded).
 * 256 leaves room for the stack a caller is already on; no honest output nests this deep.
 */
export const MAX_JSON_DEPTH = 256

/** Longest error message copied out of the VM. */
export const MAX_ERROR_MESSAGE_CHARS = 1024

/**
 * Longest a context prepared ahead may take (the script's own evaluation included); a script whose
 * evaluation takes longer is not prepared ahead, so that preparing never holds an engine for long. Well
 * above a garbage collection pause: a preparation cut short costs the engine.
 */
export const PREWARM_MAX_MS = 1000

/**
 * The V8 heap of a sandbox worker thread. A worker keeps little alive (about 14 MiB: QuickJS's glue and the
 * task at hand; a script's own heap is WebAssembly memory, outside it) but makes garbage on every task, and
 * left to itself V8 grows a busy thread's young generation to 64, then 128 MiB: 24,000 tiny tasks took the
 * node from 220 to 380 MiB and rising. A 16 MiB young generation keeps each worker near 45 MiB at the cost
 * of more frequent, short scavenges. The old generation's cap is a fail-safe: a worker that outgrows it dies
 * and is replaced.
 */
export const WORKER_YOUNG_GENERATION_MB = 16

/** Default cap of a sandbox worker's V8 old generation, in MiB. */
export const DEFAULT_WORKER_HEAP_MB = 256

/** The name of the sandbox worker bundle among the single binary's SEA assets (scripts/build-binary.ts). */
export const SEA_WORKER_ASSET = 'sandbox-worker.cjs'
