/**
 * The virtual clock and event queue of the discrete-event simulator. Events run in time order; events at
 * the same time run in the order they were scheduled (a sequence number breaks ties), so a run never
 * depends on heap layout. Time is in ms and only moves when the next event is taken.
 */

interface Event {
  at: number
  seq: number
  run: () => void
}

/**
 * @example
 * const sim = new Simulator()
 * sim.after(100, () => console.log(sim.now)) // 100
 * sim.run()
 */
export class Simulator {
  #now = 0
  #seq = 0
  #heap: Event[] = []
  #wake = false
  /** events run so far */
  processed = 0

  /** The virtual time (ms); hand `() => sim.now` to modules that take a `now` function. */
  get now(): number {
    return this.#now
  }

  /** Events waiting. */
  get pending(): number {
    return this.#heap.length
  }

  /** Runs `run` at virtual time `at` (never before now). */
  at(at: number, run: () => void): void {
    this.#push({ at: Math.max(at, this.#now), seq: this.#seq++, run })
  }

  /** Runs `run` `delay` ms from now. */
  after(delay: number, run: () => void): void {
    this.at(this.#now + Math.max(0, delay), run)
  }

  /** Runs `run` every `period` ms from `first` ms on, while it returns anything but false. */
  every(period: number, run: () => boolean | void, first = period): void {
    const tick = () => {
      if (run() !== false) this.after(period, tick)
    }
    this.after(first, tick)
  }

  /** Runs events until none remain or the next is later than `until`; the clock ends at `until` if given. */
  run(until = Number.POSITIVE_INFINITY): void {
    for (let top = this.#heap[0]; top !== undefined && top.at <= until; top = this.#heap[0]) {
      this.#pop()
      this.#now = top.at
      this.processed++
      top.run()
    }
    if (until !== Number.POSITIVE_INFINITY) this.#now = Math.max(this.#now, until)
  }

  /**
   * Marks that the event running now settled a promise: {@link runAsync} lets the continuations run (they
   * may schedule events at this same virtual time) before it takes the next event.
   */
  wake(): void {
    this.#wake = true
  }

  /**
   * {@link run} for simulations that drive async code (kith's delegate awaits its task client): after an
   * event that called {@link wake}, every pending promise continuation runs before virtual time moves on.
   */
  async runAsync(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (let top = this.#heap[0]; top !== undefined && top.at <= until; top = this.#heap[0]) {
      this.#pop()
      this.#now = top.at
      this.processed++
      top.run()
      if (this.#wake) {
        this.#wake = false
        // setImmediate runs after every queued microtask, however long the chain of awaits
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    if (until !== Number.POSITIVE_INFINITY) this.#now = Math.max(this.#now, until)
  }

  #push(event: Event): void {
    const heap = this.#heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent] as Event)) break
      heap[i] = heap[parent] as Event
      i = parent
    }
    heap[i] = event
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      let value = last
      if (l < heap.length && before(heap[l] as Event, value)) {
        best = l
        value = heap[l] as Event
      }
      if (r < heap.length && before(heap[r] as Event, value)) best = r
      if (best === i) break
      heap[i] = heap[best] as Event
      i = best
    }
    heap[i] = last
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
