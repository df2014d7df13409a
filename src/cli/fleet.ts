/**
 * `kith fleet render <fleet.yaml> --out DIR [--node NAME]… [--check] [--stdout]`: writes `DIR/<name>/kith.yaml`
 * for each node of a fleet file (mode 0640), one line per node on stdout; nothing is written unless every
 * selected node renders into a valid config.
 */
import { randomUUID } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { loadFleet, renderedPath, renderFleet } from '../fleet/fleet.ts'

export interface FleetRenderOptions {
  out?: string
  node?: string[]
  check?: boolean
  stdout?: boolean
  /** one JSON array of `{node, file?, action}` instead of a line per node */
  json?: boolean
}

/** Mode of a rendered config: its owner writes it, the node's group (a service account) reads it. */
const CONFIG_MODE = 0o640

/**
 * Renders (or with `check`, only validates) the fleet; problems throw a ConfigError (exit 78).
 *
 * @example
 * await renderFleetCommand('fleet.yaml', { out: 'out' }) // prints "wrote out/hub/kith.yaml" …
 */
export async function renderFleetCommand(file: string, options: FleetRenderOptions): Promise<void> {
  const fleet = await loadFleet(file)
  const nodes = await renderFleet(fleet, {
    ...(options.node != null && options.node.length > 0 ? { nodes: options.node } : {}),
    ...(options.out != null ? { outDir: options.out } : {}),
  })
  if (options.stdout === true) {
    process.stdout.write(nodes[0]?.yaml ?? '')
    return
  }
  const report: Array<{ node: string; file?: string; action: 'ok' | 'wrote' | 'unchanged' }> = []
  if (options.check === true || options.out == null) {
    for (const node of nodes) report.push({ node: node.name, action: 'ok' })
  } else {
    for (const node of nodes) {
      const target = renderedPath(options.out, node.name)
      const written = await writeIfChanged(target, node.yaml)
      report.push({ node: node.name, file: target, action: written ? 'wrote' : 'unchanged' })
    }
  }
  if (options.json === true) console.log(JSON.stringify(report))
  else for (const r of report) console.log(r.file == null ? `${r.action} ${r.node}` : `${r.action} ${r.file}`)
}

/**
 * Writes `text` to `target` through a temporary file and a rename, so a node watching its config never
 * reads half a file; leaves the file alone (and its mtime) when it already holds `text`.
 */
async function writeIfChanged(target: string, text: string): Promise<boolean> {
  const current = await readFile(target, 'utf8').catch(() => undefined)
  if (current === text) {
    await chmod(target, CONFIG_MODE)
    return false
  }
  await mkdir(dirname(target), { recursive: true, mode: 0o750 })
  const temp = `${target}.${randomUUID().slice(0, 8)}.tmp`
  try {
    await writeFile(temp, text, { mode: CONFIG_MODE })
    // the mode given to writeFile is masked by the umask
    await chmod(temp, CONFIG_MODE)
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  return true
}
