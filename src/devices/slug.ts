/**
 * Names and topics for imported devices: ids that fit `DEVICE_ID`/`PART_ID` whatever a discovery message
 * calls its device.
 */
import { DEVICE_ID } from '../config/devices-schema.ts'
import { sha256Hex } from '../util/canonical.ts'

export const MAX_DEVICE_ID = 31
export const MAX_PART_ID = 32

/** A short stable hex digest of `text` (sha256). */
export function shortHash(text: string, length = 6): string {
  return sha256Hex(text).slice(0, length)
}

/**
 * Lowercase letters, digits, `_` and `-`; every other run of characters becomes `_`; no `_`/`-` at the ends.
 *
 * @example
 * slugify('Living Room: Sensor') // 'living_room_sensor'
 */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '')
}

/**
 * `slug` cut to `max` characters; a cut slug ends in a hash of `key` so that different keys stay apart.
 *
 * @example
 * fitId('temperature', 'x', 32) // 'temperature'
 */
export function fitId(slug: string, key: string, max: number): string {
  const base = slug === '' ? 'part' : slug
  if (base.length <= max) return base
  return `${base.slice(0, max - 7).replace(/[_-]+$/, '')}-${shortHash(key)}`
}

/**
 * The device id for a discovery key: the key itself when, lowercased, it is a valid id; otherwise its slug
 * shortened and suffixed with a hash of the key (so two keys that slug alike still differ).
 *
 * @example
 * deviceIdFor('zigbee2mqtt_0x00158d0001a2b3c4') // 'zigbee2mqtt_0x00158d0001a2b3c4'
 */
export function deviceIdFor(key: string): string {
  const lower = key.toLowerCase()
  if (DEVICE_ID.test(lower)) return lower
  return hashedId(key, key)
}

/** The slug of `label`, cut to leave room for a hash of `key`. */
function hashedId(label: string, key: string): string {
  const slug = slugify(label)
    .slice(0, MAX_DEVICE_ID - 7)
    .replace(/[_-]+$/, '')
  return `${slug === '' ? 'device' : slug}-${shortHash(key)}`
}

/**
 * Hands out device ids: a key keeps its id while it holds it; a key whose preferred id is taken by another
 * key gets the hashed form of its own key instead, which depends only on that key.
 */
export class IdAllocator {
  readonly #owner = new Map<string, string>()
  readonly #ids = new Map<string, string>()

  /** The id held by `key`, allocating one (from `label`, by default the key) if it has none. */
  claim(key: string, label = key): string {
    const held = this.#ids.get(key)
    if (held != null) return held
    let id = deviceIdFor(label)
    if (this.#owner.has(id)) id = hashedId(label, key)
    for (let n = 2; this.#owner.has(id); n++) id = hashedId(label, `${key}#${n}`)
    this.#owner.set(id, key)
    this.#ids.set(key, id)
    return id
  }

  release(key: string): void {
    const id = this.#ids.get(key)
    if (id == null) return
    this.#ids.delete(key)
    this.#owner.delete(id)
  }
}
