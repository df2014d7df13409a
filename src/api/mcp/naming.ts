/**
 * Tool names for network capabilities. MCP allows `^[a-zA-Z0-9_-]{1,64}$`; a name depends only on the
 * capability id, its provider, and which other ids and providers are live, never on arrival order:
 *
 * 1. The stem is the id with every character outside `[A-Za-z0-9_-]` replaced by `_` (`light.hall` ->
 *    `light_hall`).
 * 2. When another live id has the same stem, or the stem is a fixed tool's name, the stem gets `_` and the
 *    first 6 hex digits of sha256(id).
 * 3. An id offered by one provider is named by its stem. An id offered by several gets one tool per
 *    provider: stem, `_`, and the last 6 characters of the provider's peer id (more when two providers'
 *    tails agree), the stem cut short to fit 64 characters.
 * 4. Should two names still agree (cutting long stems), each gets `_` and hex digits of sha256(peer, id).
 *
 * So a tool keeps its name while its provider stays, except when its id goes from one provider to several
 * or back.
 */
import { sha256Hex } from '../../util/canonical.ts'

export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
const MAX_NAME = 64
const TAIL = 6

export interface Offer {
  /** capability id */
  id: string
  /** provider peer id */
  peer: string
}

/** The key of an offer in the map {@link toolNames} returns. */
export const offerKey = (o: Offer): string => `${o.peer}\n${o.id}`

const hex = (text: string, n: number) => sha256Hex(text).slice(0, n)
const sanitize = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '_')
const withSuffix = (stem: string, suffix: string) =>
  `${stem.slice(0, MAX_NAME - 1 - suffix.length)}_${suffix}`

/**
 * Names every offer; the result maps {@link offerKey} to the tool name.
 *
 * @example
 * toolNames([{ id: 'light.hall', peer: '12D3KooWAbc' }], new Set()).get('12D3KooWAbc\nlight.hall') // 'light_hall'
 */
export function toolNames(offers: readonly Offer[], reserved: ReadonlySet<string>): Map<string, string> {
  const providers = new Map<string, string[]>()
  for (const o of offers) {
    const list = providers.get(o.id)
    if (list == null) providers.set(o.id, [o.peer])
    else if (!list.includes(o.peer)) list.push(o.peer)
  }
  const idsByStem = new Map<string, number>()
  for (const id of providers.keys()) {
    const stem = sanitize(id).slice(0, MAX_NAME)
    idsByStem.set(stem, (idsByStem.get(stem) ?? 0) + 1)
  }

  const names = new Map<string, string>()
  for (const [id, peers] of providers) {
    let stem = sanitize(id).slice(0, MAX_NAME)
    if ((idsByStem.get(stem) ?? 0) > 1 || reserved.has(stem)) stem = withSuffix(stem, hex(id, 6))
    if (peers.length === 1) {
      names.set(offerKey({ id, peer: peers[0] as string }), stem)
      continue
    }
    let n = TAIL
    const tail = (peer: string) => sanitize(peer.slice(-n))
    while (n < 52 && new Set(peers.map(tail)).size < peers.length) n++
    for (const peer of peers) names.set(offerKey({ id, peer }), withSuffix(stem, tail(peer)))
  }
  return uniquely(names, reserved)
}

/** Rule 4: names that still collide (with each other or a fixed tool) get hash digits of their offer. */
function uniquely(names: Map<string, string>, reserved: ReadonlySet<string>): Map<string, string> {
  for (let digits = 6; digits <= 16; digits += 2) {
    const count = new Map<string, number>()
    for (const name of names.values()) count.set(name, (count.get(name) ?? 0) + 1)
    const clashing = [...names].filter(([, name]) => (count.get(name) ?? 0) > 1 || reserved.has(name))
    if (clashing.length === 0) return names
    for (const [key, name] of clashing) names.set(key, withSuffix(name, hex(key, digits)))
  }
  return names
}
