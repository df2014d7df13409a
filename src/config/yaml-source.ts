/**
 * A YAML file read with its line numbers kept, so that a problem found later in the parsed value can be
 * pointed at the line that caused it.
 */
import { readFile } from 'node:fs/promises'
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml'
import type { ConfigProblem } from './errors.ts'

/** Largest config file accepted; a hand-written fleet config is a few KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024

export interface YamlSource {
  file: string
  value: Record<string, unknown>
  /** the line of the deepest existing node on `path`, and how many segments of `path` matched */
  locate(path: ReadonlyArray<PropertyKey>): { line: number; depth: number }
  /** the line of key `key` inside the map at `path` (for unknown keys) */
  keyLine(path: ReadonlyArray<PropertyKey>, key: string): number | undefined
}

/** Reads and parses one YAML file; returns the problems instead of throwing. */
export async function readYamlSource(file: string): Promise<YamlSource | ConfigProblem[]> {
  let text: string
  try {
    const bytes = await readFile(file)
    if (bytes.byteLength > MAX_CONFIG_BYTES) {
      return [{ source: file, line: 0, path: '(file)', message: `larger than ${MAX_CONFIG_BYTES} bytes` }]
    }
    text = bytes.toString('utf8')
  } catch (err) {
    return [{ source: file, line: 0, path: '(file)', message: `cannot read: ${(err as Error).message}` }]
  }
  return parseYamlSource(text, file)
}

/**
 * Parses YAML text whose top level is a map, keeping line numbers; returns the problems instead of throwing.
 *
 * @example
 * const src = parseYamlSource('a:\n  b: 1\n', 'x.yaml')
 * if (!Array.isArray(src)) src.locate(['a', 'b']).line // 2
 */
export function parseYamlSource(text: string, file: string): YamlSource | ConfigProblem[] {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({
      source: file,
      line: e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line,
      path: '(yaml)',
      message: e.message.split('\n')[0] ?? e.code,
    }))
  }
  let value: unknown
  try {
    // the alias limit stops a "billion laughs" file, by throwing
    value = doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (err) {
    return [{ source: file, line: 1, path: '(yaml)', message: (err as Error).message }]
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return [{ source: file, line: 1, path: '(file)', message: 'expected a map of keys at the top level' }]
  }
  const lineOf = (node: Node | null | undefined): number =>
    node?.range != null ? lines.linePos(node.range[0]).line : 1
  return {
    file,
    value: value as Record<string, unknown>,
    locate(path) {
      for (let depth = path.length; depth > 0; depth--) {
        const node = doc.getIn(path.slice(0, depth) as unknown[], true)
        if (node != null)
          return { line: lineOf(keyNodeOf(doc, path.slice(0, depth)) ?? (node as Node)), depth }
      }
      return { line: 1, depth: 0 }
    },
    keyLine(path, key) {
      const map = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true)
      if (!isMap(map)) return undefined
      const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key)
      return pair != null ? lineOf(pair.key as Node) : undefined
    },
  }
}

/** The key node of the last path segment, so a problem points at `key:` rather than its nested value. */
function keyNodeOf(doc: Document, path: ReadonlyArray<PropertyKey>): Node | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true)
  if (!isMap(parent)) return undefined
  const last = path[path.length - 1]
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last)
  return (pair?.key as Node | undefined) ?? undefined
}
