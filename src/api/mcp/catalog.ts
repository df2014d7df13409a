/**
 * The tools made from the network's live capabilities: one per capability and provider (see naming.ts),
 * rebuilt only when the set of live capabilities changes. Each provider's capability list is fingerprinted
 * once per list object, so checking for a change costs a walk over the live descriptors, not a rebuild.
 */
import { createHash } from 'node:crypto'
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import type { Capability } from '../../discovery/descriptor.ts'
import type { LiveProvider } from './backend.ts'
import { FIXED_TOOL_NAMES, MAX_DYNAMIC_TOOLS } from './constants.ts'
import { offerKey, toolNames } from './naming.ts'
import { annotationsFor, describeTool, needsConfirmation, toolInput } from './tool-shape.ts'
import { BoundedMap } from '../../util/bounded-map.ts'

/** One live capability of one provider. */
export interface Offer {
  peer: string
  local: boolean
  capability: Capability
}

/** A listed tool and what it runs. */
export interface CapabilityTool extends Offer {
  name: string
  /** the capability's input is the tool's `input` argument */
  wrapped: boolean
  /** high risk: the user must confirm each call */
  confirm: boolean
  tool: Tool
}

export interface ToolSnapshot {
  /** equal for two snapshots exactly when the live capabilities are the same */
  key: string
  /** the capability tools listed, in list order */
  tools: Tool[]
  byName: ReadonlyMap<string, CapabilityTool>
  /** every live offer by capability id, listed or not, this node's first */
  offers: ReadonlyMap<string, readonly Offer[]>
  /** tool name of a listed offer */
  nameOf(peer: string, id: string): string | undefined
  /** offers left out of the list by the cap on tools */
  omitted: number
}

/** Names of tools that went away, remembered so that a late call gets "provider gone", not "unknown tool". */
const MAX_RETIRED = 1000

export interface ToolCatalogInit {
  maxTools?: number
  /** a snapshot younger than this is reused without asking the source (0: always ask) */
  maxAgeMs?: number
}

/**
 * @example
 * const catalog = new ToolCatalog(() => backend.providers())
 * const { tools, omitted } = await catalog.snapshot()
 */
export class ToolCatalog {
  readonly #source: () => Promise<readonly LiveProvider[]>
  readonly #maxTools: number
  readonly #maxAgeMs: number
  #fetchedAt = 0
  readonly #fingerprints = new WeakMap<readonly Capability[], string>()
  readonly #retired = new BoundedMap<string, Offer>({ max: MAX_RETIRED, refresh: 'set' })
  #last: ToolSnapshot | undefined

  constructor(source: () => Promise<readonly LiveProvider[]>, init: ToolCatalogInit = {}) {
    this.#source = source
    this.#maxTools = init.maxTools ?? MAX_DYNAMIC_TOOLS
    this.#maxAgeMs = init.maxAgeMs ?? 0
  }

  /** The tools for the capabilities live now; the previous snapshot when nothing changed. */
  async snapshot(): Promise<ToolSnapshot> {
    if (this.#last != null && performance.now() - this.#fetchedAt < this.#maxAgeMs) return this.#last
    const providers = await this.#source()
    this.#fetchedAt = performance.now()
    const key = this.#key(providers)
    if (this.#last?.key === key) return this.#last
    const next = build(key, providers, this.#maxTools)
    for (const [name, tool] of this.#last?.byName ?? []) if (!next.byName.has(name)) this.#retire(name, tool)
    for (const name of next.byName.keys()) this.#retired.delete(name)
    this.#last = next
    return next
  }

  /** What a tool that is no longer listed used to run. */
  retired(name: string): Offer | undefined {
    return this.#retired.get(name)
  }

  #retire(name: string, offer: Offer): void {
    this.#retired.set(name, { peer: offer.peer, local: offer.local, capability: offer.capability })
  }

  #key(providers: readonly LiveProvider[]): string {
    const parts: string[] = []
    for (const p of providers) {
      // a peer without capabilities adds no tool
      if (p.caps.length === 0) continue
      let print = this.#fingerprints.get(p.caps)
      if (print === undefined) {
        print = createHash('sha1').update(JSON.stringify(p.caps)).digest('base64')
        this.#fingerprints.set(p.caps, print)
      }
      parts.push(`${p.peer}:${p.local ? 1 : 0}:${print}`)
    }
    return parts.sort().join('\n')
  }
}

const RESERVED: ReadonlySet<string> = new Set(FIXED_TOOL_NAMES)

function build(key: string, providers: readonly LiveProvider[], maxTools: number): ToolSnapshot {
  const seen = new Set<string>()
  const all: Offer[] = []
  for (const p of providers)
    for (const capability of p.caps) {
      // a descriptor that lists an id twice offers it once
      const key = offerKey({ id: capability.id, peer: p.peer })
      if (seen.has(key)) continue
      seen.add(key)
      all.push({ peer: p.peer, local: p.local, capability })
    }
  // this node's first, then by id and provider: the list and its cut do not depend on arrival order
  all.sort(
    (a, b) =>
      Number(b.local) - Number(a.local) || cmp(a.capability.id, b.capability.id) || cmp(a.peer, b.peer),
  )
  const names = toolNames(
    all.map((o) => ({ id: o.capability.id, peer: o.peer })),
    RESERVED,
  )
  const offers = new Map<string, Offer[]>()
  for (const o of all) {
    const list = offers.get(o.capability.id)
    if (list == null) offers.set(o.capability.id, [o])
    else list.push(o)
  }
  const byName = new Map<string, CapabilityTool>()
  const tools: Tool[] = []
  for (const offer of all.slice(0, maxTools)) {
    const name = names.get(offerKey({ id: offer.capability.id, peer: offer.peer })) as string
    const confirm = needsConfirmation(offer.capability)
    const { inputSchema, wrapped } = toolInput(offer.capability.input, confirm)
    const tool: Tool = {
      name,
      title: offer.capability.title,
      description: describeTool(offer.capability, offer.peer, offer.local),
      inputSchema,
      annotations: annotationsFor(offer.capability),
    }
    tools.push(tool)
    byName.set(name, { ...offer, name, wrapped, confirm, tool })
  }
  const listed = new Map(
    [...byName.values()].map((t) => [offerKey({ id: t.capability.id, peer: t.peer }), t.name]),
  )
  return {
    key,
    tools,
    byName,
    offers,
    nameOf: (peer, id) => listed.get(offerKey({ id, peer })),
    omitted: all.length - tools.length,
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
