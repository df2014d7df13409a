/**
 * How the layers of a fleet file (defaults, labels, a node's own config) combine into one node's config,
 * and, for every part of the result, the place in the fleet file that set it last, so that a problem found
 * in a rendered config points at the fleet line that caused it.
 *
 * Rules: maps merge key by key and `null` removes a key; scalars replace; a non-empty list whose entries
 * are all maps with a string `id` (capabilities, devices) merges by id into the list before it: the same id
 * merges into that entry, a new id is appended, `{id: x, remove: true}` drops entry x; any other list
 * replaces the one before it, so `[]` empties a list.
 */
import type { Path } from './shape.ts'

/** Where a part of a merged value came from. */
export interface Origin {
  /** the fleet-file path of the layer value that set this part last */
  at: Path
  /** for a map or a list: the origins of its parts, by key or by index in the merged value */
  kids?: Map<string | number, Origin>
}

export interface Merged {
  value: unknown
  origin: Origin
}

/** A misuse of the merge rules, at a fleet-file path. */
export interface MergeProblem {
  at: Path
  message: string
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v)
}

function hasId(v: unknown): v is Record<string, unknown> & { id: string } {
  return isPlainObject(v) && typeof v.id === 'string'
}

/** Sets an own property, whatever its name (`__proto__` included). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * Merges `over`, found at `at` in the fleet file, over `base` (absent: nothing before it).
 *
 * @example
 * const problems: MergeProblem[] = []
 * const a = mergeLayer(undefined, { caps: [{ id: 'x', risk: 'low' }] }, ['defaults'], problems)
 * const b = mergeLayer(a, { caps: [{ id: 'x', risk: 'high' }, { id: 'y' }] }, ['labels', 'k'], problems)
 * b.value // { caps: [{ id: 'x', risk: 'high' }, { id: 'y' }] }
 */
export function mergeLayer(
  base: Merged | undefined,
  over: unknown,
  at: Path,
  problems: MergeProblem[],
): Merged {
  if (isPlainObject(over)) {
    const into = base != null && isPlainObject(base.value) ? base : undefined
    const value: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(into?.value ?? {})) setOwn(value, k, v)
    const kids = new Map(into?.origin.kids ?? [])
    for (const [key, v] of Object.entries(over)) {
      if (v === null) {
        delete value[key]
        kids.delete(key)
        continue
      }
      const prev = Object.hasOwn(value, key)
        ? { value: value[key], origin: kids.get(key) ?? { at: [...at, key] } }
        : undefined
      const merged = mergeLayer(prev, v, [...at, key], problems)
      setOwn(value, key, merged.value)
      kids.set(key, merged.origin)
    }
    return { value, origin: { at, kids } }
  }
  if (Array.isArray(over)) {
    if (over.length > 0 && over.every(hasId)) return mergeById(base, over, at, problems)
    return list(
      over.map((item, i) => mergeLayer(undefined, item, [...at, i], problems)),
      at,
    )
  }
  return { value: over, origin: { at } }
}

function mergeById(
  base: Merged | undefined,
  over: Array<Record<string, unknown> & { id: string }>,
  at: Path,
  problems: MergeProblem[],
): Merged {
  const items: Merged[] =
    base != null && Array.isArray(base.value) && base.value.every(hasId)
      ? base.value.map((value, i) => ({
          value,
          origin: base.origin.kids?.get(i) ?? { at: [...base.origin.at, i] },
        }))
      : []
  const seen = new Set<string>()
  over.forEach((entry, j) => {
    const here = [...at, j]
    if (seen.has(entry.id)) {
      problems.push({ at: [...here, 'id'], message: `id "${entry.id}" is listed twice in this list` })
      return
    }
    seen.add(entry.id)
    const index = items.findIndex((item) => (item.value as { id: string }).id === entry.id)
    if (Object.hasOwn(entry, 'remove')) {
      if (entry.remove !== true || Object.keys(entry).some((k) => k !== 'id' && k !== 'remove'))
        problems.push({ at: here, message: 'a removal entry is exactly {id: <id>, remove: true}' })
      else if (index >= 0) items.splice(index, 1)
      return
    }
    const merged = mergeLayer(index >= 0 ? items[index] : undefined, entry, here, problems)
    if (index >= 0) items[index] = merged
    else items.push(merged)
  })
  return list(items, at)
}

function list(items: Merged[], at: Path): Merged {
  return {
    value: items.map((item) => item.value),
    origin: { at, kids: new Map(items.map((item, i) => [i, item.origin])) },
  }
}

/**
 * The fleet-file path behind `path` of a merged value: the origin of the deepest part that exists, and,
 * when that part is a map or list, the rest of `path` as it would be written there.
 *
 * @example
 * originOf(merged.origin, ['caps', 0, 'risk']) // ['labels', 'k', 'caps', 0, 'risk']
 */
export function originOf(root: Origin, path: ReadonlyArray<PropertyKey>): Path {
  let node = root
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    const key = typeof seg === 'symbol' ? String(seg) : seg
    const next = key != null ? node.kids?.get(key) : undefined
    if (next == null) {
      if (node.kids == null) return node.at
      return [...node.at, ...path.slice(i).map((s) => (typeof s === 'number' ? s : String(s)))]
    }
    node = next
  }
  return node.at
}
