/**
 * The requester side of delegation: find candidates (by capability id or by intent), try the best, and on
 * `busy`, `error`, `denied`, a timeout or a lost connection fall back to the next, up to a retry budget.
 * The result says who ran it, what every attempt returned, and how many fallbacks it took. When the best
 * candidate is this node, the task runs locally without touching the network.
 */
import type { Capability } from '../discovery/descriptor.ts'
import type { CapabilityIndex, Intent, Match } from '../discovery/matcher/index.ts'
import type { Candidate } from './providers.ts'
import type { TaskClient } from './task-client.ts'
import { RequestTimeoutError } from './task-errors.ts'
import type { TaskReply, TaskStatus } from './task-wire.ts'

export type { Candidate } from './providers.ts'

export interface Attempt {
  peer: string
  local: boolean
  /** `rejected`: the provider answered, but a check (canary, replay, evidence) failed */
  status: TaskStatus | 'unreachable' | 'rejected'
  error?: { code: string; message: string }
  ms: number
}

/** One check of the trust plane on an attempt, as the task result shows it. */
export interface Check {
  /** `canary`, `replay` or `evidence` */
  name: string
  result: 'pass' | 'fail' | 'skipped'
  peer: string
  reason?: string
  /** how a failed check is recorded against the provider when not as its name says (a receipt dated ahead of
   * our clock: an `error`, since a clock that jumped is no lie) */
  outcome?: TaskOutcomeKind
}

/** A verification tier (DESIGN.md, "Tiers"), or `auto` to follow the risk policy. */
export type TierRequest = 1 | 2 | 3 | 'auto'

export interface VerifyArgs {
  taskId: string
  peer: string
  capability: Capability
  input: unknown
  reply: Omit<TaskReply, 't' | 'id'>
  plan: { tier: 1 | 2 | 3; challenge: boolean; evidence: boolean }
  /** a canary went out before the task and passed */
  challenged: boolean
  timeoutMs: number
}

/**
 * The trust plane's checks, injected (data flows one way: delegation does not know the trust plane).
 * Without it every task is Tier 1: ranking by reputation, no checks.
 */
export interface Verification {
  /** the checks a task on `capability` gets at `peer` (the provider's standing may raise them) */
  plan(capability: Capability, requested: TierRequest, peer?: string): VerifyArgs['plan']
  /** true for a provider this node caught failing on the capability's topic: tried after the others */
  suspect?(peer: string, capability: Capability): boolean
  /** a challenge with a known answer for a Tier 2 task, sent to the provider first; undefined: none */
  challenge(capability: Capability): { input: unknown; check(output: unknown): boolean } | undefined
  /** the evidence to ask `peer` for in a Tier 3 task */
  evidenceFor(peer: string): 'receipt' | 'tpm'
  /** checks an answer from another peer */
  verify(args: VerifyArgs): Promise<Check[]>
  /** told an answer this node computed itself */
  learn(capability: Capability, input: unknown, output: unknown): void
}

export interface DelegateResult {
  ok: boolean
  status: TaskStatus | 'unreachable' | 'rejected' | 'no_provider'
  output?: unknown
  error?: { code: string; message: string }
  /** the peer whose answer is returned */
  provider?: string
  capability?: string
  local?: boolean
  attempts: Attempt[]
  fallbacks: number
  /** the tier the answer was checked at (of its capability; 1 without a trust plane) */
  tier: 1 | 2 | 3
  /** every check run, on every attempt, in order */
  checks: Check[]
}

export interface DelegateRequest {
  /** a capability id, or an intent to match */
  target: { capability: string } | { intent: Intent }
  input: unknown
  timeoutMs: number
  /**
   * most candidates tried; 3 by default. One that answers its canary wrongly does not count (up to 8 ×
   * budget candidates are asked in all).
   */
  budget?: number
  evidence?: 'none' | 'receipt' | 'tpm'
  /** verification tier; `auto` (the default) follows the trust policy */
  tier?: TierRequest
  signal?: AbortSignal
  /** only this peer may run it (a tool bound to one provider); others are not tried */
  provider?: string
}

/**
 * What the requester learned about a provider from one attempt. Delegation reports `success`, `error` and
 * `timeout` (an unreachable provider counts as one); verification reports the rest.
 */
export type TaskOutcomeKind =
  'success' | 'error' | 'timeout' | 'wrong_answer' | 'canary_failure' | 'invalid_evidence'

export interface TaskOutcome {
  peer: string
  capability: Capability
  kind: TaskOutcomeKind
}

