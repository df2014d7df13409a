/**
 * An engine is one instance of the QuickJS WebAssembly module with a memory of fixed maximum size.
 *
 * Why not one module for everything, with `runtime.setMemoryLimit()`? In this build QuickJS cannot learn the
 * size of an allocation (`malloc_usable_size` is missing under Emscripten), so its limit counts 8 bytes per
 * live allocation and only refuses single requests above it: a script pushing short strings grows far past
 * 16 MiB (quickjs-emscripten issue 271). The WebAssembly memory's `maximum` is a hard cap instead; a task
 * owns its engine while it runs, so the cap is the task's. The module imports its memory, so the cap is set
 * from the host without a custom build. An engine that misbehaves is dropped whole and its memory goes back
 * to the system at the next GC; loading another takes about 10 ms.
 *
 * Loading: the singlefile CommonJS variant embeds the WebAssembly binary (it survives bundling into one file)
 * and is imported with a dynamic `import()`, which esbuild turns into a bundled `require`; `variantOf()`
 * copes with the shapes Node, a bundle and vitest give it.
 */
import type * as QuickJSCore from 'quickjs-emscripten-core'
import type {
  EmscriptenModuleLoaderOptions,
  QuickJSSyncVariant,
  QuickJSWASMModule,
} from 'quickjs-emscripten-core'
import { ENGINE_BASE_BYTES, ENGINE_MIN_PAGES, WASM_PAGE_BYTES } from './constants.ts'
import { SandboxLoadError } from './errors.ts'

/** The part of a `WebAssembly.Memory` used here (the project's TypeScript libs do not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer
  /** grows by `pages`, returning the old size in pages; throws a RangeError past the maximum */
  grow(pages: number): number
}

type WasmMemoryConstructor = new (descriptor: { initial: number; maximum: number }) => WasmMemory

export interface Engine {
  readonly module: QuickJSWASMModule
  readonly memory: WasmMemory
  /** bytes the memory starts with; an engine whose memory grew past this is dropped after its task */
  readonly initialBytes: number
  /** the hard cap */
  readonly maxBytes: number
  /**
   * Times the module asked its memory to grow past the cap and was refused: QuickJS ran out of memory (or,
   * if the memory grew after all, its first, larger request was cut down). An event, unlike the memory's
   * size: QuickJS rolls back what it could not build, and the memory of an engine that cannot grow (a heap
   * of 10 MiB or less fits in the 16 MiB minimum) says nothing. A script's own `throw null` looks exactly
   * like QuickJS running out of memory while it builds its error; this tells them apart.
   */
  readonly memoryRefusals: number
  /** names of the globals of a fresh context: a grant may not replace one */
  readonly globals: ReadonlySet<string>
}

/**
 * The memory cap, in pages, for tasks of `memoryBytes`.
 *
 * @example
 * enginePages(16 * 1024 * 1024) // 352 (22 MiB: the heap plus ENGINE_BASE_BYTES)
 */
export function enginePages(memoryBytes: number): number {
  return Math.max(ENGINE_MIN_PAGES, Math.ceil((memoryBytes + ENGINE_BASE_BYTES) / WASM_PAGE_BYTES))
}

/**
 * The variant inside whatever `import()` gave, as a plain object: Node's ESM puts it one `default` deeper
 * than a bundle does, and vitest's namespace proxy also answers `importFFI` on the namespace itself, so
 * this descends every `default` first and then copies the three fields (`newVariant()` spreads its argument;
 * a proxy's forwarded fields would not survive the spread, and the memory option would be lost).
 *
 * @example
 * variantOf(await import('@jitl/quickjs-singlefile-cjs-release-sync')).type // 'sync'
 */
export function variantOf(imported: unknown): QuickJSSyncVariant {
  let value = imported
  for (let depth = 0; depth < 3 && typeof value === 'object' && value !== null && 'default' in value; depth++)
    value = value.default
  const variant = value as Partial<QuickJSSyncVariant> | null
  if (
    variant === null ||
    typeof variant !== 'object' ||
    variant.type !== 'sync' ||
    typeof variant.importFFI !== 'function' ||
    typeof variant.importModuleLoader !== 'function'
  )
    throw new SandboxLoadError('@jitl/quickjs-singlefile-cjs-release-sync is not a sync QuickJS variant')
  const { importFFI, importModuleLoader } = variant
  return { type: 'sync', importFFI: () => importFFI(), importModuleLoader: () => importModuleLoader() }
}

function globalNames(module: QuickJSWASMModule): Set<string> {
  const context = module.newContext()
  try {
    const names = context.unwrapResult(context.evalCode('Object.getOwnPropertyNames(globalThis)'))
    const list: unknown = context.dump(names)
    names.dispose()
    if (!Array.isArray(list)) throw new SandboxLoadError('cannot list the globals of a QuickJS context')
    return new Set([...list.map(String), 'console', 'run'])
  } finally {
    context.dispose()
  }
}

/**
 * Loads a new engine whose memory can never exceed `enginePages(memoryBytes)` pages. The first call also
 * imports the two packages (lazily, so a node without script capabilities never pays for them). What the
 * module itself would print (an Emscripten abort message) goes to `onOutput` instead of the console.
 *
 * @example
 * const engine = await loadEngine(16 * 1024 * 1024)
 * const context = engine.module.newContext()
 * context.dump(context.unwrapResult(context.evalCode('6 * 7'))) // 42
 */
export async function loadEngine(
  memoryBytes: number,
  onOutput: (line: string) => void = () => {},
): Promise<Engine> {
  let core: typeof QuickJSCore
  let imported: unknown
  try {
    ;[core, imported] = await Promise.all([
      import('quickjs-emscripten-core'),
      import('@jitl/quickjs-singlefile-cjs-release-sync'),
    ])
  } catch (err) {
    throw new SandboxLoadError(`cannot import QuickJS: ${(err as Error).message}`, { cause: err })
  }
  const maxPages = enginePages(memoryBytes)
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly
  const memory = new Memory({ initial: ENGINE_MIN_PAGES, maximum: maxPages })
  // the module's heap-resize import calls `grow` on this very object (the import is the memory), so the
  // allocator's refusals can be counted without a custom build
  let refusals = 0
  const grow = memory.grow.bind(memory)
  memory.grow = (pages) => {
    try {
      return grow(pages)
    } catch (err) {
      refusals++
      throw err
    }
  }
  let module: QuickJSWASMModule
  try {
    // the glue writes `Aborted(…)` and the like to the console unless given these (not in its types)
    const emscriptenModule: EmscriptenModuleLoaderOptions &
      Record<'print' | 'printErr', (line: string) => void> = { print: onOutput, printErr: onOutput }
    const variant = core.newVariant(variantOf(imported), { wasmMemory: memory, emscriptenModule })
    module = await core.newQuickJSWASMModuleFromVariant(variant)
  } catch (err) {
    throw new SandboxLoadError(`cannot instantiate QuickJS: ${(err as Error).message}`, { cause: err })
  }
  if (module.getWasmMemory() !== memory)
    throw new SandboxLoadError('QuickJS did not take the memory it was given; its memory cap would not hold')
  return {
    module,
    memory,
    initialBytes: memory.buffer.byteLength,
    maxBytes: maxPages * WASM_PAGE_BYTES,
    get memoryRefusals() {
      return refusals
    },
    globals: globalNames(module),
  }
}
