/**
 * `GET /v1/trust`: what this node makes of the network's peers, per reputation topic, and why: the outcomes
 * it observed itself, the local and global (EigenTrust) values, and whether a peer was caught lying. Also the
 * trust each live capability's provider has on that capability's topic, as the matcher ranks it.
 */
import type { TopicExplanation } from '../trust/reputation/index.ts'
import type { Route } from './http.ts'

export interface PeerTrust {
  peer: string
  /** this node or the household caught it lying: it is tried last */
  caught: boolean
  topics: TopicExplanation[]
}

export interface CapabilityTrust {
  peer: string
  capability: string
  topic: string
  trust: number
  caught: boolean
}

export interface TrustView {
  self: string
  peers(): PeerTrust[]
  capabilities(): CapabilityTrust[]
}

export function trustRoute(view: TrustView): Route {
  return {
    method: 'GET',
    path: '/v1/trust',
    doc: {
      summary: 'Trust per peer and topic with the observed outcomes behind it, and per live capability',
      description:
        'Answers `{now, self, peers: [{peer, caught, topics: [{topic, counts, local, global, trust}]}], ' +
        'capabilities: [{peer, capability, topic, trust, caught}]}`.',
    },
    handle: () => ({
      now: Date.now(),
      self: view.self,
      peers: view.peers(),
      capabilities: view.capabilities(),
    }),
  }
}
