/**
 * Names as Home Assistant gives them: an entity's title (mqtt/entity.py `_set_entity_name`) and its device's
 * name, merged from every entity of the device as Home Assistant's device registry merges device information.
 */
import { humanize, text, type Config, type HaComponent } from './homeassistant-config.ts'

export interface DeviceInfo {
  name?: string
  manufacturer?: string
  model?: string
}

/** What naming reads of an imported entity. */
export interface NamedEntity {
  title: string
  /** whether the config had a device block (else Home Assistant makes no device for it) */
  hasDevice: boolean
  objectId: string
  deviceLabel: string
}

/**
 * Stands for the device's name in the titles of an entity named after its device (`name: null`, or no name):
 * the name is known only once every entity of the device is in, since Home Assistant merges a device's
 * information from all of them (a Tasmota light's device block holds only its identifier).
 */
export const DEVICE_NAME = '\u{F0000}device\u{F0000}'

/** Components whose unnamed entities Home Assistant names after their device class (`_default_to_device_class_name`). */
const CLASS_NAMED = new Set(['sensor', 'binary_sensor', 'button', 'number', 'event', 'update'])

/**
 * An entity's title as Home Assistant names it (mqtt/entity.py `_set_entity_name`): its `name`; `name: null` is
 * the device's name; without a name, the device class's name where the component has one, else the device's.
 */
export function entityTitle(config: Config, component: HaComponent): string {
  const name = config.name
  if (typeof name === 'string' && name !== '') return name
  const deviceClass = text(config, 'device_class')
  // sensor.py: an enum sensor is not named after its class
  const byClass =
    deviceClass != null && CLASS_NAMED.has(component) && !(component === 'sensor' && deviceClass === 'enum')
  if (!('name' in config) && byClass) return humanize(deviceClass)
  return DEVICE_NAME
}

/**
 * The title of a device no entity named: Home Assistant shows such a device unnamed, so kith says what it is
 * (manufacturer and model) and which (its identifier); an entity without a device block is titled by itself.
 */
export function unnamedTitle(entities: NamedEntity[], info: DeviceInfo, id: string): string {
  const first = entities[0]
  if (first != null && !first.hasDevice) {
    return first.title === DEVICE_NAME ? humanize(first.objectId) : first.title
  }
  const what = [info.manufacturer, info.model].filter((x) => x != null).join(' ')
  const label = first?.deviceLabel ?? id
  return what === '' ? label : `${what} ${label}`
}
