/**
 * The fleet file: one YAML file that describes a household of kith nodes, from which `kith fleet render`
 * writes each node's `kith.yaml`.
 *
 * ```yaml
 * fleet: 1                 # format version
 * owner: 12D3KooW…         # optional: the fleet owner id, written into every rendered config
 * defaults: {…}            # kith.yaml keys every node shares
 * labels:                  # kith.yaml keys for the nodes carrying a label
 *   kitchen: {…}
 * nodes:
 *   - name: hub            # unique; the node's `name:` unless a layer sets one; its output directory
 *     peerId: 12D3KooW…    # optional: put into every other node's trust.pretrusted
 *     labels: [kitchen]    # applied in this order, after defaults
 *     config: {…}          # this node's own keys, applied last
 * ```
 */
import { z } from 'zod'
import { isPeerId } from '../config/schema.ts'

export const FLEET_VERSION = 1

/** Letters, digits, `.`, `_`, `-`; never `.` or `..`, so a node name is a safe directory name. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** A map of kith.yaml keys; an empty YAML key (`defaults:`) counts as an empty map. */
const layer = z.preprocess((v) => v ?? {}, z.record(z.string(), z.unknown()))
const name = z
  .string()
  .regex(NAME, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')

const fleetNode = z.strictObject({
  name,
  peerId: z.string().refine(isPeerId, 'not a valid libp2p peer id').optional(),
  labels: z.array(name).max(32).default([]),
  config: layer,
})

export const fleetSchema = z
  .strictObject({
    fleet: z.literal(FLEET_VERSION, { error: `the fleet format version; write fleet: ${FLEET_VERSION}` }),
    /** the fleet owner id, written as `owner:` at the top of every rendered config */
    owner: z.string().refine(isPeerId, 'not a valid libp2p peer id').optional(),
    defaults: layer,
    labels: z.preprocess((v) => v ?? {}, z.record(name, layer)),
    nodes: z.array(fleetNode).min(1, 'a fleet lists at least one node').max(256),
  })
  .superRefine((fleet, ctx) => {
    const layers: Array<[Array<string | number>, Record<string, unknown>]> = [
      [['defaults'], fleet.defaults],
      ...Object.entries(fleet.labels).map(([l, v]): [string[], Record<string, unknown>] => [
        ['labels', l],
        v,
      ]),
      ...fleet.nodes.map((n, i): [Array<string | number>, Record<string, unknown>] => [
        ['nodes', i, 'config'],
        n.config,
      ]),
    ]
    for (const [path, value] of layers)
      if (Object.hasOwn(value, 'fleet'))
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'fleet'],
          message: 'a rendered config includes no other file; put shared keys under defaults or a label',
        })
    for (const [path, value] of layers)
      if (Object.hasOwn(value, 'owner'))
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'owner'],
          message:
            'every node of a fleet has the same owner; write owner: once, at the top of the fleet file',
        })
    const names = new Map<string, number>()
    const peers = new Map<string, number>()
    fleet.nodes.forEach((node, i) => {
      // case-insensitively: hub/ and Hub/ are one directory on some file systems
      const key = node.name.toLowerCase()
      const first = names.get(key)
      if (first != null)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'name'],
          message: `duplicate node name "${node.name}" (also nodes.${first})`,
        })
      else names.set(key, i)
      if (node.peerId != null) {
        const other = peers.get(node.peerId)
        if (other != null)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'peerId'],
            message: `the same peer id as nodes.${other}; every node has its own identity`,
          })
        else peers.set(node.peerId, i)
      }
      node.labels.forEach((label, j) => {
        if (!Object.hasOwn(fleet.labels, label))
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'labels', j],
            message: `label "${label}" is not defined under labels`,
          })
        else if (node.labels.indexOf(label) !== j)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', i, 'labels', j],
            message: `"${label}" is listed twice`,
          })
      })
    })
  })

export type FleetSpec = z.output<typeof fleetSchema>
export type FleetNode = FleetSpec['nodes'][number]
