/**
 * Contracts and cooperation rules (issue 4, "Contracts"): a request states its terms (deadline, the evidence it
 * wants, its input size) and the provider accepts or declines them under its own policy. This is what keeps a
 * household node from being drained by strangers: per-peer rate limits and concurrency, bounds on input and
 * deadline, an optional allow-list, and, while the node is loaded, `busy` first for peers that took more than
 * they gave. Household peers (pre-trusted in the config) are always allowed and always first in line.
 *
 * `denied` means "not under these terms, ask again differently or elsewhere"; `busy` means "not now".
 */
import type { ConfigFile } from '../config/schema.ts'
import { TokenBucket } from '../util/token-bucket.ts'

export type Evidence = 'none' | 'receipt' | 'tpm'

/** What a request asks of the provider. */
export interface ContractTerms {
  peer: string
  cap: string
  /** encoded size of the input */
  inputBytes: number
  /** how long the requester gives the task, ms */
  deadlineMs: number
  evidence: Evidence
}

export type DeclineReason =
  | 'invalid-terms'
  | 'not-allowed'
  | 'input-too-large'
  | 'deadline-too-short'
  | 'deadline-too-long'
  | 'evidence-unavailable'
  | 'rate-limited'
  | 'peer-concurrency'
  | 'free-rider'

export type ContractDecision =
  /** `priority` goes to the scheduler; `release()` must be called once the task is over (idempotent) */
  | { accept: true; priority: number; release: () => void }
  | { accept: false; status: 'busy' | 'denied'; reason: DeclineReason; message: string }

export interface ContractPolicyInit {
  /** default 256 KiB */
  maxInputBytes?: number
  /** shorter deadlines cannot be met; default 10 ms */
  minDeadlineMs?: number
  /** default 60 s */
  maxDeadlineMs?: number
  /** token bucket per peer: `ratePerSec` refill (default 10), `burst` size (default 20); tasks at once (default 4) */
  perPeer?: { ratePerSec?: number; burst?: number; maxConcurrent?: number }
  /** when set, only these peers (and the pre-trusted ones) may delegate to this node */
  allowPeers?: readonly string[]
  /** the household's own nodes */
  pretrusted?: readonly string[]
  /**
   * the evidence this node can produce; receipts by default, a TPM quote only where a TPM exists (a function:
   * asked on every request, since a TPM can fail while the node runs)
   */
  evidence?: { receipt?: boolean; tpm?: boolean | (() => boolean) }
  /** the reciprocity balance of a peer; default: 0 for everyone */
  balance?: (peer: string) => number
  /** whether the node is loaded now (e.g. the sampler's loadHigh band or a full scheduler) */
  loaded?: () => boolean
  /** peers whose rate state is kept; the least recently seen idle one is forgotten beyond it. Default 4096 */
  maxTrackedPeers?: number
  /** ms clock for the token buckets */
  now?: () => number
}

export const CONTRACT_DEFAULTS = Object.freeze({
  maxInputBytes: 256 * 1024,
  minDeadlineMs: 10,
  maxDeadlineMs: 60_000,
  ratePerSec: 10,
  burst: 20,
  maxConcurrent: 4,
  maxTrackedPeers: 4096,
})

/** The scheduler priority of a pre-trusted peer; everyone else gets its balance, clamped below this. */
export const PRETRUSTED_PRIORITY = 1000

interface PeerState {
  bucket: TokenBucket
  running: number
}

/**
 * Decides, request by request, whether this node takes a task on.
 *
 * @example
 * const policy = new ContractPolicy({ ...contractInitFromConfig(config), balance: (p) => ledger.balance(p) })
 * const d = policy.decide({ peer, cap: 'echo', inputBytes: 120, deadlineMs: 5000, evidence: 'receipt' })
 * if (!d.accept) return reply(d.status, d.message)
 * try { await scheduler.submit({ ...job, priority: d.priority }) } finally { d.release() }
 */
export class ContractPolicy {
  readonly #init: ContractPolicyInit
  #allow: ReadonlySet<string> | undefined
  #pretrusted: ReadonlySet<string>
  readonly #peers = new Map<string, PeerState>()

  constructor(init: ContractPolicyInit = {}) {
    this.#init = init
    this.#allow = init.allowPeers === undefined ? undefined : new Set(init.allowPeers)
    this.#pretrusted = new Set(init.pretrusted ?? [])
  }

