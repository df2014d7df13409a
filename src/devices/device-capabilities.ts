/**
 * Devices as capabilities of the node: offered in its descriptor beside its own (with a re-announce whenever
 * a device comes, goes or changes), and runnable through the execution plane's registry.
 */
import { randomUUID } from 'node:crypto'
import type { CapabilityConfig } from '../config/index.ts'
import type { LocalState } from '../discovery/local-state.ts'
import type { CapabilityRegistry } from '../execution/registry.ts'
import type { Events } from '../util/event-bus.ts'
import type { DeviceBridge } from './bridge.ts'
import type { DeviceEvents } from './events.ts'

/**
 * The node's local state with the online devices' capabilities added after its own, and a re-announce
 * whenever a device comes, goes or changes.
 */
export function withDeviceCapabilities(
  local: LocalState,
  bridge: DeviceBridge,
  events: Events<Pick<DeviceEvents, 'devices'>>,
): LocalState {
  return {
    state: () => local.state(),
    // every capability: the v2 summary's catalog pages carry them all (src/discovery/summary.ts)
    capabilities: () => [...local.capabilities(), ...bridge.capabilities()],
    ...(local.start != null ? { start: () => (local.start as () => Promise<void>)() } : {}),
    ...(local.stop != null ? { stop: () => (local.stop as () => void)() } : {}),
    ...(local.replaceCapabilities != null
      ? { replaceCapabilities: (caps: CapabilityConfig[]) => local.replaceCapabilities?.(caps) }
      : {}),
    watch(onChange) {
      const offLocal = local.watch?.(onChange)
      const offBridge = events.on('devices', () => onChange())
      return () => {
        offLocal?.()
        offBridge()
      }
    },
  }
}

/** Keeps the registry's device capabilities equal to the bridge's known devices; returns the unsubscribe function. */
export function syncDeviceCapabilities(
  registry: CapabilityRegistry,
  bridge: DeviceBridge,
  events: Events<Pick<DeviceEvents, 'devices'>>,
): () => void {
  let offered = new Map<string, string>()
  const sync = () => {
    const next = new Map<string, string>()
    for (const capability of bridge.knownCapabilities()) {
      const text = JSON.stringify(capability)
      next.set(capability.id, text)
      if (offered.get(capability.id) === text) continue
      registry.register({
        capability,
        run: (input, signal, ctx) =>
          bridge.run(
            capability.id,
            input,
            { task: ctx?.id ?? randomUUID(), ...(ctx?.peer != null ? { peer: ctx.peer } : {}) },
            signal,
          ),
      })
    }
    for (const id of offered.keys()) if (!next.has(id)) registry.unregister(id)
    offered = next
  }
  sync()
  return events.on('devices', sync)
}
