/**
 * The check every MQTT topic kith publishes or subscribes to exactly must pass. It sits in util because the
 * config schema (device topics a user writes) and the devices plane (topics a device announces) both apply it.
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
