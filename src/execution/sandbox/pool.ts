/**
 * The engines of one sandbox: loaded on demand, at most `maxEngines` of them, each lent to one task at a
 * time and taken back healthy or dropped. Tasks beyond `maxEngines` wait in order for a free engine (the
 * scheduler bounds how many can wait); a waiting task can be aborted.
 */
import type { Engine } from './engine.ts'
import { SandboxClosedError } from './errors.ts'

export interface EnginePoolInit {
  maxEngines: number
  load: () => Promise<Engine>
}

interface Waiter {
  /** false if the waiter has gone (aborted); the engine then goes back to the pool */
  give(engine: Engine): boolean
  fail(err: unknown): void
}

/**
 * @example
 * const pool = new EnginePool({ maxEngines: 4, load: () => loadEngine(16 * 1024 * 1024) })
 * const engine = await pool.acquire(signal)
 * try { … } finally { healthy ? pool.release(engine) : pool.discard(engine) }
 */
export class EnginePool {
  readonly #init: EnginePoolInit
  readonly #idle: Engine[] = []
  readonly #waiters: Waiter[] = []
  /** lent engines whose task has ended and that will be back in a moment (see `finishing`) */
  readonly #finishing = new Set<Engine>()
  /** engines idle, lent or loading */
  #size = 0
  #closed = false

  constructor(init: EnginePoolInit) {
    this.#init = init
  }

  /** engines loaded and not dropped */
  get size(): number {
    return this.#size
  }

  /** true when an engine is idle (`acquire` would get it at once) */
  get hasIdle(): boolean {
    return this.#idle.length > 0
  }

  /** An engine for one task: an idle one, a new one if there is room, else the next one released. */
  acquire(signal?: AbortSignal): Promise<Engine> {
    if (this.#closed) return Promise.reject(new SandboxClosedError())
    if (signal?.aborted) return Promise.reject(signal.reason)
    const idle = this.#idle.pop()
    if (idle !== undefined) return Promise.resolve(idle)
    // an engine about to come back serves the next waiter sooner than a new one would load
    if (this.#size < this.#init.maxEngines && this.#waiters.length >= this.#finishing.size)
      return this.#load()
    return new Promise<Engine>((resolve, reject) => {
      let done = false
      const onAbort = () => {
        done = true
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        give: (engine) => {
          if (done) return false
          done = true
          signal?.removeEventListener('abort', onAbort)
          resolve(engine)
          return true
        },
        fail: (err) => {
          if (done) return
          done = true
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /** Notes that a lent engine's task has ended and the engine will be released or discarded shortly. */
  finishing(engine: Engine): void {
    this.#finishing.add(engine)
  }

  /** Takes back a healthy engine. */
  release(engine: Engine): void {
    this.#finishing.delete(engine)
    if (this.#closed) {
      this.#size--
      return
    }
    for (let waiter = this.#waiters.shift(); waiter !== undefined; waiter = this.#waiters.shift())
      if (waiter.give(engine)) return
    this.#idle.push(engine)
  }

  /** Drops an engine that is not to be reused; a waiting task gets a newly loaded one. */
  discard(engine: Engine): void {
    this.#finishing.delete(engine)
    this.#size--
    const waiter = this.#closed ? undefined : this.#waiters.shift()
    if (waiter === undefined) return
    this.#load().then(
      (engine) => {
        if (!waiter.give(engine)) this.release(engine)
      },
      (err: unknown) => waiter.fail(err),
    )
  }

  /** Drops the idle engines and refuses new tasks; engines still lent are dropped when they come back. */
  close(): void {
    this.#closed = true
    this.#size -= this.#idle.length
    this.#idle.length = 0
    for (const waiter of this.#waiters.splice(0)) waiter.fail(new SandboxClosedError())
  }

  async #load(): Promise<Engine> {
    this.#size++
    try {
      return await this.#init.load()
    } catch (err) {
      this.#size--
      throw err
    }
  }
}
