/**
 * Home Assistant's sensor and binary sensor device classes: what a reading of each class is (a number in one of
 * the units Home Assistant accepts for it, a date, a timestamp, one of a list) and what a binary sensor's
 * true means. Sources: homeassistant/components/sensor/const.py (SensorDeviceClass, DEVICE_CLASS_UNITS) and
 * homeassistant/components/binary_sensor/__init__.py (BinarySensorDeviceClass and what on means for each).
 */
import { unmapped } from './ha-unmapped.ts'
import type { JsonSchema } from './types.ts'
import { strings, text, type Config } from './homeassistant-config.ts'

const TEMPERATURE = ['°C', '°F', 'K']
const PRESSURE = ['Pa', 'hPa', 'kPa', 'bar', 'cbar', 'mbar', 'mmHg', 'inHg', 'psi']
const CONCENTRATION = ['µg/m³']
const ENERGY = ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal']
const VOLUME = ['L', 'mL', 'gal', 'fl. oz.', 'm³', 'ft³', 'CCF']
const SPEED = ['ft/s', 'in/d', 'in/h', 'in/s', 'km/h', 'kn', 'm/s', 'mph', 'mm/d', 'mm/s', 'Beaufort']
const DISTANCE = ['km', 'm', 'cm', 'mm', 'mi', 'nmi', 'yd', 'in', 'ft']

/**
 * Every numeric sensor device class with the units Home Assistant accepts for it (an empty list: any unit, or
 * none). `date`, `timestamp` and `enum` are the non-numeric classes.
 */
