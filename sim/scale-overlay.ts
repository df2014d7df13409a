/**
 * The gossip overlay of the scale scenario: which nodes are connected (the topic peers gossipsub sees) and
 * which of those links form the mesh, as gossipsub's heartbeats leave it once they have settled. A real node
 * connects through bootstrap, mDNS and the DHT; here each node has at least `peers` random connections
 * (a complete graph when the network is smaller), never more than `maxConnections`. The mesh is symmetric,
 * like gossipsub's (a GRAFT adds the link at both ends): each node grafts random peers up to D, a peer
 * already at Dhi is not grafted, and a node still under Dlo grafts any peer it can. The overlay is static:
 * no churn, so no GRAFT/PRUNE traffic in the window.
 */
import type { Random } from './random.ts'

export interface OverlayModel {
  peers: number
  maxConnections: number
  D: number
  Dlo: number
  Dhi: number
}

export interface Overlay {
  size: number
  /** connected topic peers of each node (symmetric) */
  peers: number[][]
  /** the gossipsub mesh of each node (symmetric, a subset of its peers): eager push */
  mesh: number[][]
  /** peers outside the mesh: where lazy gossip (IHAVE) goes */
  lazy: number[][]
  /** nodes the mesh cannot reach from node 0 (0 when it is connected) */
  unreachable: number
}

/**
 * @example
 * const overlay = buildOverlay(1000, { peers: 16, maxConnections: 32, D: 6, Dlo: 4, Dhi: 12 }, rng.fork('overlay'))
 * overlay.mesh[0] // 6 to 12 neighbours
 */
export function buildOverlay(size: number, model: OverlayModel, rng: Random): Overlay {
  const peers = connect(size, model, rng)
  const sets = Array.from({ length: size }, () => new Set<number>())
  const link = (a: number, b: number) => {
    sets[a]!.add(b)
    sets[b]!.add(a)
  }
  const order = rng.shuffle(Array.from({ length: size }, (_, i) => i))
  const graft = (node: number, target: number, cap: number) => {
    const mine = sets[node]!
    for (const p of rng.shuffle(peers[node]!)) {
      if (mine.size >= target) return
      if (!mine.has(p) && sets[p]!.size < cap) link(node, p)
    }
  }
  for (const node of order) graft(node, model.D, model.Dhi)
  // a node its peers filled up before it grafted still needs Dlo: gossipsub grafts regardless of their degree
  for (const node of order) if (sets[node]!.size < model.Dlo) graft(node, model.Dlo, Number.POSITIVE_INFINITY)
  const mesh = sets.map((s) => [...s].sort((a, b) => a - b))
  const lazy = peers.map((ps, i) => ps.filter((p) => !sets[i]!.has(p)))
  return { size, peers, mesh, lazy, unreachable: size - reach(mesh) }
}

/** A random graph in which each node has at least min(peers, size - 1) links and at most maxConnections. */
function connect(size: number, model: OverlayModel, rng: Random): number[][] {
  const want = Math.min(model.peers, size - 1, model.maxConnections)
  const sets = Array.from({ length: size }, () => new Set<number>())
  if (want === size - 1) {
    for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) if (a !== b) sets[a]!.add(b)
  } else {
    for (const node of rng.shuffle(Array.from({ length: size }, (_, i) => i))) {
      const mine = sets[node]!
      // dial random nodes; a dense corner (few candidates left) falls back to a scan in random order
      for (let tries = 0; mine.size < want && tries < want * 20; tries++) {
        const p = rng.int(size)
        if (p !== node && !mine.has(p) && sets[p]!.size < model.maxConnections) {
          mine.add(p)
          sets[p]!.add(node)
        }
      }
      if (mine.size < want)
        for (const p of rng.shuffle(Array.from({ length: size }, (_, i) => i))) {
          if (mine.size >= want) break
          if (p !== node && !mine.has(p) && sets[p]!.size < model.maxConnections) {
            mine.add(p)
            sets[p]!.add(node)
          }
        }
    }
  }
  return sets.map((s) => [...s].sort((a, b) => a - b))
}

/** How many nodes a breadth-first walk of `graph` from node 0 reaches. */
function reach(graph: number[][]): number {
  if (graph.length === 0) return 0
  const seen = new Uint8Array(graph.length)
  const queue = [0]
  seen[0] = 1
  for (let i = 0; i < queue.length; i++)
    for (const next of graph[queue[i]!]!)
      if (seen[next] === 0) {
        seen[next] = 1
        queue.push(next)
      }
  return queue.length
}