export interface DelegateComponents {
  /** live providers of a capability id, best first (a {@link ProviderIndex}) */
  providers: { of(id: string): Candidate[] }
  index: CapabilityIndex
  client: TaskClient
  /** runs a capability of this node; resolves with the reply a remote provider would send */
  runLocal(
    cap: string,
    input: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Omit<TaskReply, 't' | 'id'>>
  /** told what each attempt on another peer showed (not `busy` or `denied`: those are the rules, not faults) */
  recordOutcome?(outcome: TaskOutcome): void
  verification?: Verification
  /**
   * a fresh task id (journalled by the caller's journal as it sees fit); required because Tier 3's checks
   * (evidence, replay) are keyed by the id the provider was sent, so without one they could not run
   */
  newId(): string
  /** the clock the request's deadline is kept by (ms); Date.now by default, virtual time in the simulator */
  now?(): number
  /** uniform in [0, 1): the order unproven candidates are tried in once one lied; Math.random by default */
  random?(): number
}

const TIER_1 = { tier: 1, challenge: false, evidence: false } as const
/** candidates asked per unit of budget, so that suspects and liars do not use the budget up */
const SUSPECT_HEADROOM = 8
/**
 * matches taken from the index per candidate asked: once a candidate lies, the unproven ones are tried in a
 * random order drawn from this wider pool, since their ranking rests on what they say of themselves
 */
const POOL_FACTOR = 4

/** What a failed check says about the provider. */
const FAILED_CHECK: Record<string, TaskOutcomeKind> = {
  canary: 'canary_failure',
  replay: 'wrong_answer',
  evidence: 'invalid_evidence',
}

const OUTCOME_OF: Partial<Record<Attempt['status'], TaskOutcomeKind>> = {
  ok: 'success',
  error: 'error',
  timeout: 'timeout',
  unreachable: 'timeout',
}

/**
 * Runs one task somewhere in the network, with fallback.
 *
 * @example
 * const result = await delegate(components, { target: { capability: 'echo' }, input: { x: 1 }, timeoutMs: 5000 })
 * result.provider // the peer that answered
 */
export async function delegate(c: DelegateComponents, request: DelegateRequest): Promise<DelegateResult> {
  const budget = request.budget ?? 3
  const now = c.now ?? Date.now
  const v = c.verification
  const found: Candidate[] =
    'capability' in request.target
      ? c.providers.of(request.target.capability)
      : c.index
          // more than the budget: the suspects among the best matches make room for the next ones
          .query(request.target.intent, { limit: budget * SUSPECT_HEADROOM * POOL_FACTOR })
          .map((m: Match) => ({ peer: m.peer, capability: m.capability, local: m.local }))
  const allowed = request.provider == null ? found : found.filter((c) => c.peer === request.provider)
  const suspect = v?.suspect?.bind(v)
  const candidates = suspect === undefined ? [...allowed] : suspectsLast(allowed, suspect)
  const attempts: Attempt[] = []
  const checks: Check[] = []
  const deadline = now() + request.timeoutMs
  let tier: 1 | 2 | 3 = 1
  // a provider that answered its canary wrongly is skipped without using the budget up: a lie costs the
  // liar, not the requester; the candidates asked stay bounded by the headroom and the deadline
  let used = 0
  let shuffled = false
  for (let i = 0; i < candidates.length && i < budget * SUSPECT_HEADROOM; i++) {
    const candidate = candidates[i]!
    if (used >= budget) break
    const remaining = deadline - now()
    if (remaining <= 0 || request.signal?.aborted === true) break
    used++
    const plan = v?.plan(candidate.capability, request.tier ?? 'auto', candidate.peer) ?? TIER_1
    tier = plan.tier
    const started = performance.now()
    const reject = (check: Check, ms = performance.now() - started) => {
      checks.push(check)
      attempts.push({
        peer: candidate.peer,
        local: false,
        status: 'rejected',
        error: { code: `${check.name}_failed`, message: check.reason ?? `the ${check.name} check failed` },
        ms,
      })
      const kind = check.outcome ?? FAILED_CHECK[check.name]
      if (kind !== undefined)
        c.recordOutcome?.({ peer: candidate.peer, capability: candidate.capability, kind })
    }
    const remote = !candidate.local
    const evidence =
      plan.evidence && v !== undefined ? v.evidenceFor(candidate.peer) : (request.evidence ?? 'none')
    const call = (input: unknown, timeoutMs: number, id?: string) =>
      c.client.call(candidate.peer, {
        cap: candidate.capability.id,
        input,
        timeoutMs,
        evidence,
        ...(id !== undefined ? { id } : {}),
        ...(request.signal != null ? { signal: request.signal } : {}),
      })

    // Tier 2: a challenge with a known answer first, sent exactly like a task
    const challenge = remote && plan.challenge ? v?.challenge(candidate.capability) : undefined
    if (challenge !== undefined) {
      let passed = false
      let why = 'wrong answer'
      try {
        const answer = await call(challenge.input, Math.max(1, Math.floor((deadline - now()) / 2)))
        // busy or denied are the provider's rules, not a fault: no penalty, on to the next candidate
        if (answer.status === 'busy' || answer.status === 'denied') {
          attempts.push({
            peer: candidate.peer,
            local: false,
            status: answer.status,
            ...(answer.error != null ? { error: answer.error } : {}),
            ms: performance.now() - started,
          })
          continue
        }
        passed = answer.status === 'ok' && challenge.check(answer.output)
        if (answer.status !== 'ok') why = `answered ${answer.status}`
      } catch (err) {
        why = err instanceof RequestTimeoutError ? 'late' : `unreachable: ${(err as Error).message}`
      }
      if (!passed) {
        reject({ name: 'canary', result: 'fail', peer: candidate.peer, reason: why })
        if (why === 'wrong answer') {
          used--
          // a liar ranked this high: the self-reported state that ranks the unproven is being gamed
          if (!shuffled && v !== undefined) {
            shuffled = true
            const unproven = (c: Candidate) =>
              !c.local &&
              suspect?.(c.peer, c.capability) !== true &&
              v.plan(c.capability, request.tier ?? 'auto', c.peer).challenge
            candidates.splice(
              i + 1,
              Infinity,
              ...unprovenShuffled(candidates.slice(i + 1), unproven, c.random),
            )
          }
        }
        continue
      }
      checks.push({ name: 'canary', result: 'pass', peer: candidate.peer })
    }

    const taskId = c.newId()
    let reply: Omit<TaskReply, 't' | 'id'>
    try {
      const left = Math.max(1, deadline - now())
      reply = candidate.local
        ? await c.runLocal(candidate.capability.id, request.input, left, request.signal)
        : await call(request.input, left, taskId)
    } catch (err) {
      const status = err instanceof RequestTimeoutError ? 'timeout' : 'unreachable'
      attempts.push({
        peer: candidate.peer,
        local: candidate.local,
        status,
        // the class name, as attempts have always reported it (RequestTimeoutError, a libp2p dial error)
        error: { code: (err as Error).name, message: (err as Error).message },
        ms: performance.now() - started,
      })
      report(c, candidate, status)
      continue
    }
    if (reply.status === 'ok' && remote && v !== undefined) {
      const found = await v.verify({
        taskId,
        peer: candidate.peer,
        capability: candidate.capability,
        input: request.input,
        reply,
        plan,
        challenged: challenge !== undefined,
        timeoutMs: Math.max(1, deadline - now()),
      })
      const failed = found.find((check) => check.result === 'fail')
      if (failed !== undefined) {
        checks.push(...found.filter((check) => check !== failed))
        reject(failed)
        continue
      }
      checks.push(...found)
    }
    if (reply.status === 'ok' && candidate.local) v?.learn(candidate.capability, request.input, reply.output)
    attempts.push({
      peer: candidate.peer,
      local: candidate.local,
      status: reply.status,
      ...(reply.error != null ? { error: reply.error } : {}),
      ms: performance.now() - started,
    })
    report(c, candidate, reply.status)
    if (reply.status === 'ok') {
      return {
        ok: true,
        status: 'ok',
        output: reply.output,
        provider: candidate.peer,
        capability: candidate.capability.id,
        local: candidate.local,
        attempts,
        fallbacks: attempts.length - 1,
        tier,
        checks,
      }
    }
  }
  const last = attempts.at(-1)
  return {
    ok: false,
    status: last?.status ?? 'no_provider',
    error: last?.error ?? { code: 'no_provider', message: 'no live provider offers this' },
    attempts,
    fallbacks: Math.max(0, attempts.length - 1),
    tier,
    checks,
  }
}

/** The candidates in their order, except that those this node caught failing come after all the others. */
function suspectsLast(
  candidates: Candidate[],
  suspect: (peer: string, capability: Capability) => boolean,
): Candidate[] {
  const trusted: Candidate[] = []
  const suspects: Candidate[] = []
  for (const c of candidates) (!c.local && suspect(c.peer, c.capability) ? suspects : trusted).push(c)
  return [...trusted, ...suspects]
}

/**
 * The candidates in their order, except that the unproven ones (neither trusted past a challenge nor
 * suspects) trade places among themselves at random (Fisher–Yates): the others keep their slots.
 */
function unprovenShuffled(
  rest: Candidate[],
  unproven: (c: Candidate) => boolean,
  random: () => number = Math.random,
): Candidate[] {
  const slots = rest.flatMap((c, k) => (unproven(c) ? [k] : []))
  const open = slots.map((k) => rest[k]!)
  for (let k = open.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1))
    ;[open[k], open[j]] = [open[j]!, open[k]!]
  }
  const out = [...rest]
  slots.forEach((slot, k) => (out[slot] = open[k]!))
  return out
}

function report(c: DelegateComponents, candidate: Candidate, status: Attempt['status']): void {
  const kind = OUTCOME_OF[status]
  if (kind === undefined || candidate.local || c.recordOutcome === undefined) return
  c.recordOutcome({ peer: candidate.peer, capability: candidate.capability, kind })
}