export const SENSOR_CLASS_UNITS: Readonly<Record<string, readonly string[]>> = {
  absolute_humidity: ['g/m³', 'mg/m³'],
  apparent_power: ['mVA', 'VA', 'kVA'],
  aqi: [],
  area: ['m²', 'cm²', 'km²', 'mm²', 'in²', 'ft²', 'yd²', 'mi²', 'ac', 'ha'],
  atmospheric_pressure: PRESSURE,
  battery: ['%'],
  blood_glucose_concentration: ['mg/dL', 'mmol/L'],
  carbon_dioxide: ['ppm'],
  carbon_monoxide: ['ppm', 'mg/m³', 'µg/m³'],
  conductivity: ['S/cm', 'mS/cm', 'µS/cm'],
  current: ['A', 'mA'],
  data_rate: [
    'bit/s',
    'kbit/s',
    'Mbit/s',
    'Gbit/s',
    'B/s',
    'kB/s',
    'MB/s',
    'GB/s',
    'KiB/s',
    'MiB/s',
    'GiB/s',
  ],
  data_size: ['bit', 'kbit', 'Mbit', 'Gbit', 'B', 'kB', 'MB', 'GB', 'TB', 'PB', 'KiB', 'MiB', 'GiB', 'TiB'],
  distance: DISTANCE,
  duration: ['d', 'h', 'min', 's', 'ms', 'µs'],
  energy: ENERGY,
  energy_distance: ['kWh/100km', 'Wh/km', 'mi/kWh', 'km/kWh'],
  energy_storage: ENERGY,
  frequency: ['Hz', 'kHz', 'MHz', 'GHz'],
  gas: ['m³', 'ft³', 'CCF', 'L'],
  humidity: ['%'],
  illuminance: ['lx'],
  irradiance: ['W/m²', 'BTU/(h⋅ft²)'],
  moisture: ['%'],
  monetary: [],
  nitrogen_dioxide: CONCENTRATION,
  nitrogen_monoxide: CONCENTRATION,
  nitrous_oxide: CONCENTRATION,
  ozone: CONCENTRATION,
  ph: [],
  pm1: CONCENTRATION,
  pm10: CONCENTRATION,
  pm25: CONCENTRATION,
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW', 'BTU/h'],
  power_factor: ['%'],
  precipitation: ['cm', 'in', 'mm'],
  precipitation_intensity: ['in/d', 'in/h', 'mm/d', 'mm/h'],
  pressure: PRESSURE,
  reactive_energy: ['varh', 'kvarh'],
  reactive_power: ['mvar', 'var', 'kvar'],
  signal_strength: ['dB', 'dBm'],
  sound_pressure: ['dB', 'dBA'],
  speed: SPEED,
  sulphur_dioxide: CONCENTRATION,
  temperature: TEMPERATURE,
  volatile_organic_compounds: ['µg/m³', 'mg/m³'],
  volatile_organic_compounds_parts: ['ppm', 'ppb'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  volume: VOLUME,
  volume_flow_rate: ['m³/h', 'm³/s', 'ft³/min', 'L/h', 'L/min', 'L/s', 'gal/min', 'mL/s'],
  volume_storage: VOLUME,
  water: ['L', 'gal', 'm³', 'ft³', 'CCF'],
  weight: ['kg', 'g', 'mg', 'µg', 'oz', 'lb', 'st'],
  wind_direction: ['°'],
  wind_speed: SPEED,
}

/** What a reading of a sensor is, as JSON Schema, and its unit; notes a unit Home Assistant would not accept. */
export function sensorReading(c: Config): { kind: string; unit?: string; schema?: JsonSchema } {
  const deviceClass = text(c, 'device_class')
  const unit = text(c, 'unit_of_measurement')
  if (deviceClass === 'timestamp') {
    return { kind: 'timestamp', schema: { type: 'string', format: 'date-time' } }
  }
  if (deviceClass === 'date') return { kind: 'date', schema: { type: 'string', format: 'date' } }
  if (deviceClass === 'enum') {
    const options = strings(c.options)
    return { kind: 'enum', schema: options != null ? { type: 'string', enum: options } : { type: 'string' } }
  }
  const units = deviceClass != null ? SENSOR_CLASS_UNITS[deviceClass] : undefined
  if (deviceClass != null && units == null) {
    unmapped(c, 'device_class', 'not_supported', `"${deviceClass.slice(0, 40)}" is no sensor device class`)
  }
  if (units != null && unit != null && units.length > 0 && !units.includes(unit)) {
    unmapped(
      c,
      'unit_of_measurement',
      'partly',
      `kept, though Home Assistant takes ${units.join(', ')} for ${deviceClass}`,
    )
  }
  // a class with one unit implies it (a battery is in %), as Home Assistant's unit conversions assume
  const implied = unit ?? (units?.length === 1 ? units[0] : undefined)
  // read whatever the unit says: a state class marks a numeric reading even without a unit
  const stateClass = text(c, 'state_class')
  const numeric = units != null || unit != null || stateClass != null
  const description =
    deviceClass != null
      ? `${deviceClass.replace(/_/g, ' ')}${implied != null ? ` in ${implied}` : ''}`
      : undefined
  return {
    kind: deviceClass ?? 'value',
    unit: implied,
    schema: numeric ? { type: 'number', ...(description != null ? { description } : {}) } : undefined,
  }
}

/** What true means for each binary sensor class (false is the opposite), as Home Assistant documents them. */
export const BINARY_CLASS_MEANING: Readonly<Record<string, string>> = {
  battery: 'the battery is low',
  battery_charging: 'charging',
  carbon_monoxide: 'carbon monoxide detected',
  cold: 'cold',
  connectivity: 'connected',
  door: 'open',
  garage_door: 'open',
  gas: 'gas detected',
  heat: 'hot',
  light: 'light detected',
  lock: 'unlocked',
  moisture: 'wet',
  motion: 'motion detected',
  moving: 'moving',
  occupancy: 'occupied',
  opening: 'open',
  plug: 'plugged in',
  power: 'power detected',
  presence: 'home (present)',
  problem: 'a problem detected',
  running: 'running',
  safety: 'unsafe',
  smoke: 'smoke detected',
  sound: 'sound detected',
  tamper: 'tampering detected',
  update: 'an update is available',
  vibration: 'vibration detected',
  window: 'open',
}

/** The kind kith reports for a binary sensor class (door, window and opening are contacts). */
export function binaryKind(deviceClass: string | undefined): string {
  if (deviceClass == null) return 'state'
  if (['door', 'window', 'opening', 'garage_door'].includes(deviceClass)) return 'contact'
  if (['motion', 'occupancy', 'presence', 'moving'].includes(deviceClass)) return 'motion'
  return deviceClass
}

/** The description of a binary reading: what true means, or a note when the class is unknown. */
export function binaryMeaning(c: Config): string | undefined {
  const deviceClass = text(c, 'device_class')
  if (deviceClass == null) return undefined
  const meaning = BINARY_CLASS_MEANING[deviceClass]
  if (meaning == null) {
    unmapped(
      c,
      'device_class',
      'not_supported',
      `"${deviceClass.slice(0, 40)}" is no binary sensor device class`,
    )
    return undefined
  }
  return `true: ${meaning}; false: not`
}
