/**
 * The virtual devices that only report: a door contact, a motion sensor and a climate sensor (Zigbee2MQTT style),
 * each with a battery level.
 */
import {
  asBool,
  asNumber,
  battery,
  binarySensor,
  climateDrift,
  climateProperties,
  climateSensors,
  drift,
  type KindModel,
  sensor,
} from './kinds.ts'

/** The kinds that only report, by name. */
export const SENSOR_MODELS: Record<'contact' | 'motion' | 'climate-sensor', KindModel> = {
  contact: {
    title: 'Virtual door contact',
    profile: 'door-window-contact',
    base: 'zigbee2mqtt/{id}',
    initial: () => ({ contact: true, battery: 100 }),
    command: () => undefined,
    tick: () => ({}),
    ha: [
      binarySensor('contact', 'Door', 'contact', false, true, 'door'),
      sensor('battery', 'battery', '%', 'battery'),
    ],
    homie: {
      nodes: { contact: { name: 'Contact', type: 'contact' } },
      properties: [
        {
          node: 'contact',
          id: 'open',
          name: 'Open',
          datatype: 'boolean',
          format: 'closed,open',
          key: 'contact',
          ...asBool((v) => v === false),
        },
        battery('contact'),
      ],
    },
  },

  motion: {
    title: 'Virtual motion sensor',
    profile: 'motion-sensor',
    base: 'zigbee2mqtt/{id}',
    initial: () => ({ occupancy: false, illuminance: 120, battery: 95 }),
    command: () => undefined,
    tick: (s, _dt, random) => ({
      occupancy: random() < 0.2,
      illuminance: Math.round(drift(Number(s.illuminance), 10, 0, 1000, random)),
    }),
    ha: [
      binarySensor('occupancy', 'Occupancy', 'occupancy', true, false, 'occupancy'),
      sensor('illuminance', 'illuminance', 'lx', 'illuminance'),
      sensor('battery', 'battery', '%', 'battery'),
    ],
    homie: {
      nodes: { motion: { name: 'Motion', type: 'motion' } },
      properties: [
        {
          node: 'motion',
          id: 'motion',
          name: 'Motion',
          datatype: 'boolean',
          key: 'occupancy',
          ...asBool((v) => v === true),
        },
        {
          node: 'motion',
          id: 'illuminance',
          name: 'Illuminance',
          datatype: 'integer',
          unit: 'lx',
          key: 'illuminance',
          ...asNumber,
        },
        battery('motion'),
      ],
    },
  },

  'climate-sensor': {
    title: 'Virtual temperature and humidity sensor',
    profile: 'temperature-humidity',
    base: 'zigbee2mqtt/{id}',
    initial: () => ({ temperature: 21, humidity: 45, battery: 90 }),
    command: () => undefined,
    tick: (s, _dt, random) => climateDrift(s, random),
    ha: [...climateSensors(), sensor('battery', 'battery', '%', 'battery')],
    homie: {
      nodes: { climate: { name: 'Climate', type: 'climate-sensor' } },
      properties: [...climateProperties('climate'), battery('climate')],
    },
  },
}
