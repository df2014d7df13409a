/**
 * Every kind of virtual device, by the name `--kind` takes (see kinds.ts for what a kind is made of).
 */
import type { KindModel, VirtualDeviceKind } from './kinds.ts'
import { ACTUATOR_MODELS } from './models-actuators.ts'
import { SENSOR_MODELS } from './models-sensors.ts'

/** What each kind is, by name. */
export const MODELS: Record<VirtualDeviceKind, KindModel> = {
  plug: ACTUATOR_MODELS.plug,
  light: ACTUATOR_MODELS.light,
  lock: ACTUATOR_MODELS.lock,
  thermostat: ACTUATOR_MODELS.thermostat,
  contact: SENSOR_MODELS.contact,
  motion: SENSOR_MODELS.motion,
  'climate-sensor': SENSOR_MODELS['climate-sensor'],
  'diy-relay': ACTUATOR_MODELS['diy-relay'],
}
