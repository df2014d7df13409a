/**
 * The names peers give themselves (`name:` in their config), so that people see "kitchen" and not
 * "…4gCnbsdn". A name is not part of the signed descriptor (DESIGN.md fixes its fields): each node puts it in
 * the agent version that libp2p's identify protocol sends over the authenticated connection, as
 * `kith/<version> name=<name>`. It is display only, claimed by the peer itself, and shown next to its id.
 */
import type { IdentifyResult } from '@libp2p/interface'
import type { KithLibp2p } from './host.ts'
import { BoundedMap } from '../util/bounded-map.ts'

/** the config schema's rule for `name` */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const AGENT = /^kith\/[^\s]{1,32} name=([^\s]{1,63})$/

/** peers whose names are kept, the least recently identified leaving first */
export const MAX_PEER_NAMES = 256

/**
 * The agent version this node sends in identify.
 *
 * @example
 * agentVersion('0.1.0', 'kitchen') // 'kith/0.1.0 name=kitchen'
 */
export function agentVersion(version: string, name?: string): string {
  return name != null && NAME.test(name) ? `kith/${version} name=${name}` : `kith/${version}`
}

/**
 * The name in a peer's agent version, when it is a kith agent version with a valid name.
 *
 * @example
 * nameFromAgent('kith/0.1.0 name=kitchen') // 'kitchen'
 * nameFromAgent('js-libp2p/3.0.0 UserAgent=node/24') // undefined
 */
export function nameFromAgent(agent: string | undefined): string | undefined {
  if (agent == null || agent.length > 128) return undefined
  const name = AGENT.exec(agent)?.[1]
  return name != null && NAME.test(name) ? name : undefined
}

/**
 * @example
 * const names = new PeerNames(host)
 * names.start()
 * names.get(peerId) // 'kitchen', once that peer identified itself
 */
export class PeerNames {
  readonly #host: KithLibp2p
  /** peer id → name; insertion order is recency */
  readonly #names: BoundedMap<string, string>
  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>) =>
    this.#learn(evt.detail.peerId.toString(), evt.detail.agentVersion)

  constructor(host: KithLibp2p, max = MAX_PEER_NAMES) {
    this.#host = host
    this.#names = new BoundedMap({ max, refresh: 'set' })
  }

  start(): void {
    this.#host.addEventListener('peer:identify', this.#onIdentify)
  }

  stop(): void {
    this.#host.removeEventListener('peer:identify', this.#onIdentify)
  }

  get(peer: string): string | undefined {
    return this.#names.get(peer)
  }

  #learn(peer: string, agent: string | undefined): void {
    const name = nameFromAgent(agent)
    this.#names.delete(peer)
    if (name === undefined) return
    this.#names.set(peer, name)
  }
}
