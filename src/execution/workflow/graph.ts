/**
 * The dependency graph of a workflow's steps: who must finish before whom, and the check that it has no cycle.
 */

/** The part of a step the graph looks at. */
export interface GraphNode {
  id: string
  dependsOn: readonly string[]
}

/**
 * The first dependency cycle found, as the ids along it with the first repeated at the end; undefined when the
 * steps form a DAG. Dependencies on unknown ids are ignored (they are reported elsewhere).
 *
 * @example
 * findCycle([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }]) // ['a', 'b', 'a']
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | undefined {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  // 1: on the current path, 2: fully explored
  const state = new Map<string, 1 | 2>()
  const path: string[] = []
  const visit = (id: string): string[] | undefined => {
    const mark = state.get(id)
    if (mark === 2) return undefined
    if (mark === 1) return [...path.slice(path.indexOf(id)), id]
    state.set(id, 1)
    path.push(id)
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep)) continue
      const cycle = visit(dep)
      if (cycle != null) return cycle
    }
    path.pop()
    state.set(id, 2)
    return undefined
  }
  for (const node of nodes) {
    const cycle = visit(node.id)
    if (cycle != null) return cycle
  }
  return undefined
}
