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
import type { TaskReply, TaskStatus } from './task-wire.ts'

export type { Candidate } from './providers.ts'

export interface Attempt {
  peer: string
  local: boolean
  status: TaskStatus | 'unreachable'
  error?: { code: string; message: string }
  ms: number
}

export interface DelegateResult {
  ok: boolean
  status: TaskStatus | 'unreachable' | 'no_provider'
  output?: unknown
  error?: { code: string; message: string }
  /** the peer whose answer is returned */
  provider?: string
  capability?: string
  local?: boolean
  attempts: Attempt[]
  fallbacks: number
}

export interface DelegateRequest {
  /** a capability id, or an intent to match */
  target: { capability: string } | { intent: Intent }
  input: unknown
  timeoutMs: number
  /** most candidates tried; 3 by default */
  budget?: number
  evidence?: 'none' | 'receipt' | 'tpm'
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
  const found: Candidate[] =
    'capability' in request.target
      ? c.providers.of(request.target.capability)
      : c.index
          .query(request.target.intent, { limit: budget })
          .map((m: Match) => ({ peer: m.peer, capability: m.capability, local: m.local }))
  const candidates = request.provider == null ? found : found.filter((c) => c.peer === request.provider)
  const attempts: Attempt[] = []
  const deadline = Date.now() + request.timeoutMs
  for (const candidate of candidates.slice(0, budget)) {
    const remaining = deadline - Date.now()
    if (remaining <= 0 || request.signal?.aborted === true) break
    const started = performance.now()
    let reply: Omit<TaskReply, 't' | 'id'>
    try {
      reply = candidate.local
        ? await c.runLocal(candidate.capability.id, request.input, remaining, request.signal)
        : await c.client.call(candidate.peer, {
            cap: candidate.capability.id,
            input: request.input,
            timeoutMs: remaining,
            evidence: request.evidence ?? 'none',
            ...(request.signal != null ? { signal: request.signal } : {}),
          })
    } catch (err) {
      const name = (err as Error).name
      const status = name === 'RequestTimeoutError' ? 'timeout' : 'unreachable'
      attempts.push({
        peer: candidate.peer,
        local: candidate.local,
        status,
        error: { code: name, message: (err as Error).message },
        ms: performance.now() - started,
      })
      report(c, candidate, status)
      continue
    }
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
  }
}

function report(c: DelegateComponents, candidate: Candidate, status: Attempt['status']): void {
  const kind = OUTCOME_OF[status]
  if (kind === undefined || candidate.local || c.recordOutcome === undefined) return
  c.recordOutcome({ peer: candidate.peer, capability: candidate.capability, kind })
}
