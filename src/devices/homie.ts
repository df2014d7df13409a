/**
 * The Homie convention: v5 devices describe themselves in one retained JSON document,
 * `homie/5/<device>/$description`; v3/v4 devices in retained attribute topics (`$homie`, `$nodes`,
 * `<node>/$properties`, `<node>/<property>/$datatype`, …), from which a device is assembled once its
 * nodes, property lists and datatypes have arrived, and updated as more attributes come. Every property
 * becomes a sensor; every settable one also an action publishing to `…/<property>/set`, confirmed when the
 * property topic reports the value sent (retained properties only). Availability is `$state`: `ready`
 * online, `lost`/`disconnected` offline.
 *
 * Refusals, never thrown: `oversize`, `malformed_json`, `bad_topic`, `bad_description`, `too_many_devices`.
 *
 * Its parts: reading descriptions and attribute trees (homie-description.ts), and the device spec they
 * become (homie-spec.ts).
 */
import { IdAllocator } from './slug.ts'
import type { DiscoveryImporter } from './types.ts'
import { importing, type ImportResult, refuse } from './refusal.ts'
import {
  assembleV4,
  HOMIE_ID,
  list,
  parseV5,
  V4_DEVICE_ATTRIBUTES,
  V4_NODE_ATTRIBUTES,
  V4_PROPERTY_ATTRIBUTES,
} from './homie-description.ts'
import type { Description } from './homie-description.ts'
import { homieDevice } from './homie-spec.ts'

export interface HomieImporterInit {
  /** base topic; default `homie` */
  prefix?: string
  /** larger messages are refused (`oversize`); default 16 KiB */
  maxPayloadBytes?: number
  /** messages for further devices are refused (`too_many_devices`); default 256 */
  maxDevices?: number
  /** ms an action waits for the property to report the value sent; default 5000 */
  confirmTimeout?: number
}

const MAX_ATTRIBUTES = 2048

interface Tracked {
  id: string
  /** v4 attributes by path below the device (`$nodes`, `pump/$properties`, `pump/power/$datatype`) */
  attributes?: Map<string, string>
  /** the spec last reported, as JSON */
  last?: string
}

type Result = ImportResult

/**
 * Imports Homie v5 descriptions and v3/v4 attribute trees.
 *
 * @example
 * const homie = new HomieImporter()
 * homie.handle('homie/5/lamp/$description', new TextEncoder().encode(JSON.stringify({
 *   homie: '5.0', version: 1, nodes: { light: { properties: { on: { datatype: 'boolean', settable: true } } } } })))
 * // { events: [{ type: 'upsert', device: { id: 'lamp', actions: [{ id: 'light_on_set', … }], … } }], … }
 */
export class HomieImporter implements DiscoveryImporter {
  readonly source = 'homie' as const
  readonly subscriptions: string[]
  readonly #prefix: string
  readonly #maxPayloadBytes: number
  readonly #maxDevices: number
  readonly #timeout: number
  /** by `5:<id>` or `4:<id>` */
  readonly #devices = new Map<string, Tracked>()
  readonly #ids = new IdAllocator()

  constructor(init: HomieImporterInit = {}) {
    this.#prefix = init.prefix ?? 'homie'
    this.#maxPayloadBytes = init.maxPayloadBytes ?? 16 * 1024
    this.#maxDevices = init.maxDevices ?? 256
    this.#timeout = init.confirmTimeout ?? 5_000
    const p = this.#prefix
    this.subscriptions = [
      `${p}/5/+/$description`,
      ...[...V4_DEVICE_ATTRIBUTES].map((a) => `${p}/+/${a}`),
      ...[...V4_NODE_ATTRIBUTES].map((a) => `${p}/+/+/${a}`),
      ...[...V4_PROPERTY_ATTRIBUTES].map((a) => `${p}/+/+/+/${a}`),
    ]
  }

