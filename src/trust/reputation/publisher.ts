/**
 * This node's side of the opinion exchange: every `opinionInterval` it signs one opinion per topic it has
 * records on (its normalised local row, the 64 highest entries) and hands them to the transport; after a
 * record it checks, at most every `min(opinionInterval, 10 s)`, whether a row moved by more than 0.1 (L1)
 * since it was last sent, and if so sends that topic's opinion early. `seq` is persisted, so a restart never
 * reuses one and receivers never take a new opinion for a replay.
 */
import type { KeyValue } from '../../store/kv.ts'
import type { Logger } from '../../util/logger.ts'
import { MAX_OPINION_ENTRIES, MIN_PUBLISH_GAP_MS, SIGNIFICANT_CHANGE } from './constants.ts'
import { localRow } from './global.ts'
import { type Opinion, signOpinion } from './opinion.ts'
import type { LocalRecords } from './records.ts'

const SEQ_KEY = 'trust.opinion.seq'

export interface OpinionPublisherComponents {
  self: string
  sign(data: Uint8Array): Uint8Array
  kv: KeyValue
  records: LocalRecords
  now(): number
  /** sends one signed opinion; absent: opinions are only made, for {@link OpinionPublisher.sign} callers */
  send?(bytes: Uint8Array): Promise<void>
  log: Logger
}

export interface OpinionPublisherInit {
  /** ms */
  opinionInterval: number
}

/**
 * @example
 * const publisher = new OpinionPublisher({ self, sign, kv, records, now: Date.now, send, log }, { opinionInterval })
 * publisher.start()
 * publisher.changed('sensor.climate') // after a record: sent early if the row moved enough
 */
export class OpinionPublisher {
  readonly #c: OpinionPublisherComponents
  readonly #interval: number
  readonly #gap: number
  /** what was last sent per topic */
  readonly #sent = new Map<string, Map<string, number>>()
  /** the caught list last sent per topic, joined */
  readonly #sentCaught = new Map<string, string>()
  readonly #pending = new Set<string>()
  #seq = 0
  #lastAt = -Infinity
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Timeout | undefined
  #running = false

  constructor(components: OpinionPublisherComponents, init: OpinionPublisherInit) {
    this.#c = components
    this.#interval = init.opinionInterval
    this.#gap = Math.min(init.opinionInterval, MIN_PUBLISH_GAP_MS)
    this.#seq = Number(components.kv.get(SEQ_KEY) ?? 0) || 0
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#timer = setInterval(() => this.#publishLater(this.publishAll()), this.#interval).unref()
    this.#publishLater(this.publishAll())
  }

  /** A publication from a timer: nobody awaits it, so a failed send is logged, not left to end the node. */
  #publishLater(publication: Promise<void>): void {
    publication.catch((err: unknown) => {
      this.#c.log.warn({ err }, 'opinions not published; the next round tries again')
    })
  }

  stop(): void {
    this.#running = false
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    this.#soon = undefined
  }

  /**
   * The opinion this node holds on `topic` now, signed with a new seq; undefined when it rates nobody.
   *
   * @example
   * other.receive(publisher.sign('sensor.climate')!, self)
   */
  sign(topic: string): Uint8Array | undefined {
    const row = this.#row(topic)
    const caught = this.#c.records.liars(topic, this.#c.now(), MAX_OPINION_ENTRIES)
    if (row.size === 0 && caught.length === 0) return undefined
    const opinion: Opinion = {
      from: this.#c.self,
      topic,
      seq: ++this.#seq,
      at: this.#c.now(),
      entries: [...row].map(([peer, value]) => ({ peer, value })),
      ...(caught.length > 0 ? { caught } : {}),
    }
    this.#c.kv.set(SEQ_KEY, String(this.#seq))
    this.#sent.set(topic, row)
    this.#sentCaught.set(topic, caught.join('\n'))
    return signOpinion(opinion, this.#c.sign)
  }

  /** Sends the opinion of every topic with records now. */
  async publishAll(): Promise<void> {
    if (!this.#running || this.#c.send === undefined) return
    this.#lastAt = this.#c.now()
    this.#pending.clear()
    for (const topic of this.#c.records.topics()) {
      const bytes = this.sign(topic)
      if (bytes !== undefined) await this.#c.send(bytes)
    }
  }

  /** A record on `topic` changed: send its opinion early if the row moved enough. */
  changed(topic: string): void {
    if (!this.#running) return
    this.#pending.add(topic)
    if (this.#soon !== undefined) return
    const wait = Math.max(0, this.#lastAt + this.#gap - this.#c.now())
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      this.#publishLater(this.#publishChanged())
    }, wait).unref()
  }

  async #publishChanged(): Promise<void> {
    if (!this.#running || this.#c.send === undefined) return
    const topics = [...this.#pending]
    this.#pending.clear()
    for (const topic of topics) {
      // a newly caught liar is news at once; a row that moved a little waits for the interval
      const caught = this.#c.records.liars(topic, this.#c.now(), MAX_OPINION_ENTRIES).join('\n')
      const moved = distance(this.#row(topic), this.#sent.get(topic)) > SIGNIFICANT_CHANGE
      if (!moved && caught === (this.#sentCaught.get(topic) ?? '')) continue
      this.#lastAt = this.#c.now()
      const bytes = this.sign(topic)
      if (bytes !== undefined) await this.#c.send(bytes)
      this.#c.log.debug({ topic }, 'opinion sent early: the local row changed')
    }
  }

  /** The normalised local row, its highest MAX_OPINION_ENTRIES entries. */
  #row(topic: string): Map<string, number> {
    const row = localRow(this.#c.records.row(topic, this.#c.now()))
    if (row.size <= MAX_OPINION_ENTRIES) return row
    return new Map([...row].sort((a, b) => b[1] - a[1]).slice(0, MAX_OPINION_ENTRIES))
  }
}

/** L1 distance between two rows. */
function distance(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number> | undefined): number {
  let d = 0
  for (const [peer, v] of a) d += Math.abs(v - (b?.get(peer) ?? 0))
  if (b !== undefined) for (const [peer, v] of b) if (!a.has(peer)) d += v
  return d
}
