/**
 * The virtual devices that obey commands: a smart plug, a dimmable light, a door lock, a thermostat (Zigbee2MQTT
 * style) and the DIY relay that firmware-bridge/esp32 also implements.
 */
import {
  asBool,
  asNumber,
  battery,
  climateDrift,
  climateProperties,
  climateSensors,
  type DeviceState,
  drift,
  type KindModel,
  numberIn,
  onOff,
  onOffSwitch,
  round,
  sensor,
  settableNumber,
  settableWords,
} from './kinds.ts'

/** The kinds that obey commands, by name. */
export const ACTUATOR_MODELS: Record<'plug' | 'light' | 'lock' | 'thermostat' | 'diy-relay', KindModel> = {
  plug: {
    title: 'Virtual smart plug',
    profile: 'smart-plug',
    base: 'zigbee2mqtt/{id}',
    plainKey: 'state',
    initial: () => ({ state: 'OFF', power: 0, energy: 0, voltage: 230, current: 0 }),
    command(s, cmd) {
      const state = onOff(s.state, cmd.state)
      if (state == null) return undefined
      const power = state === 'ON' ? 40 : 0
      return { state, power, current: round(power / 230, 3) }
    },
    tick(s, dtMs, random) {
      const power = s.state === 'ON' ? drift(40, 3, 30, 50, random) : 0
      return {
        power,
        current: round(power / 230, 3),
        energy: round(Number(s.energy) + (power * dtMs) / 3.6e9, 4),
      }
    },
    ha: [
      onOffSwitch('state'),
      sensor('power', 'power', 'W', 'power'),
      sensor('energy', 'energy', 'kWh', 'energy', 'total_increasing'),
    ],
    homie: {
      nodes: { plug: { name: 'Plug', type: 'switch' } },
      properties: [
        {
          node: 'plug',
          id: 'on',
          name: 'On',
          datatype: 'boolean',
          key: 'state',
          ...settableWords('ON', 'OFF'),
        },
        { node: 'plug', id: 'power', name: 'Power', datatype: 'float', unit: 'W', key: 'power', ...asNumber },
        {
          node: 'plug',
          id: 'energy',
          name: 'Energy',
          datatype: 'float',
          unit: 'kWh',
          key: 'energy',
          ...asNumber,
        },
      ],
    },
  },

  light: {
    title: 'Virtual dimmable light',
    profile: 'dimmable-light',
    base: 'zigbee2mqtt/{id}',
    plainKey: 'state',
    initial: () => ({ state: 'OFF', brightness: 254 }),
    command(s, cmd) {
      const patch: Partial<DeviceState> = {}
      const state = onOff(s.state, cmd.state)
      if (state != null) patch.state = state
      const brightness = numberIn(cmd.brightness, 0, 254)
      if (brightness != null) {
        // as a Zigbee light does: 0 switches it off and keeps the last level, any other level switches it on
        if (brightness === 0) patch.state = 'OFF'
        else Object.assign(patch, { state: 'ON', brightness: Math.round(brightness) })
      }
      return Object.keys(patch).length > 0 ? patch : undefined
    },
    tick: () => ({}),
    ha: [
      {
        component: 'light',
        objectId: 'light',
        config: {
          name: null,
          schema: 'json',
          stat_t: '~',
          cmd_t: '~/set',
          brightness: true,
          bri_scl: 254,
          sup_clrm: ['brightness'],
        },
      },
    ],
    homie: {
      nodes: { light: { name: 'Light', type: 'light' } },
      properties: [
        {
          node: 'light',
          id: 'on',
          name: 'On',
          datatype: 'boolean',
          key: 'state',
          ...settableWords('ON', 'OFF'),
        },
        {
          node: 'light',
          id: 'brightness',
          name: 'Brightness',
          datatype: 'integer',
          format: '0:254',
          key: 'brightness',
          ...settableNumber(0, 254),
        },
      ],
    },
  },

  lock: {
    title: 'Virtual door lock',
    profile: 'door-lock',
    base: 'zigbee2mqtt/{id}',
    plainKey: 'state',
    initial: () => ({ state: 'LOCK', lock_state: 'locked', battery: 87 }),
    command(_s, cmd) {
      const word = typeof cmd.state === 'string' ? cmd.state.toUpperCase() : undefined
      if (word !== 'LOCK' && word !== 'UNLOCK') return undefined
      return { state: word, lock_state: word === 'LOCK' ? 'locked' : 'unlocked' }
    },
    tick: () => ({}),
    ha: [
      {
        component: 'lock',
        objectId: 'lock',
        config: {
          name: null,
          stat_t: '~',
          cmd_t: '~/set',
          val_tpl: '{{ value_json.state }}',
          pl_lock: 'LOCK',
          pl_unlk: 'UNLOCK',
          stat_locked: 'LOCK',
          stat_unlocked: 'UNLOCK',
        },
      },
      sensor('battery', 'battery', '%', 'battery'),
    ],
    homie: {
      nodes: { lock: { name: 'Lock', type: 'lock' } },
      properties: [
        {
          node: 'lock',
          id: 'locked',
          name: 'Locked',
          datatype: 'boolean',
          format: 'unlocked,locked',
          key: 'state',
          ...settableWords('LOCK', 'UNLOCK'),
        },
        battery('lock'),
      ],
    },
  },

  thermostat: {
    title: 'Virtual radiator thermostat',
    profile: 'thermostat',
    base: 'zigbee2mqtt/{id}',
    initial: () => ({
      local_temperature: 19.5,
      occupied_heating_setpoint: 21,
      system_mode: 'heat',
      running_state: 'heat',
    }),
    command(s, cmd) {
      const patch: Partial<DeviceState> = {}
      const target = numberIn(cmd.occupied_heating_setpoint, 5, 30)
      if (target != null) patch.occupied_heating_setpoint = Math.round(target * 2) / 2
      const mode = cmd.system_mode
      if (mode === 'off' || mode === 'heat' || mode === 'auto') patch.system_mode = mode
      if (Object.keys(patch).length === 0) return undefined
      const next = { ...s, ...patch }
      const heating =
        next.system_mode !== 'off' && Number(next.local_temperature) < Number(next.occupied_heating_setpoint)
      return { ...patch, running_state: heating ? 'heat' : 'idle' }
    },
    tick(s) {
      const heating = s.running_state === 'heat'
      const local = round(Number(s.local_temperature) + (heating ? 0.1 : -0.1))
      const still = s.system_mode !== 'off' && local < Number(s.occupied_heating_setpoint)
      return { local_temperature: Math.max(15, local), running_state: still ? 'heat' : 'idle' }
    },
    ha: [
      {
        component: 'climate',
        objectId: 'climate',
        config: {
          name: null,
          curr_temp_t: '~',
          curr_temp_tpl: '{{ value_json.local_temperature }}',
          temp_cmd_t: '~/set/occupied_heating_setpoint',
          temp_stat_t: '~',
          temp_stat_tpl: '{{ value_json.occupied_heating_setpoint }}',
          mode_cmd_t: '~/set/system_mode',
          mode_stat_t: '~',
          mode_stat_tpl: '{{ value_json.system_mode }}',
          modes: ['off', 'heat', 'auto'],
          min_temp: 5,
          max_temp: 30,
          temp_step: 0.5,
          temp_unit: 'C',
        },
      },
    ],
    homie: {
      nodes: { thermostat: { name: 'Thermostat', type: 'thermostat' } },
      properties: [
        {
          node: 'thermostat',
          id: 'temperature',
          name: 'Temperature',
          datatype: 'float',
          unit: '°C',
          key: 'local_temperature',
          ...asNumber,
        },
        {
          node: 'thermostat',
          id: 'target',
          name: 'Target',
          datatype: 'float',
          format: '5:30:0.5',
          unit: '°C',
          key: 'occupied_heating_setpoint',
          ...settableNumber(5, 30),
        },
        {
          node: 'thermostat',
          id: 'mode',
          name: 'Mode',
          datatype: 'enum',
          format: 'off,heat,auto',
          key: 'system_mode',
          encode: String,
          decode: (p) => (['off', 'heat', 'auto'].includes(p) ? p : undefined),
        },
        {
          node: 'thermostat',
          id: 'heating',
          name: 'Heating',
          datatype: 'boolean',
          key: 'running_state',
          ...asBool((v) => v === 'heat'),
        },
      ],
    },
  },

  'diy-relay': {
    title: 'Virtual DIY relay',
    profile: 'diy-relay',
    base: 'kith/{id}',
    plainKey: 'relay',
    dedupe: true,
    initial: () => ({ relay: 'OFF', temperature: 21, humidity: 45 }),
    command(s, cmd) {
      const relay = onOff(s.relay, cmd.relay)
      if (relay == null) return undefined
      return typeof cmd.task === 'string' ? { relay, task: cmd.task } : { relay }
    },
    tick: (s, _dt, random) => climateDrift(s, random),
    ha: [onOffSwitch('relay', '{"relay": "{{ value }}"}'), ...climateSensors()],
    homie: {
      nodes: {
        relay: { name: 'Relay', type: 'switch' },
        climate: { name: 'Climate', type: 'climate-sensor' },
      },
      properties: [
        {
          node: 'relay',
          id: 'on',
          name: 'On',
          datatype: 'boolean',
          key: 'relay',
          ...settableWords('ON', 'OFF'),
        },
        ...climateProperties('climate'),
      ],
    },
  },
}
