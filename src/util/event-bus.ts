/**
 * A typed event bus for one node (after Zigbee2MQTT's lib/eventBus.ts): planes publish what changed, and
 * whoever cares (the API's event stream, the capability index, a re-announce) listens, without the
 * publisher knowing them. Each plane declares the events it emits as a map from name to payload; the
 * node's bus carries the union, and each plane is handed it typed to its own map ({@link Events}).
 */
import type { Logger } from './logger.ts'

/** An event map: event name → payload. */
export type EventMap = object

/** Calls `listener` with an event's payload. */
export type Listener<P> = (payload: P) => void

/** What a plane sees of the bus: subscribe and publish, over its own events only. */
export interface Events<E extends EventMap> {
  /**
   * Calls `listener` on every `event` from now on; returns the function that removes it. With `owner`,
   * {@link EventBus.off} removes every listener of that owner at once (a part that stops).
   */
  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>, owner?: object): () => void
  /** Calls the listeners of `event`, in the order they subscribed, with `payload`. */
  emit<K extends keyof E & string>(event: K, payload: E[K]): void
}

export interface EventBusInit {
  /**
   * where a listener's failure goes (the other listeners still run); without one, the first failure is
   * thrown to the emitter once every listener ran
   */
  log?: Pick<Logger, 'warn'>
}

interface Subscription {
  listener: Listener<never>
  owner: object | undefined
}

/**
 * @example
 * interface StoreEvents { descriptor: { peer: string } }
 * const bus = new EventBus<StoreEvents>({ log })
 * const off = bus.on('descriptor', ({ peer }) => index.refresh(peer), index)
 * bus.emit('descriptor', { peer })
 * bus.off(index) // or off()
 */
export class EventBus<E extends EventMap> implements Events<E> {
  readonly #subscriptions = new Map<string, Subscription[]>()
  readonly #log: Pick<Logger, 'warn'> | undefined

  constructor(init: EventBusInit = {}) {
    this.#log = init.log
  }

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>, owner?: object): () => void {
    // keyed by identity: the same listener subscribed twice to one event is called once
    const existing = this.#subscriptions.get(event)?.find((s) => s.listener === listener)
    const subscription: Subscription = existing ?? { listener: listener as Listener<never>, owner }
    if (existing !== undefined) return () => this.#remove(event, (s) => s === subscription)
    // a new array on every change: an emit under way keeps iterating the one it started with
    this.#subscriptions.set(event, [...(this.#subscriptions.get(event) ?? []), subscription])
    return () => this.#remove(event, (s) => s === subscription)
  }

  /** Removes every listener that `owner` subscribed, on every event. */
  off(owner: object): void {
    for (const event of [...this.#subscriptions.keys()]) this.#remove(event, (s) => s.owner === owner)
  }

  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    const subscriptions = this.#subscriptions.get(event)
    if (subscriptions === undefined) return
    let failure: { err: unknown } | undefined
    for (const { listener } of subscriptions) {
      try {
        ;(listener as Listener<E[K]>)(payload)
      } catch (err) {
        // one listener's bug must not keep the others from hearing the change
        if (this.#log !== undefined) this.#log.warn({ err, event }, 'an event listener failed')
        else failure ??= { err }
      }
    }
    if (failure !== undefined) throw failure.err
  }

  /** Listeners of `event`, or of every event when none is named. */
  listenerCount(event?: keyof E & string): number {
    if (event !== undefined) return this.#subscriptions.get(event)?.length ?? 0
    let count = 0
    for (const subscriptions of this.#subscriptions.values()) count += subscriptions.length
    return count
  }

  #remove(event: string, match: (s: Subscription) => boolean): void {
    const subscriptions = this.#subscriptions.get(event)
    if (subscriptions === undefined) return
    const kept = subscriptions.filter((s) => !match(s))
    if (kept.length > 0) this.#subscriptions.set(event, kept)
    else this.#subscriptions.delete(event)
  }
}
