/** How numbers, times and peer ids read on the dashboard. */

/**
 * The tail of a peer id, long enough to tell a household's peers apart (as `kith` prints them).
 *
 * @example
 * shortPeer('12D3KooWGEnQnTHFFDSsBtmuKrzs1erQykeYytk352DP4gCnbsdn') // '…4gCnbsdn'
 */
export function shortPeer(peerId: string): string {
  return peerId.length <= 12 ? peerId : `…${peerId.slice(-8)}`
}

/**
 * "this node" for self, else the short id, after the name the peer gave itself when `names` has one (a
 * peer chooses its own name, so the id stays in sight).
 *
 * @example
 * peerName(id, self, new Map([[id, 'kitchen']])) // 'kitchen (…4gCnbsdn)'
 */
export function peerName(
  peerId: string | undefined,
  self: string | undefined,
  names?: ReadonlyMap<string, string>,
): string {
  if (peerId == null || peerId === '') return '—'
  if (peerId === self) return 'this node'
  const name = names?.get(peerId)
  return name != null ? `${name} (${shortPeer(peerId)})` : shortPeer(peerId)
}

/**
 * A duration in whole seconds or minutes, for ages and TTLs.
 *
 * @example
 * seconds(4200) // '4 s'
 */
export function seconds(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.floor(s / 60)} min`
  return `${Math.floor(s / 3600)} h`
}

/**
 * A duration precise where it is short, for latencies.
 *
 * @example
 * duration(85) // '85 ms'
 */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return seconds(ms)
}

/** A 0..1 fraction as a percentage; load can pass 100 %. */
export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`
}

/** A trust value (0..1) with two decimals. */
export function score(value: number | undefined): string {
  return value == null || !Number.isFinite(value) ? '—' : value.toFixed(2)
}

/** A wall-clock time of day for an epoch-ms instant. */
export function clockTime(ms: number | undefined): string {
  if (ms == null) return '—'
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

/** A reading's or an output's value as short text. */
export function valueText(value: unknown): string {
  if (value === undefined) return '—'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}