  handle(topic: string, payload: Uint8Array): Result {
    return importing(topic, (result) => this.#handle(topic, payload, result))
  }

  #handle(topic: string, payload: Uint8Array, result: Result): void {
    if (typeof topic !== 'string' || !topic.startsWith(`${this.#prefix}/`))
      refuse('bad_topic', 'not a Homie topic')
    const levels = topic.slice(this.#prefix.length + 1).split('/')
    if (!(payload instanceof Uint8Array)) refuse('bad_description', 'payload is not bytes')
    if (payload.byteLength > this.#maxPayloadBytes) {
      refuse(
        'oversize',
        `message of ${payload.byteLength} bytes is over the ${this.#maxPayloadBytes}-byte limit`,
      )
    }
    if (levels[0] === '5') return this.#v5(levels, payload, result)
    return this.#v4(levels, payload, result)
  }

  #v5(levels: string[], payload: Uint8Array, result: Result): void {
    const [, deviceId = '', attribute] = levels
    if (levels.length !== 3 || attribute !== '$description') return
    if (!HOMIE_ID.test(deviceId)) refuse('bad_topic', `"${deviceId}" is not a Homie id`)
    const key = `5:${deviceId}`
    if (payload.byteLength === 0) return this.#remove(key, result)
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
    } catch (err) {
      refuse('malformed_json', `$description is not JSON: ${(err as Error).message}`)
    }
    const description = parseV5(raw)
    const tracked = this.#track(key, deviceId)
    this.#report(tracked, `${this.#prefix}/5/${deviceId}`, description, result)
  }

  #v4(levels: string[], payload: Uint8Array, result: Result): void {
    const [deviceId = '', ...path] = levels
    const attribute = path.at(-1) ?? ''
    const known =
      (path.length === 1 && V4_DEVICE_ATTRIBUTES.has(attribute)) ||
      (path.length === 2 && V4_NODE_ATTRIBUTES.has(attribute)) ||
      (path.length === 3 && V4_PROPERTY_ATTRIBUTES.has(attribute))
    if (!known) return
    for (const id of [deviceId, ...path.slice(0, -1)]) {
      if (!HOMIE_ID.test(id)) refuse('bad_topic', `"${id}" is not a Homie id`)
    }
    const key = `4:${deviceId}`
    if (attribute === '$homie' && payload.byteLength === 0) return this.#remove(key, result)
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(payload)
    } catch {
      refuse('bad_description', `${attribute} is not UTF-8 text`)
    }
    let tracked = this.#devices.get(key)
    if (tracked == null) {
      if (payload.byteLength === 0) return
      tracked = this.#track(key, deviceId)
    }
    const attributes = (tracked.attributes ??= new Map())
    const name = path.join('/')
    if (text === '') attributes.delete(name)
    else {
      if (!attributes.has(name) && attributes.size >= MAX_ATTRIBUTES) {
        refuse('bad_description', `device has more than ${MAX_ATTRIBUTES} attributes`)
      }
      attributes.set(name, text)
    }
    if (attribute === '$nodes' || attribute === '$properties') {
      const bad = list(text).filter((id) => !HOMIE_ID.test(id))
      if (bad.length > 0) {
        result.rejections.push({
          reason: 'bad_description',
          topic: `${this.#prefix}/${levels.join('/')}`,
          message: `not Homie ids (skipped): ${bad.slice(0, 5).join(', ')}`,
        })
      }
    }
    this.#report(tracked, `${this.#prefix}/${deviceId}`, assembleV4(attributes), result)
  }

  #track(key: string, deviceId: string): Tracked {
    const existing = this.#devices.get(key)
    if (existing != null) return existing
    if (this.#devices.size >= this.#maxDevices) {
      refuse('too_many_devices', `already ${this.#maxDevices} devices; refusing ${deviceId}`)
    }
    const tracked: Tracked = { id: this.#ids.claim(key, deviceId) }
    this.#devices.set(key, tracked)
    return tracked
  }

  #remove(key: string, result: Result): void {
    const tracked = this.#devices.get(key)
    if (tracked == null) return
    this.#devices.delete(key)
    this.#ids.release(key)
    if (tracked.last != null) result.events.push({ type: 'remove', deviceId: tracked.id })
  }

  /** Reports the device when it changed: upsert when complete, remove when it stopped being complete. */
  #report(tracked: Tracked, base: string, description: Description | undefined, result: Result): void {
    if (description == null) {
      if (tracked.last != null) {
        tracked.last = undefined
        result.events.push({ type: 'remove', deviceId: tracked.id })
      }
      return
    }
    const device = homieDevice(tracked.id, base, description, this.#timeout)
    const json = JSON.stringify(device)
    if (json === tracked.last) return
    tracked.last = json
    result.events.push({ type: 'upsert', device })
  }
}
