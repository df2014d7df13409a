/**
 * Renders one node of a fleet: merges its layers (defaults, then its labels in the order it lists them,
 * then its own config), adds the household's peer ids to `trust.pretrusted`, validates the result with the
 * node's own schema, and writes it as YAML with a stable key order.
 */
import type { z } from 'zod'
import { stringify } from 'yaml'
import { devicesFromConfig } from '../devices/config-devices.ts'
import type { Profile } from '../devices/profile.ts'
import { ConfigError, type ConfigProblem } from '../config/errors.ts'
import { type Merged, mergeLayer, type MergeProblem, type Origin, originOf } from './merge.ts'
import type { FleetSpec } from './schema.ts'
import { orderKeys, type Path } from './shape.ts'
import { CONFIG_VERSION, configSchema } from '../config/schema.ts'
import type { YamlSource } from '../config/yaml-source.ts'

/** One node's config before validation, and where each part of it came from in the fleet file. */
export interface ComposedNode {
  name: string
  value: Record<string, unknown>
  origin: Origin
  problems: MergeProblem[]
}

/** A problem of one rendered node, located in the fleet file. */
export interface NodeProblem extends ConfigProblem {
  node: string
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v)
}

/**
 * Merges the layers of `spec.nodes[index]` into its config.
 *
 * @example
 * const hub = composeNode(spec, 0)
 * hub.value.name // 'hub'
 */
export function composeNode(spec: FleetSpec, index: number): ComposedNode {
  const node = spec.nodes[index]
  if (node == null) throw new RangeError(`no node at index ${index}`)
  const problems: MergeProblem[] = []
  const own: Path = ['nodes', index, 'config']
  let merged: Merged = mergeLayer(undefined, spec.defaults, ['defaults'], problems)
  for (const label of node.labels) {
    const body = spec.labels[label]
    if (body != null) merged = mergeLayer(merged, body, ['labels', label], problems)
  }
  merged = mergeLayer(merged, node.config, own, problems)
  const value = merged.value as Record<string, unknown>
  const kids = merged.origin.kids ?? new Map<string | number, Origin>()
  // the node's entry is where a problem with no more specific origin (a key no layer set) is reported
  const origin: Origin = { at: own, kids }
  if (!Object.hasOwn(value, 'name')) {
    value.name = node.name
    kids.set('name', { at: ['nodes', index, 'name'] })
  }
  if (!Object.hasOwn(value, 'version')) {
    value.version = CONFIG_VERSION
    kids.set('version', { at: ['fleet'] })
  }
  if (spec.owner != null) {
    value.owner = spec.owner
    kids.set('owner', { at: ['owner'] })
  }
  addHousehold(spec, index, value, origin)
  return { name: node.name, value, origin, problems }
}

/**
 * Every known peer id of the fleet but the node's own joins its `trust.pretrusted`, after the ids the
 * layers list (a node listing itself is dropped: trusting oneself means nothing).
 */
function addHousehold(spec: FleetSpec, index: number, value: Record<string, unknown>, origin: Origin): void {
  const self = spec.nodes[index]?.peerId
  const household = spec.nodes.flatMap((n, k) =>
    n.peerId != null && n.peerId !== self ? [{ id: n.peerId, at: ['nodes', k, 'peerId'] as Path }] : [],
  )
  const trust = value.trust ?? {}
  if (!isPlainObject(trust)) return
  const listed = trust.pretrusted ?? []
  if (!Array.isArray(listed)) return
  if (household.length === 0 && (self == null || !listed.includes(self))) return
  const trustOrigin = origin.kids?.get('trust') ?? { at: [...origin.at, 'trust'] }
  trustOrigin.kids ??= new Map()
  const listOrigin = trustOrigin.kids.get('pretrusted')?.kids ?? new Map<string | number, Origin>()
  const ids: unknown[] = []
  const kids = new Map<string | number, Origin>()
  const add = (id: unknown, from: Origin) => {
    if (id === self || ids.includes(id)) return
    kids.set(ids.length, from)
    ids.push(id)
  }
  listed.forEach((id, i) => add(id, listOrigin.get(i) ?? { at: [...trustOrigin.at, 'pretrusted', i] }))
  for (const peer of household) add(peer.id, { at: peer.at })
  value.trust = { ...trust, pretrusted: ids }
  trustOrigin.kids.set('pretrusted', { at: [...trustOrigin.at, 'pretrusted'], kids })
  origin.kids?.set('trust', trustOrigin)
}

