/**
 * The wave plan of a release: cumulative sizes ("1,25%,100%") turned into the wave each node belongs to, in the
 * fleet file's order. The first wave applies first; the next starts only when the previous one is healthy.
 */
import { ReleaseError, wavesProblem } from './release.ts'
import type { WaveSize } from './release.ts'

/**
 * The wave index (0-based) of each of `nodes`, in order. A percentage is of the whole fleet, rounded up; the
 * last wave always reaches every node. Refuses an empty list and sizes that do not grow, with `bad_waves`.
 *
 * @example
 * waveOf(['a', 'b', 'c', 'd', 'e'], [1, '25%', '100%']) // [0, 1, 2, 2, 2]
 */
export function waveOf(nodes: readonly unknown[], waves: readonly WaveSize[]): number[] {
  const problem = wavesProblem(waves)
  if (problem !== undefined)
    throw new ReleaseError('bad_waves', problem, 'list growing sizes, e.g. 1,25%,100%')
  const total = nodes.length
  const cumulative = waves.map((wave, i) => {
    if (i === waves.length - 1) return total
    const size = typeof wave === 'number' ? wave : Math.ceil((Number(wave.slice(0, -1)) * total) / 100)
    return Math.min(size, total)
  })
  for (let i = 1; i < cumulative.length; i++) {
    // a count and a percentage are comparable only here, against the fleet's size
    if (cumulative[i]! < cumulative[i - 1]!)
      throw new ReleaseError(
        'bad_waves',
        `wave ${String(waves[i])} covers ${cumulative[i]} of ${total} nodes, fewer than the wave before it`,
        'list growing sizes, e.g. 1,25%,100%',
      )
  }
  return nodes.map((_, index) => cumulative.findIndex((reach) => index < reach))
}
