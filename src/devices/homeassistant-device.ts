/**
 * The {@link DeviceSpec} a Home Assistant device becomes from all its entities: their parts under ids unique
 * within the device, their availability without repeats, and the device information every entity brings,
 * merged as Home Assistant's device registry merges it.
 */
import { fitId, MAX_PART_ID, shortHash, slugify } from './slug.ts'
import type { ActionSpec, AvailabilitySpec, DeviceSpec, SensorSpec } from './types.ts'
import { compact } from './homeassistant-config.ts'
import { DEVICE_NAME, unnamedTitle, type DeviceInfo } from './ha-naming.ts'
import { emptyUnmapped, mergeUnmapped } from './ha-unmapped.ts'
import type { Entity } from './homeassistant-entity.ts'

/**
 * The spec of device `id` from its entities, in the order of their keys.
 *
 * @example
 * haDevice('plug1', [entity])
 * // { id: 'plug1', title: 'Plug', tags: ['homeassistant', 'switch'], actions: [{ id: 'plug', … }], … }
 */
export function haDevice(id: string, entities: Entity[]): DeviceSpec {
  const sensors: SensorSpec[] = []
  const actions: ActionSpec[] = []
  const bases = new Set<string>()
  const ids = new Set<string>()
  for (const entity of entities) {
    let base = entity.base
    if (bases.has(base)) base = `${base}_${shortHash(entity.key, 4)}`
    bases.add(base)
    for (const draft of entity.drafts) {
      let id = fitId(base + draft.suffix, entity.key + draft.suffix, MAX_PART_ID)
      if (ids.has(id))
        id = fitId(`${base}${draft.suffix}_${shortHash(entity.key + draft.suffix, 4)}`, id, MAX_PART_ID)
      ids.add(id)
      if ('sensor' in draft) sensors.push({ id, ...draft.sensor })
      else actions.push({ id, ...draft.action })
    }
  }
  const availability: AvailabilitySpec[] = []
  const seen = new Set<string>()
  for (const spec of entities.flatMap((e) => e.availability)) {
    const json = JSON.stringify(spec)
    if (seen.has(json)) continue
    seen.add(json)
    availability.push(spec)
  }
  // Home Assistant's device registry merges the device information every entity brings
  const pick = (key: keyof DeviceInfo) => entities.find((e) => e.device[key] != null)?.device[key]
  const info: DeviceInfo = compact({
    name: pick('name'),
    manufacturer: pick('manufacturer'),
    model: pick('model'),
  })
  const title = info.name ?? unnamedTitle(entities, info, id)
  const named = (text: string) => text.split(DEVICE_NAME).join(title)
  for (const part of sensors) part.title = named(part.title)
  for (const part of actions) {
    part.title = named(part.title)
    if (part.description != null) part.description = named(part.description)
  }
  const origin = entities.find((e) => e.origin != null)?.origin
  const components = [...new Set(entities.map((e) => e.component))].sort()
  const unmapped = emptyUnmapped()
  for (const entity of entities) mergeUnmapped(unmapped, entity.unmapped)
  return compact({
    id,
    title,
    description: `Imported from Home Assistant MQTT discovery${origin != null ? ` (published by ${origin})` : ''}.`,
    tags: [
      'homeassistant',
      ...components,
      ...(origin != null && slugify(origin) !== '' ? [slugify(origin)] : []),
    ],
    source: 'homeassistant' as const,
    manufacturer: info.manufacturer,
    model: info.model,
    sensors,
    actions,
    availability,
    availabilityMode: entities.find((e) => e.availabilityMode != null)?.availabilityMode,
    unmapped: Object.keys(unmapped.counts).length > 0 ? unmapped : undefined,
  })
}
