/**
 * What the device plane publishes on the node's event bus (src/util/event-bus.ts): devices coming, going or
 * changing what they offer, commands and their outcomes, and the MQTT link's traffic.
 */

export interface DeviceEvents {
  /** the set of offered device capabilities may have changed: a device added, removed, online or offline */
  devices: { device?: string }
  /** a command to a device was sent, confirmed, timed out, failed, or re-sent after a reconnect */
  'device-command': { outcome: 'sent' | 'confirmed' | 'timed-out' | 'failed' | 'resent'; capability?: string }
  /** the MQTT link received a message (a reading, an availability), connected, or lost its broker */
  mqtt: { type: 'message' | 'connect' | 'close' }
}