/**
 * Validates a composed config with the schema the node loads it with; every problem is located at the
 * fleet line that set the offending part (or, for a key no layer set, at the node's entry).
 */
export function validateNode(composed: ComposedNode, source: YamlSource): NodeProblem[] {
  const at = (path: Path, message: string): NodeProblem => ({
    source: source.file,
    line: source.locate(path).line,
    path: path.join('.'),
    message,
    node: composed.name,
  })
  const problems = composed.problems.map((p) => at(p.at, p.message))
  const parsed = configSchema.safeParse(composed.value)
  if (parsed.success) return problems
  for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, composed.origin, at))
  return problems
}

function issueProblems(
  issue: z.core.$ZodIssue,
  origin: Origin,
  at: (path: Path, message: string) => NodeProblem,
): NodeProblem[] {
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => at(originOf(origin, [...issue.path, key]), 'unknown key'))
  return [at(originOf(origin, issue.path), issue.message)]
}

/**
 * Checks the devices of a config that passed {@link validateNode} against `profiles` (the built-in ones):
 * an unknown profile, or an action or sensor the profile does not have, is found at render time. A node
 * with `mqtt.profiles` folders of its own is checked when it loads its config, on its own machine.
 */
export async function checkDevices(
  composed: ComposedNode,
  source: YamlSource,
  profiles: () => Promise<ReadonlyMap<string, Profile>>,
): Promise<NodeProblem[]> {
  const { devices, mqtt } = composed.value
  if (!Array.isArray(devices) || devices.length === 0) return []
  if (isPlainObject(mqtt) && Array.isArray(mqtt.profiles) && mqtt.profiles.length > 0) return []
  // devicesFromConfig names problems by their path in the config: remember each one's fleet path
  const fleetPaths = new Map<string, Path>()
  const locate = (path: ReadonlyArray<PropertyKey>) => {
    const at = originOf(composed.origin, path)
    fleetPaths.set(path.map(String).join('.'), at)
    return { source: source.file, line: source.locate(at).line }
  }
  try {
    devicesFromConfig(devices, await profiles(), { locate })
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems.map((p) => ({
      ...p,
      path: fleetPaths.get(p.path)?.join('.') ?? p.path,
      node: composed.name,
    }))
  }
}

/**
 * A node's config as the text of its `kith.yaml`: a header saying where it came from, then the keys in the
 * schema's order (others in the order they were merged), so rendering twice gives the same bytes.
 *
 * @example
 * renderYaml(hub.value, { from: '../../fleet.yaml', node: 'hub' })
 */
export function renderYaml(value: Record<string, unknown>, header: { from: string; node: string }): string {
  const head = [
    `# Rendered by \`kith fleet render\` from ${header.from} (node ${header.node}).`,
    '# Do not edit by hand: change the fleet file and render again. Relative paths here are relative to',
    "# this file's directory.",
  ]
  return `${head.join('\n')}\n${stringify(orderKeys(value, configSchema), { lineWidth: 0 })}`
}

/**
 * Problems of several nodes, each reported once: the same line, path and message found in several nodes
 * (a bad key in the defaults) become one problem naming them all.
 */
export function mergeNodeProblems(problems: NodeProblem[]): ConfigProblem[] {
  const byKey = new Map<string, { problem: ConfigProblem; nodes: string[] }>()
  for (const p of problems) {
    const key = `${p.source}\0${p.line}\0${p.path}\0${p.message}`
    const seen = byKey.get(key)
    if (seen == null) byKey.set(key, { problem: p, nodes: [p.node] })
    else if (!seen.nodes.includes(p.node)) seen.nodes.push(p.node)
  }
  return [...byKey.values()].map(({ problem, nodes }) => ({
    source: problem.source,
    line: problem.line,
    path: problem.path,
    message: `${problem.message} (${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')})`,
  }))
}