  /**
   * Checks, in order: the terms are numbers, the allow-list, input size, deadline bounds, evidence (all
   * `denied`), then the peer's token bucket (a request that gets this far costs a token even if it is then
   * refused), the peer's tasks in flight, and free riding while loaded (all `busy`).
   */
  decide(terms: ContractTerms): ContractDecision {
    const i = this.#init
    const { inputBytes, deadlineMs } = terms
    if (!Number.isFinite(inputBytes) || inputBytes < 0 || !Number.isFinite(deadlineMs)) {
      return deny('invalid-terms', 'input size and deadline must be finite, non-negative numbers')
    }
    const trusted = this.#pretrusted.has(terms.peer)
    if (this.#allow !== undefined && !trusted && !this.#allow.has(terms.peer)) {
      return deny('not-allowed', 'this node serves only the peers on its allow-list')
    }
    const maxInput = i.maxInputBytes ?? CONTRACT_DEFAULTS.maxInputBytes
    if (inputBytes > maxInput)
      return deny('input-too-large', `input is ${inputBytes} bytes, at most ${maxInput}`)
    const minDeadline = i.minDeadlineMs ?? CONTRACT_DEFAULTS.minDeadlineMs
    if (deadlineMs < minDeadline) return deny('deadline-too-short', `deadline under ${minDeadline} ms`)
    const maxDeadline = i.maxDeadlineMs ?? CONTRACT_DEFAULTS.maxDeadlineMs
    if (deadlineMs > maxDeadline) return deny('deadline-too-long', `deadline over ${maxDeadline} ms`)
    if (!this.#canSupply(terms.evidence)) {
      return deny('evidence-unavailable', `this node cannot supply "${terms.evidence}" evidence`)
    }

    const state = this.#state(terms.peer)
    if (!state.bucket.take()) return busy('rate-limited', 'too many tasks from this peer; slow down')
    const maxConcurrent = i.perPeer?.maxConcurrent ?? CONTRACT_DEFAULTS.maxConcurrent
    if (state.running >= maxConcurrent) {
      return busy('peer-concurrency', `this peer already has ${state.running} tasks here`)
    }
    const balance = trusted ? 0 : this.#balance(terms.peer)
    if (!trusted && balance < 0 && this.#loaded()) {
      return busy('free-rider', 'the node is loaded and serves peers that served it first')
    }
    state.running++
    let released = false
    const release = () => {
      if (released) return
      released = true
      state.running--
    }
    const limit = PRETRUSTED_PRIORITY - 1
    const priority = trusted ? PRETRUSTED_PRIORITY : Math.max(-limit, Math.min(limit, Math.trunc(balance)))
    return { accept: true, priority, release }
  }

  /**
   * Changes who may delegate here and who is household (a config reload): `allowPeers` undefined lets every
   * peer ask. Tasks already accepted run on; the next request is decided under the new lists.
   *
   * @example
   * policy.updateAccess({ pretrusted: config.trust.pretrusted, allowPeers: config.execution.allowPeers })
   */
  updateAccess(access: { pretrusted: readonly string[]; allowPeers?: readonly string[] | undefined }): void {
    this.#allow = access.allowPeers === undefined ? undefined : new Set(access.allowPeers)
    this.#pretrusted = new Set(access.pretrusted)
  }

  /** Tasks accepted from `peer` and not released yet. */
  inFlight(peer: string): number {
    return this.#peers.get(peer)?.running ?? 0
  }

  #canSupply(evidence: Evidence): boolean {
    if (evidence === 'none') return true
    if (evidence === 'receipt') return this.#init.evidence?.receipt ?? true
    if (evidence === 'tpm') {
      const tpm = this.#init.evidence?.tpm ?? false
      return typeof tpm === 'function' ? tpm() : tpm
    }
    return false
  }

  #balance(peer: string): number {
    const b = this.#init.balance?.(peer) ?? 0
    return Number.isFinite(b) ? b : 0
  }

  #loaded(): boolean {
    return this.#init.loaded?.() ?? false
  }

  /** The peer's rate state, moved to the most recently seen end; forgets the stalest idle peer beyond the bound. */
  #state(peer: string): PeerState {
    let state = this.#peers.get(peer)
    if (state !== undefined) {
      this.#peers.delete(peer)
    } else {
      const bucket = new TokenBucket({
        ratePerSec: this.#init.perPeer?.ratePerSec ?? CONTRACT_DEFAULTS.ratePerSec,
        burst: this.#init.perPeer?.burst ?? CONTRACT_DEFAULTS.burst,
        now: this.#init.now ?? Date.now,
      })
      state = { bucket, running: 0 }
      if (this.#peers.size >= (this.#init.maxTrackedPeers ?? CONTRACT_DEFAULTS.maxTrackedPeers)) {
        for (const [key, s] of this.#peers) {
          if (s.running > 0) continue
          this.#peers.delete(key)
          break
        }
      }
    }
    this.#peers.set(peer, state)
    return state
  }
}

/**
 * The policy settings from a validated config (`execution:` and `trust.pretrusted`); hooks are added by the caller.
 *
 * @example
 * new ContractPolicy({ ...contractInitFromConfig(config), loaded: () => sampler.bands().loadHigh })
 */
export function contractInitFromConfig(config: Pick<ConfigFile, 'execution' | 'trust'>): ContractPolicyInit {
  const e = config.execution
  return {
    maxInputBytes: e.maxInputBytes,
    maxDeadlineMs: e.maxTaskTimeout,
    perPeer: { ...e.perPeer },
    ...(e.allowPeers === undefined ? {} : { allowPeers: e.allowPeers }),
    pretrusted: config.trust.pretrusted,
  }
}

function deny(reason: DeclineReason, message: string): ContractDecision {
  return { accept: false, status: 'denied', reason, message }
}

function busy(reason: DeclineReason, message: string): ContractDecision {
  return { accept: false, status: 'busy', reason, message }
}
