/**
 * One Home Assistant entity read from its expanded discovery config: the device it belongs to (by its first
 * identifier, connection, node id, unique id or object id, as Home Assistant groups them), its title, risk,
 * availability, and the sensor and action drafts its component's builder makes of it.
 */
import type { AvailabilitySpec, Risk, UnmappedReport } from './types.ts'
import { refuse } from './refusal.ts'
import {
  HA_COMPONENTS,
  UNSUPPORTED,
  DEFAULT_RISK,
  HIGH_RISK_COVERS,
  DEVICE_ABBREVIATIONS,
  ORIGIN_ABBREVIATIONS,
  isObject,
  nullObject,
  expand,
  replaceBase,
  text,
  compact,
  partBase,
  availabilityOf,
  type HaComponent,
  type Config,
} from './homeassistant-config.ts'
import type { Ctx, Draft } from './homeassistant-parts.ts'
import { BUILDERS } from './homeassistant-controls.ts'
import { entityTitle, type DeviceInfo } from './ha-naming.ts'
import { emptyUnmapped, trackConfig, trackedReport } from './ha-unmapped.ts'

/** One entity of a device, as the importer keeps it between configs. */
export interface Entity {
  key: string
  source: string
  component: HaComponent
  deviceKey: string
  /** what the device id is made from: its first identifier, node id or unique id */
  deviceLabel: string
  /** whether the config had a device block (else Home Assistant makes no device for it) */
  hasDevice: boolean
  objectId: string
  base: string
  title: string
  device: DeviceInfo
  origin?: string
  drafts: Draft[]
  availability: AvailabilitySpec[]
  availabilityMode?: 'all' | 'any' | 'latest'
  unmapped: UnmappedReport
}

/** Options the importer itself reads (naming, grouping, availability) before any builder runs. */
const IMPORTER_OPTIONS = new Set([
  'name',
  'unique_id',
  'device',
  'origin',
  'availability',
  'availability_topic',
  'availability_template',
  'availability_mode',
  'payload_available',
  'payload_not_available',
  'platform',
])

/** Where an entity's config came from. */
export interface EntityAt {
  /** the entity's key: its config topic, with `#<component id>` in the device-based form */
  key: string
  /** the config topic */
  source: string
  nodeId: string | undefined
  objectId: string
}

/** What the importer's options say about every entity. */
export interface EntityOptions {
  /** risk per component, over the defaults */
  risk: Partial<Record<HaComponent, Risk>>
  /** ms an action waits for its state topic to confirm */
  timeout: number
}

/**
 * Builds one entity from an expanded config whose component is `platform`; throws a `Refusal`.
 *
 * @example
 * haEntity('switch', expand(config, ABBREVIATIONS),
 *   { key: topic, source: topic, nodeId: undefined, objectId: 'plug' }, { risk: {}, timeout: 5000 })
 * // { component: 'switch', deviceKey: 'uid:plug1', drafts: [{ suffix: '', action: { … } }], … }
 */
export function haEntity(platform: unknown, config: Config, at: EntityAt, options: EntityOptions): Entity {
  const { key, source, nodeId, objectId } = at
  if (typeof platform !== 'string' || !(HA_COMPONENTS as readonly string[]).includes(platform)) {
    const name = typeof platform === 'string' ? platform : JSON.stringify(platform)
    if (typeof platform === 'string' && UNSUPPORTED.has(platform)) {
      refuse('unsupported_component', `Home Assistant component "${name}" is not imported by kith`)
    }
    refuse('unknown_component', `unknown component "${name}"`)
  }
  const component = platform as HaComponent
  replaceBase(config)
  const device = isObject(config.device) ? expand(config.device, DEVICE_ABBREVIATIONS) : nullObject()
  const origin = isObject(config.origin) ? expand(config.origin, ORIGIN_ABBREVIATIONS) : undefined
  const identifiers = Array.isArray(device.identifiers) ? device.identifiers : [device.identifiers]
  const identifier = identifiers.find((id): id is string => typeof id === 'string' && id !== '')
  const connection = Array.isArray(device.connections) ? device.connections.find(Array.isArray) : undefined
  const uniqueId = text(config, 'unique_id')
  let deviceKey: string
  let label: string
  if (identifier != null) [deviceKey, label] = [`ids:${identifier}`, identifier]
  else if (connection != null) [deviceKey, label] = [`cns:${connection.join(':')}`, connection.join('_')]
  else if (nodeId != null) [deviceKey, label] = [`node:${nodeId}`, nodeId]
  else if (uniqueId != null) [deviceKey, label] = [`uid:${uniqueId}`, uniqueId]
  else [deviceKey, label] = [`obj:${objectId}`, objectId]

  const info: DeviceInfo = compact({
    name: text(device, 'name'),
    manufacturer: text(device, 'manufacturer'),
    model: text(device, 'model'),
  })
  const deviceClass = text(config, 'device_class')
  const coverRisk =
    component === 'cover' && deviceClass != null && HIGH_RISK_COVERS.has(deviceClass) ? 'high' : undefined
  const tracked = trackConfig(config)
  const ctx: Ctx = {
    c: tracked,
    title: entityTitle(config, component),
    risk: options.risk[component] ?? coverRisk ?? DEFAULT_RISK[component],
    timeout: options.timeout,
  }
  const { specs, mode } = availabilityOf(config)
  const base = partBase(objectId, [nodeId, label, info.name])
  // a component named in HA_COMPONENTS whose builder has not landed yet is refused like any unsupported one
  const build = BUILDERS[component] as ((ctx: Ctx) => Draft[]) | undefined
  if (build == null)
    refuse('unsupported_component', `Home Assistant component "${component}" is not imported by kith`)
  const drafts = build(ctx)
  const unmapped = emptyUnmapped()
  trackedReport(tracked, base, IMPORTER_OPTIONS, unmapped)
  return compact({
    key,
    source,
    component,
    deviceKey,
    deviceLabel: label,
    hasDevice: isObject(config.device),
    objectId,
    base,
    title: ctx.title,
    device: info,
    origin: origin != null ? text(origin, 'name') : undefined,
    drafts,
    availability: specs,
    availabilityMode: mode,
    unmapped,
  })
}
