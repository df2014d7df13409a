/**
 * Tasmota's sensors from its discovery `sensors` message (`{"sn":{"Time":…,"AM2301":{"Temperature":21.5},
 * "ENERGY":{"Total":1.2,"TotalTariff":[0.5,0.7]},"TempUnit":"C"},"ver":1}`), walked as hatasmota sensor.py
 * `get_sensor_entities` walks it: simple values, nested objects and arrays one level down, `Time`, `PN532` and
 * `RDM6300` skipped; each value becomes a sensor read from `tele/<topic>/SENSOR` with hatasmota's unit for its
 * quantity (`TempUnit`, `PressureUnit`, `SpeedUnit` for the dynamic ones).
 */
import { fitId, MAX_PART_ID, slugify } from './slug.ts'
import { jinjaLiteral as lit } from './template-builders.ts'
import type { SensorSpec } from './types.ts'

const IGNORED = new Set(['Time', 'PN532', 'RDM6300'])

/** hatasmota sensor.py SENSOR_UNIT_MAP (units with a null entry have none). */
const UNITS: Record<string, string | null> = {
  Ambient: 'lux',
  Battery: '%',
  CCT: 'K',
  CF1: 'µg/m³',
  CF10: 'µg/m³',
  'CF2.5': 'µg/m³',
  CarbonDioxide: 'ppm',
  Blue: 'B',
  Green: 'G',
  Red: 'R',
  CurrentNeutral: 'A',
  Current: 'A',
  Distance: 'cm',
  eCO2: 'ppm',
  Energy: 'kWh',
  ExportActive: 'kWh',
  ExportReactive: 'kVArh',
  ExportTariff: 'kWh',
  ImportActive: 'kWh',
  ImportReactive: 'kVArh',
  Today: 'kWh',
  TotalTariff: 'kWh',
  Total: 'kWh',
  Yesterday: 'kWh',
  TotalStartTime: null,
  Frequency: 'Hz',
  Humidity: '%',
  Illuminance: 'lux',
  Moisture: '%',
  'PB0.3': 'ppd',
  'PB0.5': 'ppd',
  PB1: 'ppd',
  PB10: 'ppd',
  'PB2.5': 'ppd',
  PB5: 'ppd',
  PhaseAngle: '°',
  PM1: 'µg/m³',
  PM10: 'µg/m³',
  'PM2.5': 'µg/m³',
  Power: 'W',
  ActivePower: 'W',
  ApparentPower: 'VA',
  Factor: null,
  ReactivePower: 'VAr',
  Proximity: ' ',
  TVOC: 'ppb',
  Voltage: 'V',
  Weight: 'kg',
}

/** hatasmota sensor.py SENSOR_DYNAMIC_UNIT_MAP: the unit is a key of the sensor message itself. */
const DYNAMIC: Record<string, [string, string[]]> = {
  DewPoint: ['TempUnit', ['C', 'F']],
  Pressure: ['PressureUnit', ['hPa', 'mmHg']],
  SeaPressure: ['PressureUnit', ['hPa', 'mmHg']],
  Speed: ['SpeedUnit', ['m/s', 'km/h', 'kn', 'mph', 'ft/s', 'yd/s']],
  Temperature: ['TempUnit', ['C', 'F']],
}

/** What a quantity measures, in kith's sensor kinds. */
const KINDS: Record<string, string> = {
  Temperature: 'temperature',
  DewPoint: 'temperature',
  Humidity: 'humidity',
  Pressure: 'pressure',
  SeaPressure: 'pressure',
  Illuminance: 'illuminance',
  Ambient: 'illuminance',
  Battery: 'battery',
  Power: 'power',
  ActivePower: 'power',
  ApparentPower: 'apparent_power',
  ReactivePower: 'reactive_power',
  Factor: 'power_factor',
  Voltage: 'voltage',
  Current: 'current',
  CurrentNeutral: 'current',
  Frequency: 'frequency',
  Total: 'energy',
  Today: 'energy',
  Yesterday: 'energy',
  TotalTariff: 'energy',
  ImportActive: 'energy',
  ExportActive: 'energy',
  ExportTariff: 'energy',
  Energy: 'energy',
  CarbonDioxide: 'co2',
  eCO2: 'co2',
  TVOC: 'volatile_organic_compounds',
  PM1: 'pm1',
  'PM2.5': 'pm25',
  PM10: 'pm10',
  Distance: 'distance',
  Moisture: 'moisture',
  Weight: 'weight',
  Speed: 'speed',
}

/** hatasmota sensor.py `_get_quantity`. */
function quantityOf(sensor: string, sub: string, subsub: string | undefined): string {
  if ((sensor === 'AS3935' || sensor === 'LD2410') && sub === 'Energy') return 'Energy_other'
  if (subsub != null && subsub in UNITS) return subsub
  if (sensor === 'ANALOG' && /\d$/.test(sub)) return sub.slice(0, -1)
  return sub
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The sensors of a `sensors` message's `sn` object, read from `teleSensor`; at most `max` (the rest are
 * counted by the caller as `too_many_entities`).
 *
 * @example
 * sensorParts({ AM2301: { Temperature: 21.5 }, TempUnit: 'C' }, 'tele/plug/SENSOR', 64).sensors[0]
 * // { id: 'am2301_temperature', kind: 'temperature', unit: '°C', value: "{{ value_json['AM2301']['Temperature'] }}", … }
 */
export function sensorParts(
  sn: Record<string, unknown>,
  teleSensor: string,
  max: number,
): { sensors: SensorSpec[]; skipped: number } {
  const sensors: SensorSpec[] = []
  let skipped = 0
  const ids = new Set<string>()
  const add = (path: (string | number)[], quantity: string, discovered: unknown) => {
    if (sensors.length >= max) {
      skipped++
      return
    }
    let unit = UNITS[quantity] ?? undefined
    const dynamic = DYNAMIC[quantity]
    if (dynamic != null) {
      const reported = sn[dynamic[0]]
      unit = typeof reported === 'string' && dynamic[1].includes(reported) ? reported : undefined
      if (unit != null && dynamic[0] === 'TempUnit') unit = `°${unit}`
    }
    const label = path.join(' ')
    let id = fitId(slugify(path.join('_')), label, MAX_PART_ID)
    if (ids.has(id)) id = fitId(`${id}_${sensors.length}`, label, MAX_PART_ID)
    ids.add(id)
    const access = path.map((p) => `[${typeof p === 'number' ? p : lit(p)}]`).join('')
    sensors.push({
      id,
      title: label,
      kind: KINDS[quantity] ?? 'value',
      topic: teleSensor,
      value: `{{ value_json${access} }}`,
      ...(unit != null ? { unit } : {}),
      schema: typeof discovered === 'number' ? { type: 'number' } : {},
    })
  }
  for (const [key, sensor] of Object.entries(sn)) {
    if (IGNORED.has(key) || !isObject(sensor)) continue
    for (const [sub, value] of Object.entries(sensor)) {
      if (isObject(value)) {
        for (const [subsub, v] of Object.entries(value))
          add([key, sub, subsub], quantityOf(key, sub, subsub), v)
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => add([key, sub, i], quantityOf(key, sub, undefined), v))
      } else add([key, sub], quantityOf(key, sub, undefined), value)
    }
  }
  return { sensors, skipped }
}
