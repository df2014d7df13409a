/**
 * One lifecycle for everything in a node that runs (after js-libp2p's `Startable`): each part may have
 * `start`, `afterStart`, `beforeStop` and `stop`, sync or async. A {@link Lifecycle} starts its parts in
 * the order they were added (a part's dependencies are added before it), unwinds them when one fails, and
 * stops them in reverse, past failures, so that every port, worker and file handle is released.
 */
import type { Logger } from './logger.ts'

/** What a part of a node does when the node starts and stops; every hook is optional. */
export interface Startable {
  /** acquires what the part runs on (sockets, workers, timers); the parts added before it have started */
  start?(): void | Promise<void>
  /** runs once every part has started: work that needs the others running (a first announce) */
  afterStart?(): void | Promise<void>
  /** runs before any part stops: let go of what the others are still serving (subscriptions) */
  beforeStop?(): void | Promise<void>
  /** releases what `start` acquired; also called on a part whose start failed half-way */
  stop?(): void | Promise<void>
}

export interface LifecycleInit {
  /** where clean-up failures after a failed start go (at debug: the caller reports the cause) */
  log?: Logger
}

interface Entry {
  name: string
  part: Startable
}

/**
 * Runs a node's parts through one start and one stop.
 *
 * @example
 * const lifecycle = new Lifecycle({ log })
 * lifecycle.add('database', { stop: () => db.close() })
 * lifecycle.add('host', host)
 * await lifecycle.start() // database, then host; on a failure both are stopped again and the cause thrown
 * await lifecycle.stop() // host, then database
 */
export class Lifecycle {
  readonly #entries: Entry[] = []
  readonly #log: Logger | undefined
  /** the parts whose start ran (or began), in start order: the ones a stop has to stop */
  #live: Entry[] = []
  #state: 'idle' | 'starting' | 'started' | 'stopped' = 'idle'
  #starting: Promise<void> | undefined

  constructor(init: LifecycleInit = {}) {
    this.#log = init.log
  }

  /** The names of the parts, in start order. */
  get names(): string[] {
    return this.#entries.map((e) => e.name)
  }

  /**
   * Adds `part` after the ones already added: it starts after them and stops before them. Throws when the
   * name is taken or the container has already started.
   */
  add(name: string, part: Startable): this {
    if (this.#state !== 'idle') throw new Error(`cannot add ${name}: the lifecycle has already started`)
    if (this.#entries.some((e) => e.name === name)) throw new Error(`a part named ${name} is already added`)
    this.#entries.push({ name, part })
    return this
  }

  /**
   * Starts every part in order, then runs every `afterStart` in order. When one fails, the parts started so
   * far (and the one that failed, which may hold a socket already) are stopped in reverse; their own
   * failures are logged at debug and the original error is thrown.
   */
  start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`the lifecycle cannot start: it is ${this.#state}`)
    this.#state = 'starting'
    this.#starting = this.#start()
    return this.#starting
  }

  async #start(): Promise<void> {
    try {
      for (const entry of this.#entries) {
        this.#live.push(entry)
        await entry.part.start?.()
      }
      for (const entry of this.#entries) await entry.part.afterStart?.()
    } catch (err) {
      for (const failure of await this.#stopLive())
        this.#log?.debug({ err: failure.err, part: failure.name }, 'clean-up after a failed start failed')
      this.#state = 'stopped'
      throw err
    }
    this.#state = 'started'
  }

  /**
   * Runs every `beforeStop` in reverse, then every `stop` in reverse, each even when an earlier one failed;
   * throws the first failure once all have run. A container that never started stops every part (each
   * part's stop is safe on a part that never started); one stopped already does nothing.
   */
  async stop(): Promise<void> {
    if (this.#state === 'starting') await this.#starting?.catch(() => undefined)
    if (this.#state === 'stopped') return
    if (this.#state === 'idle') this.#live = [...this.#entries]
    this.#state = 'stopped'
    const [first] = await this.#stopLive()
    if (first !== undefined) throw first.err
  }

  /** Stops the live parts in reverse; returns the failures in the order they happened. */
  async #stopLive(): Promise<Array<{ name: string; err: unknown }>> {
    const live = this.#live.reverse()
    this.#live = []
    const failures: Array<{ name: string; err: unknown }> = []
    for (const hook of ['beforeStop', 'stop'] as const)
      for (const { name, part } of live) {
        try {
          await part[hook]?.()
        } catch (err) {
          failures.push({ name, err })
        }
      }
    return failures
  }
}
