/**
 * Fleet files: one YAML file for a household of nodes (fleet-schema.ts), rendered into one `kith.yaml` per
 * node (fleet-merge.ts for the merge rules, fleet-render.ts for validation and output). Every problem is
 * reported as `FILE:LINE: path: message` against the fleet file, like `kith config check` does for a node.
 */
import { basename, join, relative, resolve } from 'node:path'
import type { z } from 'zod'
import { ConfigError, type ConfigProblem } from './errors.ts'
import { builtinProfileDir, loadProfiles, type Profile } from '../devices/profile.ts'
import { compileTemplate } from '../devices/template.ts'
import {
  checkDevices,
  composeNode,
  mergeNodeProblems,
  type NodeProblem,
  renderYaml,
  validateNode,
} from './fleet-render.ts'
import { type FleetSpec, fleetSchema } from './fleet-schema.ts'
import { unknownKeys } from './fleet-shape.ts'
import { configSchema } from './schema.ts'
import { parseYamlSource, readYamlSource, type YamlSource } from './yaml-source.ts'
import { EXIT, KithError } from '../util/errors.ts'

export { FLEET_VERSION, type FleetNode, type FleetSpec, fleetSchema } from './fleet-schema.ts'

/** A fleet file read and checked for its own structure (not yet for the configs it renders). */
export interface Fleet {
  /** absolute path */
  file: string
  source: YamlSource
  spec: FleetSpec
}

/** One node's rendered config. */
export interface RenderedNode {
  name: string
  peerId?: string
  /** the config as merged, before the node's schema fills its defaults */
  config: Record<string, unknown>
  /** the text of its kith.yaml, header included */
  yaml: string
}

export interface RenderOptions {
  /** only these nodes (by name); default every node */
  nodes?: readonly string[]
  /**
   * the directory the files go to (`DIR/<name>/kith.yaml`): each header names the fleet file relative to
   * its own file. Without it the header names the fleet file by its base name.
   */
  outDir?: string
}

/**
 * Reads a fleet file and checks its structure: the format version, node names, labels, peer ids.
 *
 * @example
 * const fleet = await loadFleet('fleet.yaml')
 * fleet.spec.nodes.map((n) => n.name) // ['hub', 'kitchen', 'garage']
 */
export async function loadFleet(file: string): Promise<Fleet> {
  const path = resolve(file)
  const source = await readYamlSource(path)
  if (Array.isArray(source)) throw new ConfigError(source)
  return checkFleet(source)
}

/** Like {@link loadFleet}, from text. */
export function parseFleet(text: string, file: string): Fleet {
  const source = parseYamlSource(text, file)
  if (Array.isArray(source)) throw new ConfigError(source)
  return checkFleet(source)
}

function checkFleet(source: YamlSource): Fleet {
  const parsed = fleetSchema.safeParse(source.value)
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.flatMap((issue) => structureProblems(issue, source)))
  return { file: source.file, source, spec: parsed.data }
}

function structureProblems(issue: z.core.$ZodIssue, source: YamlSource): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => ({
      source: source.file,
      line: source.keyLine(issue.path, key) ?? source.locate(issue.path).line,
      path: [...issue.path, key].join('.'),
      message: 'unknown key',
    }))
  return [
    {
      source: source.file,
      line: source.locate(issue.path).line,
      path: issue.path.length > 0 ? issue.path.join('.') : '(file)',
      message: issue.message,
    },
  ]
}

/**
 * Renders the fleet's nodes; throws {@link ConfigError} with every problem found in any of them, each
 * located at the fleet line that caused it. Unknown keys are found in every layer, even a label no node
 * carries; devices are checked against the built-in profiles.
 *
 * @example
 * for (const node of await renderFleet(await loadFleet('fleet.yaml'), { outDir: 'out' }))
 *   await writeFile(`out/${node.name}/kith.yaml`, node.yaml)
 */
export async function renderFleet(fleet: Fleet, options: RenderOptions = {}): Promise<RenderedNode[]> {
  const { spec, source } = fleet
  const wanted = options.nodes ?? spec.nodes.map((n) => n.name)
  const missing = wanted.filter((w) => !spec.nodes.some((n) => n.name === w))
  if (missing.length > 0) throw new FleetNodeError(missing, fleet.file)

  const layerProblems = layerKeyProblems(spec, source)
  const reported = new Set(layerProblems.map((p) => `${p.line}\0${p.path}\0${p.message}`))
  const nodeProblems: NodeProblem[] = []
  const rendered: RenderedNode[] = []
  let builtin: Promise<ReadonlyMap<string, Profile>> | undefined
  const profiles = () => (builtin ??= loadProfiles([builtinProfileDir()], { checkTemplate: compileTemplate }))
  for (const [index, node] of spec.nodes.entries()) {
    if (!wanted.includes(node.name)) continue
    const composed = composeNode(spec, index)
    const problems = validateNode(composed, source).filter(
      (p) => !reported.has(`${p.line}\0${p.path}\0${p.message}`),
    )
    if (problems.length === 0) problems.push(...(await checkDevices(composed, source, profiles)))
    nodeProblems.push(...problems)
    const from =
      options.outDir != null
        ? relative(join(resolve(options.outDir), node.name), fleet.file)
        : basename(fleet.file)
    rendered.push({
      name: node.name,
      ...(node.peerId != null ? { peerId: node.peerId } : {}),
      config: composed.value,
      yaml: renderYaml(composed.value, { from, node: node.name }),
    })
  }
  const problems = [...layerProblems, ...mergeNodeProblems(nodeProblems)].sort((a, b) => a.line - b.line)
  if (problems.length > 0) throw new ConfigError(problems)
  return rendered
}

/** Unknown keys in the defaults, in every label and in every node's config, at the line of the key. */
function layerKeyProblems(spec: FleetSpec, source: YamlSource): ConfigProblem[] {
  const layers: Array<[Array<string | number>, unknown]> = [
    [['defaults'], spec.defaults],
    ...Object.entries(spec.labels).map(([name, body]): [string[], unknown] => [['labels', name], body]),
    ...spec.nodes.map((n, i): [Array<string | number>, unknown] => [['nodes', i, 'config'], n.config]),
  ]
  return layers.flatMap(([at, body]) =>
    unknownKeys(body, configSchema).map(({ path, key }) => {
      const map = [...at, ...path]
      return {
        source: source.file,
        line: source.keyLine(map, key) ?? source.locate(map).line,
        path: [...map, key].join('.'),
        message: 'unknown key',
      }
    }),
  )
}

/** Asked to render a node the fleet does not have. */
export class FleetNodeError extends KithError {
  static override readonly code = 'unknown_node'
  static override readonly status = 404
  static override readonly exitCode = EXIT.usage
  constructor(names: string[], file: string) {
    super(`${file} has no node named ${names.map((n) => JSON.stringify(n)).join(', ')}`)
    this.name = 'FleetNodeError'
  }
}

/** Where `kith fleet render --out DIR` writes a node's config. */
export function renderedPath(outDir: string, node: string): string {
  return join(outDir, node, 'kith.yaml')
}
