/** The reputation service's vocabulary: its config, what it is built from, and what it reports. */
import type { KithLibp2p } from '../../connectivity/host.ts'
import type { Identity } from '../../connectivity/identity.ts'
import type { SignatureVerifier } from '../../discovery/descriptor.ts'
import type { Database } from '../../store/database.ts'
import type { WriteQueue } from '../../store/write-queue.ts'
import type { Events } from '../../util/event-bus.ts'
import type { Logger } from '../../util/logger.ts'
import type { TrustEvents } from '../events.ts'
import type { OpinionRejectReason } from './opinion.ts'
import type { OutcomeCount, OutcomeKind } from './records.ts'

/** `trust.reputation` in the config. */
export interface ReputationConfig {
  alpha: number
  /** ms */
  halfLife: number
  /** ms */
  recomputeInterval: number
  newcomer: number
  maxPeers: number
  /** ms */
  opinionInterval: number
}

export interface ReputationComponents {
  db: Database
  /** the database's write queue, shared with the other planes; absent: one of its own (a standalone book) */
  writes?: WriteQueue
  identity: Pick<Identity, 'peerId' | 'sign'>
  config: { trust: { pretrusted: readonly string[]; reputation?: Partial<ReputationConfig> } }
  logger: Logger
  /** the host whose gossipsub carries opinions; absent: no exchange (opinions can still be made and taken) */
  libp2p?: KithLibp2p
  verify?: SignatureVerifier
  /** peers whose opinions are taken (a live descriptor held); pre-trusted peers always are. Default: none */
  known?: (peer: string) => boolean
  /** the pre-trusted peers now (they change on a config reload); default `config.trust.pretrusted` */
  pretrusted?: () => readonly string[]
  now?: () => number
  /** where recorded outcomes and recomputes are published; default: nowhere */
  events?: Events<TrustEvents>
}

/** What `explain()` says about one peer on one topic. */
export interface TopicExplanation {
  topic: string
  /** decayed weight and raw count of each outcome kind this node observed */
  counts: Record<OutcomeKind, OutcomeCount> | undefined
  /** s_ij: weighted successes minus weighted failures, at least 0 */
  local: number
  /** EigenTrust's t_i (sums to 1 over the topic's peers), 0 when the peer is not in the topic's matrix */
  global: number
  trust: number
}

export interface ReputationCounters {
  recorded: Record<OutcomeKind, number>
  recomputes: number
  lastRecomputeMs: number
  /** times the peer id table was started anew (it had grown far beyond what opinions and records name) */
  idResets: number
  opinions: {
    held: number
    accepted: number
    rejected: Record<OpinionRejectReason, number>
    published: number
  }
}
