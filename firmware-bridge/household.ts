/**
 * The demo household `kith start --demo` (and so `npm start`) runs on the node's own broker: a few virtual
 * devices announcing themselves the ways real ones do, so a fresh node has devices to find and act on.
 */
import { startVirtualDevice, type VirtualDevice } from './virtual-device.ts'

export interface DemoHousehold {
  ids: string[]
  stop(): Promise<void>
}

/**
 * @example
 * const household = await startDemoHousehold('mqtt://127.0.0.1:1883')
 * await household.stop()
 */
export async function startDemoHousehold(url: string): Promise<DemoHousehold> {
  const devices: VirtualDevice[] = []
  const specs = [
    { kind: 'plug', id: 'desk_plug', announce: 'homeassistant' },
    { kind: 'light', id: 'living_room_lamp', announce: 'homeassistant' },
    { kind: 'climate-sensor', id: 'kitchen_climate', announce: 'homeassistant' },
    { kind: 'diy-relay', id: 'garden_pump', announce: 'homie' },
  ] as const
  try {
    for (const s of specs) devices.push(await startVirtualDevice({ url, ...s, readingIntervalMs: 10_000 }))
  } catch (err) {
    await Promise.all(devices.map((d) => d.stop()))
    throw err
  }
  return {
    ids: devices.map((d) => d.id),
    stop: async () => {
      await Promise.all(devices.map((d) => d.stop()))
    },
  }
}
