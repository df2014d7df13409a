/**
 * The generated part of docs/configuration.md: one table per section of `kith.yaml`, read from the schema
 * (src/config/explain.ts), so the reference cannot drift from what the validator enforces.
 */
import { type ConfigKey, configKeys, valueText } from '../../src/config/explain.ts'
import { LIVE_PATHS } from '../../src/node/reload-diff.ts'
import { cell } from './generated-block.ts'

/** How a reload treats `path`: a live path's children are live with it, which its row says once. */
function reloadNote(key: ConfigKey): string {
  if (!LIVE_PATHS.includes(key.path)) return ''
  return key.children.length > 0 ? ' *Live on reload, with all its keys.*' : ' *Live on reload.*'
}

function row(key: ConfigKey, described = true): string {
  const type = key.allowed != null ? `${key.type}, ${key.allowed}` : key.type
  const dflt = key.default !== undefined ? `\`${valueText(key.default)}\`` : ''
  const examples = (key.examples ?? []).map((e) => `\`${valueText(e)}\``)
  let text = described ? key.description : ''
  if (examples.length > 0) text += ` Example: ${examples.join(', ')}.`
  text += reloadNote(key)
  return `| \`${key.path}\` | ${cell(type)} | ${cell(dflt)} | ${cell(text.trim())} |`
}

const HEAD = '| key | type | default | what it does |\n| --- | --- | --- | --- |'

/**
 * The Markdown of every key: the top-level keys in one table, then a section per top-level map or list.
 *
 * @example
 * configReference().includes('| `api.maxConnections` |') // true
 */
export function configReference(keys: readonly ConfigKey[] = configKeys()): string {
  const byPath = new Map(keys.map((k) => [k.path, k]))
  const descendants = (key: ConfigKey): ConfigKey[] =>
    key.children.flatMap((p) => {
      const child = byPath.get(p)
      return child != null ? [child, ...descendants(child)] : []
    })
  const top = keys.filter((k) => !/[.[]/.test(k.path))
  const leaves = top.filter((k) => k.children.length === 0)
  const out = ['## Top-level keys', '', HEAD, ...leaves.map((k) => row(k))]
  for (const section of top.filter((k) => k.children.length > 0)) {
    // a map's own row would only repeat the paragraph above; a list's says its size and default
    const own = section.type === 'map' ? [] : [row(section, false)]
    out.push('', `## \`${section.path}\``, '', section.description, '', HEAD, ...own)
    out.push(...descendants(section).map((k) => row(k)))
  }
  return out.join('\n')
}
