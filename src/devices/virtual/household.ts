/**
 * The demo household `kith start --demo` (and so `npm start`) runs on the node's own broker: a few virtual
 * devices announcing themselves the ways real ones do, so a fresh node has devices to find and act on.
 */
import { homieId } from './announce.ts'
import { startVirtualDevice, type VirtualDevice } from './device.ts'
import type { VirtualDeviceKind } from './kinds.ts'

/** One demo device: its own id, and the id kith's bridge gives it once it is discovered. */
export interface DemoDevice {
  id: string
  kind: VirtualDeviceKind
  /** Home Assistant discovery: the first device identifier (`kith_<id>`); Homie: the Homie device id */
  bridgeId: string
}

export interface DemoHousehold {
  ids: string[]
  devices: DemoDevice[]
  stop(): Promise<void>
}

const SPECS = [
  { kind: 'plug', id: 'desk_plug', announce: 'homeassistant' },
  { kind: 'light', id: 'living_room_lamp', announce: 'homeassistant' },
  { kind: 'climate-sensor', id: 'kitchen_climate', announce: 'homeassistant' },
  { kind: 'diy-relay', id: 'garden_pump', announce: 'homie' },
] as const

/**
 * @example
 * const household = await startDemoHousehold('mqtt://127.0.0.1:1883')
 * household.devices[0].bridgeId // 'kith_desk_plug'
 * await household.stop()
 */
export async function startDemoHousehold(url: string): Promise<DemoHousehold> {
  const devices: VirtualDevice[] = []
  try {
    for (const s of SPECS) devices.push(await startVirtualDevice({ url, ...s, readingIntervalMs: 10_000 }))
  } catch (err) {
    await Promise.all(devices.map((d) => d.stop()))
    throw err
  }
  return {
    ids: devices.map((d) => d.id),
    devices: SPECS.map((s) => ({
      id: s.id,
      kind: s.kind,
      // announce.ts names a Home Assistant device `kith_<id>`; a Homie id is the device's topic segment
      bridgeId: s.announce === 'homie' ? homieId(s.id) : `kith_${s.id}`,
    })),
    stop: async () => {
      await Promise.all(devices.map((d) => d.stop()))
    },
  }
}
