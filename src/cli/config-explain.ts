/**
 * `kith config explain [KEY]`: what a config key means, read from the schema (src/config/explain.ts), the
 * same source as docs/configuration.md.
 */
import { type ConfigKey, configKeys, findKey, nearestKeys, valueText } from '../config/explain.ts'

/** What the command prints, or the one line to print instead when the key does not exist. */
export type ExplainOutcome = { ok: true; text: string } | { ok: false; message: string }

// the reference is Markdown; a terminal shows the backticks as noise
const plain = (text: string) => text.replaceAll('`', '')

function summary(key: ConfigKey): string {
  // a section says what it is for; its type ("map") says nothing
  if (key.type === 'map') return plain(key.description.split(/(?<=\.) /)[0] ?? '')
  const parts = [plain(key.type)]
  if (key.allowed != null) parts.push(key.allowed)
  if (key.default !== undefined) parts.push(`default ${valueText(key.default)}`)
  return parts.join(', ')
}

function describe(key: ConfigKey, keys: readonly ConfigKey[]): string {
  const lines = [key.path, `  type:     ${plain(key.type)}${key.allowed != null ? ` (${key.allowed})` : ''}`]
  if (key.default !== undefined) lines.push(`  default:  ${valueText(key.default)}`)
  for (const example of key.examples ?? []) lines.push(`  example:  ${valueText(example)}`)
  if (key.env != null) lines.push(`  env:      ${key.env}`)
  if (key.description !== '') lines.push(`  ${plain(key.description)}`)
  if (key.children.length > 0) {
    const children = key.children.map((path) => keys.find((k) => k.path === path)).filter((k) => k != null)
    const width = Math.max(...children.map((c) => c.path.length))
    lines.push('  keys:')
    for (const child of children) lines.push(`    ${child.path.padEnd(width)}  ${summary(child)}`)
  }
  return lines.join('\n')
}

/**
 * The explanation of `query` (no query: the top-level keys), as text or as JSON.
 *
 * @example
 * explainConfigKey('api.maxConnections').ok // true
 * explainConfigKey('api.maxConection') // { ok: false, message: 'no config key "api.maxConection"; did you mean api.maxConnections, …?' }
 */
export function explainConfigKey(query: string | undefined, opts: { json?: boolean } = {}): ExplainOutcome {
  const keys = configKeys()
  if (query == null || query.trim() === '') {
    const top = keys.filter((k) => !k.path.includes('.') && !k.path.includes('['))
    const root: ConfigKey = {
      path: 'kith.yaml',
      type: 'map',
      description: '',
      children: top.map((k) => k.path),
    }
    if (opts.json === true) return { ok: true, text: JSON.stringify(top) }
    return { ok: true, text: describe(root, keys) }
  }
  const key = findKey(keys, query)
  if (key == null) {
    const near = nearestKeys(keys, query)
    const hint =
      near.length > 0 ? `; did you mean ${near.join(', ')}?` : '; run kith config explain to list the keys'
    return { ok: false, message: `no config key "${query}"${hint}` }
  }
  if (opts.json === true) return { ok: true, text: JSON.stringify(key) }
  return { ok: true, text: describe(key, keys) }
}
