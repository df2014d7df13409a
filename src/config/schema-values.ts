/**
 * The value types that several sections of `kith.yaml` share: addresses, peer ids, capability ids, topic
 * prefixes and tiers, each with the message a user sees when a value does not fit.
 */
import { isIP } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'

export const CONFIG_VERSION = 1
export const DEFAULT_API = '127.0.0.1:7700'
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/7701'
export const DEFAULT_MQTT = '127.0.0.1:1883'

function isMultiaddr(value: string): boolean {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

/** True when `value` parses as a libp2p peer id. */
export function isPeerId(value: string): boolean {
  try {
    peerIdFromString(value)
    return true
  } catch {
    return false
  }
}

/** Splits `HOST:PORT` (IPv6 hosts in brackets); undefined when the text is not of that form. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value)
  if (match == null) return undefined
  const host = match[1] ?? match[2] ?? ''
  const port = Number(match[3])
  if (port > 65535) return undefined
  if (match[1] != null && isIP(host) !== 6) return undefined
  return { host, port }
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

// `format` names what a refinement checks, which JSON Schema cannot say; the reference prints it as the type
export const hostPort = z
  .string()
  .refine((v) => parseHostPort(v) != null, 'expected HOST:PORT, e.g. 127.0.0.1:7700')
  .meta({ format: 'HOST:PORT' })
export const multiaddrString = z
  .string()
  .refine(isMultiaddr, 'not a valid multiaddr')
  .meta({ format: 'multiaddr' })
export const peerIdString = z
  .string()
  .refine(isPeerId, 'not a valid libp2p peer id')
  .meta({ format: 'peer id' })
export const dialableMultiaddr = multiaddrString
  .refine((v) => /\/p2p\/[^/]+$/.test(v), 'a bootstrap address must end in /p2p/<peer id>')
  .meta({ format: 'multiaddr ending in /p2p/<peer id>' })
export const jsonSchema = z.record(z.string(), z.unknown()).meta({ format: 'JSON Schema' })
export const topicPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,3}$/, 'a topic prefix without wildcards')
export const capabilityId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use 1-64 lowercase letters, digits, ".", "_" or "-"')

/** A verification tier (DESIGN.md, "Tiers"). */
export const tierValue = z.union([z.literal(1), z.literal(2), z.literal(3)])
export const riskValue = z.enum(['low', 'medium', 'high'])
