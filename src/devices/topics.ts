/**
 * MQTT topics: filter matching (`+` one level, `#` the rest) and a router from filters to handlers, reference-counted so the link subscribes to
 * a filter once however many parts of the node want it.
 */

/**
 * True when `topic` matches `filter` by the MQTT rules ($-topics match only filters that name them).
 *
 * @example
 * topicMatches('homeassistant/+/+/config', 'homeassistant/light/desk/config') // true
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true
  if (topic.startsWith('$') && !filter.startsWith('$')) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

export class TopicRouter<H> {
  readonly #routes = new Map<string, Set<H>>()

  get filters(): string[] {
    return [...this.#routes.keys()]
  }

  /** Adds a handler; true when the filter is new (the caller should subscribe). */
  add(filter: string, handler: H): boolean {
    const set = this.#routes.get(filter)
    if (set != null) {
      set.add(handler)
      return false
    }
    this.#routes.set(filter, new Set([handler]))
    return true
  }

  /** Removes a handler; true when no handler is left for the filter (the caller should unsubscribe). */
  remove(filter: string, handler: H): boolean {
    const set = this.#routes.get(filter)
    if (set == null || !set.delete(handler)) return false
    if (set.size > 0) return false
    this.#routes.delete(filter)
    return true
  }

  /** Every handler whose filter matches the topic. */
  match(topic: string): H[] {
    const exact = this.#routes.get(topic)
    const out: H[] = exact != null ? [...exact] : []
    for (const [filter, set] of this.#routes) {
      if (filter === topic || !/[+#]/.test(filter)) continue
      if (topicMatches(filter, topic)) out.push(...set)
    }
    return out
  }
}
