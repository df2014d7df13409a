/**
 * The last retained message of each topic the link has seen, bounded by bytes and count, for a handler that
 * joins a filter the link already subscribes to (mqtt-link.ts). A broker forwards live updates of a retained
 * topic with the retain flag cleared (MQTT 3.1.1 §3.3.1.3), so once a topic is known to be retained, every
 * later message on it updates the entry; a retained empty payload clears the topic, as it does at the broker.
 */
import { topicMatches } from './topics.ts'
import { BoundedMap } from '../util/bounded-map.ts'

export interface RetainedCacheInit {
  /** payload and topic bytes kept at most; the least recently written topic goes first */
  maxBytes: number
  /** topics kept at most */
  maxTopics?: number
}

const DEFAULT_MAX_TOPICS = 16_384

export class RetainedCache {
  readonly #maxBytes: number
  readonly #entries: BoundedMap<string, Buffer>
  #bytes = 0
  /** entries evicted to stay within the bounds, for metrics */
  evicted = 0

  constructor(init: RetainedCacheInit) {
    this.#maxBytes = init.maxBytes
    this.#entries = new BoundedMap({
      max: init.maxTopics ?? DEFAULT_MAX_TOPICS,
      onEvict: (topic, payload) => {
        this.#bytes -= topic.length + payload.byteLength
        this.evicted += 1
      },
    })
  }

  get size(): number {
    return this.#entries.size
  }

  get bytes(): number {
    return this.#bytes
  }

  /**
   * Takes in a message: a retained one is kept (an empty one clears its topic), and a live one updates a topic
   * already kept.
   *
   * @example
   * cache.note('zigbee2mqtt/bridge/state', Buffer.from('{"state":"online"}'), true)
   */
  note(topic: string, payload: Buffer, retain: boolean): void {
    const held = this.#entries.has(topic)
    if (!retain && !held) return
    if (held) this.#delete(topic)
    if (retain && payload.byteLength === 0) return
    const cost = topic.length + payload.byteLength
    if (cost > this.#maxBytes) return
    while (this.#bytes + cost > this.#maxBytes) this.#entries.evictOldest()
    // past maxTopics, setting evicts the oldest topic
    this.#entries.set(topic, payload)
    this.#bytes += cost
  }

  /**
   * The kept messages whose topic `filter` matches, oldest first.
   *
   * @example
   * for (const [topic, payload] of cache.matching('zigbee2mqtt/+/state')) handler(topic, payload)
   */
  matching(filter: string): Array<[string, Buffer]> {
    if (!/[+#]/.test(filter)) {
      const exact = this.#entries.get(filter)
      return exact != null ? [[filter, exact]] : []
    }
    return [...this.#entries].filter(([topic]) => topicMatches(filter, topic))
  }

  /** Drops every kept topic that `keep` refuses (a filter nobody subscribes to any more). */
  prune(keep: (topic: string) => boolean): void {
    for (const topic of [...this.#entries.keys()]) if (!keep(topic)) this.#delete(topic)
  }

  #delete(topic: string): void {
    const payload = this.#entries.get(topic)
    if (payload == null) return
    this.#entries.delete(topic)
    this.#bytes -= topic.length + payload.byteLength
  }
}
