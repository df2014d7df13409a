/**
 * Reputation topics (arXiv 2606.17368, multi-topic EigenTrust): trust is earned and kept per topic, so that a
 * peer that reads sensors well earns nothing towards unlocking doors (the cross-topic disguise attack).
 *
 * The rule, the same on every node because opinions name topics:
 *
 *     topic = <kind> "." <family> [".high"]
 *
 * - `kind` is the capability's kind: `script`, `device` (an action) or `sensor` (a reading).
 * - `family` is found from words, each lower-cased and stemmed, looked up in {@link FAMILIES}: first the
 *   words of the last dot-segment of the id (the part or action: `front-door.unlock` → `unlock`), then, if
 *   none of those names a family, the words of the whole id and of every tag. Among the families the words
 *   name, the one listed first in {@link FAMILIES} wins, so the riskier family wins a tie and an extra tag
 *   cannot pull a lock into the lighting family. No family word at all: `general`.
 * - `.high` is added for risk `high`: trust earned switching a plug does not carry over to a plug the user
 *   marked high risk. Title and description are not read: prose mentions things in passing.
 *
 * The vocabulary is closed: 3 kinds × 12 families × 2 risk classes, {@link TOPICS}; an opinion about any other
 * topic is refused. A provider describes its own capabilities, so a topic is only as honest as the
 * description; what the rule guarantees is one topic per description on every node, with the kind and risk
 * that also choose the verification tier part of it.
 */
import { stemmer } from 'stemmer'
import type { Capability } from '../../discovery/descriptor.ts'
import { tokenize } from '../../discovery/matcher/index.ts'

/** Families in priority order, riskiest first; each with the words (unstemmed) that name it. */
export const FAMILIES: readonly (readonly [string, readonly string[]])[] = [
  [
    'access',
    ['lock', 'unlock', 'door', 'gate', 'garage', 'deadbolt', 'latch', 'bolt', 'keypad', 'entry', 'entrance'],
  ],
  [
    'security',
    ['security', 'alarm', 'siren', 'camera', 'cctv', 'arm', 'disarm', 'smoke', 'fire', 'leak', 'flood'],
  ],
  [
    'power',
    ['power', 'plug', 'outlet', 'socket', 'switch', 'relay', 'energy', 'meter', 'battery', 'electricity'],
  ],
  [
    'climate',
    ['climate', 'thermostat', 'heating', 'heater', 'hvac', 'radiator', 'temperature', 'humidity', 'fan'],
  ],
  ['lighting', ['light', 'lamp', 'bulb', 'dimmer', 'brightness', 'led', 'illuminance']],
  ['presence', ['presence', 'motion', 'occupancy', 'contact', 'vibration', 'doorbell', 'window']],
  ['covers', ['cover', 'blind', 'shade', 'curtain', 'shutter', 'awning']],
  ['media', ['media', 'speaker', 'audio', 'music', 'volume', 'tv', 'television', 'player']],
  ['vision', ['image', 'photo', 'picture', 'video', 'resize', 'thumbnail', 'transcode', 'ocr']],
  ['language', ['text', 'summarize', 'summarise', 'translate', 'llm', 'chat', 'speech', 'transcribe']],
  ['compute', ['compute', 'math', 'calculate', 'hash', 'convert', 'echo', 'script']],
]

export const GENERAL_FAMILY = 'general'
/** The topic of per-peer outcomes (invalid descriptors, invalid opinions): charged against every topic. */
export const PEER_TOPIC = '*'

const KINDS: readonly Capability['kind'][] = ['script', 'device', 'sensor']

/** stem → priority (index in FAMILIES) */
const FAMILY_OF_STEM = new Map<string, number>()
FAMILIES.forEach(([, words], priority) => {
  for (const word of words) {
    const stem = stemmer(word)
    if (!FAMILY_OF_STEM.has(stem)) FAMILY_OF_STEM.set(stem, priority)
  }
})

/** Every topic there is: the closed vocabulary opinions are checked against. */
export const TOPICS: ReadonlySet<string> = new Set(
  KINDS.flatMap((kind) =>
    [...FAMILIES.map(([family]) => family), GENERAL_FAMILY].flatMap((family) => [
      `${kind}.${family}`,
      `${kind}.${family}.high`,
    ]),
  ),
)

/** The highest-priority family the words of `texts` name, or -1. */
function bestFamily(texts: readonly string[]): number {
  let best = -1
  for (const text of texts) {
    for (const word of tokenize(text)) {
      const priority = FAMILY_OF_STEM.get(stemmer(word))
      if (priority !== undefined && (best < 0 || priority < best)) best = priority
    }
  }
  return best
}

/**
 * The reputation topic of a capability (see the file's comment for the rule).
 *
 * @example
 * topicOf({ id: 'front-door.unlock', kind: 'device', risk: 'high', tags: ['lock', 'door'], … }) // 'device.access.high'
 * topicOf({ id: 'hall.temperature', kind: 'sensor', risk: 'low', tags: ['climate'], … }) // 'sensor.climate'
 * topicOf({ id: 'echo', kind: 'script', risk: 'low', tags: [], … }) // 'script.compute'
 */
export function topicOf(capability: Pick<Capability, 'id' | 'kind' | 'risk' | 'tags'>): string {
  const part = capability.id.slice(capability.id.lastIndexOf('.') + 1)
  let priority = bestFamily([part])
  if (priority < 0) priority = bestFamily([capability.id, ...capability.tags])
  const family = priority < 0 ? GENERAL_FAMILY : (FAMILIES[priority] as readonly [string, unknown])[0]
  return `${capability.kind}.${family}${capability.risk === 'high' ? '.high' : ''}`
}

/**
 * True for a topic of the vocabulary (not {@link PEER_TOPIC}).
 *
 * @example
 * isTopic('sensor.climate') // true
 * isTopic('sensor.weather') // false
 */
export function isTopic(name: string): boolean {
  return TOPICS.has(name)
}
