/**
 * MQTT topics: the check every topic kith publishes or subscribes to exactly must pass, filter matching (`+`
 * one level, `#` the rest) and a router from filters to handlers, reference-counted so the link subscribes to
 * a filter once however many parts of the node want it.
 */

/** Longest topic a profile may name, in UTF-8 bytes as MQTT counts them (the protocol allows 65,535). */
export const MAX_TOPIC_BYTES = 512
/** Longest topic taken from a discovery message (a device's word, so held to less), in UTF-8 bytes. */
export const MAX_DISCOVERED_TOPIC_BYTES = 256

export interface TopicRules {
  /** default {@link MAX_TOPIC_BYTES} */
  maxBytes?: number
  /** the topic was filled from a template: a `{` or `}` left in it is a placeholder that was not replaced */
  filled?: boolean
}

/**
 * Why `topic` cannot be published or subscribed to exactly, or undefined when it can: not a string, empty,
 * over `maxBytes`, wildcards, NUL and control characters, a leading `$` (the broker's own), empty or `.`/`..`
 * levels; with `filled`, a `{` or `}` left over.
 *
 * @example
 * topicProblem('zigbee2mqtt/plug/set') // undefined
 * topicProblem('zigbee2mqtt/+/set') // 'contains a wildcard (+ or #)'
 * topicProblem(discovered, { maxBytes: MAX_DISCOVERED_TOPIC_BYTES })
 */
export function topicProblem(topic: unknown, rules: TopicRules = {}): string | undefined {
  const maxBytes = rules.maxBytes ?? MAX_TOPIC_BYTES
  if (typeof topic !== 'string') return 'is not a string'
  if (topic.length === 0) return 'is empty'
  if (Buffer.byteLength(topic) > maxBytes) return `is longer than ${maxBytes} bytes`
  if (/[+#]/.test(topic)) return 'contains a wildcard (+ or #)'
  for (let i = 0; i < topic.length; i++) {
    const code = topic.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return 'contains a NUL or control character'
  }
  if (topic.startsWith('$')) return 'starts with "$", which brokers reserve for themselves'
  const levels = topic.split('/')
  if (levels.includes('')) return 'has an empty level (a leading, trailing or double "/")'
  if (levels.some((l) => l === '.' || l === '..')) return 'has a "." or ".." level'
  if (rules.filled === true && /[{}]/.test(topic))
    return 'has a "{" or "}" that is not a {base} or {id} placeholder'
  return undefined
}

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
