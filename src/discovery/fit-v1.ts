/**
 * What fits in one v1 descriptor (16 KiB): the copy of its capabilities a v2 node offers peers that speak
 * only v1, and all a `discovery.version: 1` node offers. A v2 node's summary carries every capability in its
 * catalog pages; only this v1 copy leaves some out.
 */
import { type Capability, MAX_DESCRIPTOR_BYTES, MAX_DESCRIPTOR_CAPS } from './descriptor.ts'
import { canonicalEncode } from '../util/canonical.ts'

/** Room for capabilities in a descriptor: its 16 KiB cap less the other fields and the signature. */
const CAPABILITY_BUDGET = MAX_DESCRIPTOR_BYTES - 2048

/**
 * The node's own capabilities, then device actions, then sensors, as many as fit in one descriptor (its
 * bytes and its {@link MAX_DESCRIPTOR_CAPS} entries); `left` counts the rest (still runnable here, and in the
 * v2 catalog, but not in the v1 copy). The node's own are fitted like the others: a config may list more of
 * them than one descriptor holds, and a descriptor over its limits could not be signed at all.
 *
 * @example
 * const { offered, left } = fitDescriptor(scriptCaps, deviceCaps)
 */
export function fitDescriptor(
  own: Capability[],
  devices: Capability[],
): { offered: Capability[]; left: number } {
  const ordered = [
    ...own,
    ...devices.filter((c) => c.kind === 'device'),
    ...devices.filter((c) => c.kind !== 'device'),
  ]
  let used = 0
  const offered: Capability[] = []
  for (const c of ordered) {
    if (offered.length >= MAX_DESCRIPTOR_CAPS) break
    const size = canonicalEncode(c).byteLength
    if (used + size > CAPABILITY_BUDGET) continue
    used += size
    offered.push(c)
  }
  return { offered, left: ordered.length - offered.length }
}

/** {@link fitDescriptor} over one list: script capabilities are the node's own and always come first. */
export function fitV1(caps: Capability[]): { offered: Capability[]; left: number } {
  return fitDescriptor(
    caps.filter((c) => c.kind === 'script'),
    caps.filter((c) => c.kind !== 'script'),
  )
}
