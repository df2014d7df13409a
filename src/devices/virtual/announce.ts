/**
 * How a virtual device announces itself: Home Assistant MQTT discovery (one retained, abbreviated config per
 * entity, with full Zigbee2MQTT-style topics) or a Homie v5 `$description`.
 */
import { createHash } from 'node:crypto'
import type { KindModel, VirtualDeviceKind } from './kinds.ts'

export interface Announcement {
  topic: string
  payload: string
}

export interface DeviceIdentity {
  id: string
  kind: VirtualDeviceKind
  title: string
  base: string
  /** the Home Assistant discovery prefix, `homeassistant` by default */
  prefix: string
}

const ORIGIN = { name: 'kith virtual-device' }

/**
 * The retained config messages Home Assistant (and kith's importer) discovers the device by.
 *
 * @example
 * haDiscovery(MODELS.plug, { id: 'desk', kind: 'plug', title: 'Desk plug', base: 'zigbee2mqtt/desk', prefix: 'homeassistant' })[0].topic
 * // 'homeassistant/switch/desk/switch/config'
 */
export function haDiscovery(model: KindModel, device: DeviceIdentity): Announcement[] {
  const dev = { ids: [`kith_${device.id}`], name: device.title, mf: 'kith', mdl: model.title, sw: '1.0.0' }
  return model.ha.map((entity) => {
    const config: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(entity.config)) config[key] = expandBase(value, device.base)
    Object.assign(config, {
      uniq_id: `${device.id}_${entity.objectId}`,
      obj_id: `${device.id}_${entity.objectId}`,
      avty: [{ t: `${device.base}/availability` }],
      dev,
      o: ORIGIN,
    })
    return {
      topic: `${device.prefix}/${entity.component}/${device.id}/${entity.objectId}/config`,
      payload: JSON.stringify(config),
    }
  })
}

// '~' stands for the base topic in the kind tables; Zigbee2MQTT writes topics out in full, and so do we.
function expandBase(value: unknown, base: string): unknown {
  if (value === '~') return base
  if (typeof value === 'string' && value.startsWith('~/')) return base + value.slice(1)
  return value
}

/**
 * The Homie v5 `$description` document; `version` changes whenever the rest does.
 *
 * @example
 * homieDescription(MODELS.light, 'Hall light').nodes.light.properties.brightness.settable // true
 */
export function homieDescription(
  model: KindModel,
  title: string,
): {
  homie: '5.0'
  version: number
  name: string
  type: string
  nodes: Record<string, { name: string; type: string; properties: Record<string, Record<string, unknown>> }>
} {
  const nodes: Record<
    string,
    { name: string; type: string; properties: Record<string, Record<string, unknown>> }
  > = {}
  for (const [id, node] of Object.entries(model.homie.nodes)) nodes[id] = { ...node, properties: {} }
  for (const p of model.homie.properties) {
    const node = nodes[p.node]
    if (node == null) throw new Error(`property ${p.id} names an unknown node ${p.node}`)
    node.properties[p.id] = {
      name: p.name,
      datatype: p.datatype,
      ...(p.format != null ? { format: p.format } : {}),
      ...(p.unit != null ? { unit: p.unit } : {}),
      settable: p.decode != null,
      retained: true,
    }
  }
  const body = { name: title, type: `kith-virtual-${model.profile}`, nodes }
  const version = parseInt(createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 8), 16)
  return { homie: '5.0', version, ...body }
}

/** A Homie device id (lowercase letters, digits, hyphens; no hyphen at either end) from a kith device id. */
export function homieId(id: string): string {
  const out = id.replace(/_/g, '-').replace(/^-+|-+$/g, '')
  if (!/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(out)) throw new Error(`cannot make a Homie id of "${id}"`)
  return out
}
