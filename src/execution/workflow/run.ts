/**
 * Runs a checked workflow as a DAG: a step starts as soon as every step it depends on has finished, so
 * independent steps run in parallel. A failed required step stops the run (steps already running may finish,
 * nothing new starts); the whole run has one deadline, and each step gets what is left of it at most.
 * Delegation is injected, so this module knows nothing of the network.
 */
import type { Tier } from '../../discovery/matcher/types.ts'
import type { Check, DelegateRequest, DelegateResult } from '../delegate.ts'
import { BadReferenceError } from './errors.ts'
import { type ReferenceScope, resolveValue } from './refs.ts'
import type { Workflow, WorkflowStep } from './schema.ts'

/** What the runner asks the delegate for: a delegation request plus the step it is for and its tier choice. */
export interface StepRequest extends DelegateRequest {
  step: string
  tier: Tier | 'auto'
}

/** Delegates one step; `tier` in the result is the tier the provider was verified at, when the delegate knows. */
export type StepDelegate = (request: StepRequest) => Promise<DelegateResult & { tier?: Tier }>

export interface RunWorkflowOptions {
  /** what `${input…}` references read; `{}` when omitted */
  input?: unknown
  delegate: StepDelegate
  /** aborts the whole run; running steps are reported as failed with code `aborted` */
  signal?: AbortSignal
  /** clock in ms for latencies and the deadline; `performance.now` when omitted */
  now?: () => number
}

export type StepStatus = 'ok' | 'failed' | 'skipped'

export interface StepResult {
  id: string
  status: StepStatus
  /** the peer whose answer was used */
  provider?: string
  local?: boolean
  tier?: Tier
  /** the trust plane's checks of the step's attempts (canary, replay, evidence) */
  checks?: Check[]
  ms: number
  fallbacks: number
  /** providers tried */
  attempts: number
  output?: unknown
  error?: { code: string; message: string }
}

export interface WorkflowResult {
  name: string
  /** every required step succeeded, the output resolved, and the deadline held */
  ok: boolean
  ms: number
  output?: unknown
  /** why the run failed: `step_failed`, `timeout`, `aborted` or `bad_reference` */
  error?: { code: string; message: string }
  /** in the order of the file */
  steps: StepResult[]
}

type Problem = { code: string; message: string }

/**
 * Runs `workflow`, delegating each step through `options.delegate`.
 *
 * @example
 * const result = await runWorkflow(parseWorkflow(text, 'evening.yaml'), { delegate: (req) => delegate(components, req) })
 * result.ok // workflow success
 * result.steps.map((s) => [s.id, s.provider, s.ms, s.fallbacks])
 */
export async function runWorkflow(workflow: Workflow, options: RunWorkflowOptions): Promise<WorkflowResult> {
  const now = options.now ?? (() => performance.now())
  const started = now()
  const deadline = started + workflow.timeoutMs
  const stop = new AbortController()
  const signal = options.signal != null ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  const timer = setTimeout(() => stop.abort(), workflow.timeoutMs)
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  const results = new Map<string, StepResult>()
  const scope: ReferenceScope = { input: options.input ?? {}, steps: results }
  const pending = new Set(workflow.steps.map((s) => s.id))
  const running = new Map<string, { since: number; done: Promise<void> }>()
  let stopped: Problem | undefined

  try {
    for (;;) {
      if (signal.aborted) stopped ??= abortProblem(workflow, stop.signal)
      for (const step of workflow.steps) {
        if (!pending.has(step.id)) continue
        if (stopped != null) {
          pending.delete(step.id)
          results.set(step.id, skipped(step, stopped, results))
          continue
        }
        if (!step.dependsOn.every((d) => results.has(d))) continue
        pending.delete(step.id)
        const since = now()
        // whole milliseconds: a step's deadline ends up in AbortSignal.timeout(), which takes integers only
        const remaining = Math.floor(deadline - since)
        if (remaining <= 0) {
          stopped = deadlineProblem(workflow)
          results.set(step.id, skipped(step, stopped, results))
          continue
        }
        const done = runStep(
          step,
          Math.min(step.timeoutMs, remaining),
          scope,
          signal,
          options.delegate,
          now,
        ).then((result) => {
          if (results.has(step.id)) return // reported as aborted already
          running.delete(step.id)
          results.set(step.id, result)
          if (result.status === 'failed' && !step.optional) stopped ??= stepFailed(result)
        })
        running.set(step.id, { since, done })
      }
      if (running.size === 0) break
      await Promise.race([...[...running.values()].map((r) => r.done), aborted])
      if (signal.aborted) {
        stopped ??= abortProblem(workflow, stop.signal)
        for (const [id, r] of running)
          results.set(id, {
            id,
            status: 'failed',
            ms: now() - r.since,
            fallbacks: 0,
            attempts: 0,
            error: stopped,
          })
        running.clear()
      }
    }
  } finally {
    clearTimeout(timer)
  }

  const steps = workflow.steps.map((s) => results.get(s.id) as StepResult)
  const failedRequired = steps.find((r, i) => r.status !== 'ok' && workflow.steps[i]?.optional !== true)
  let error = stopped ?? (failedRequired != null ? stepFailed(failedRequired) : undefined)
  let ok = error == null
  let output: unknown
  if (ok && workflow.output !== undefined) {
    try {
      output = resolveValue(workflow.output, scope)
    } catch (err) {
      ok = false
      error = toProblem(err)
    }
  }
  return {
    name: workflow.name,
    ok,
    ms: now() - started,
    ...(output !== undefined ? { output } : {}),
    ...(error != null ? { error } : {}),
    steps,
  }
}

/** Resolves a step's input and delegates it; never rejects. */
async function runStep(
  step: WorkflowStep,
  timeoutMs: number,
  scope: ReferenceScope,
  signal: AbortSignal,
  delegate: StepDelegate,
  now: () => number,
): Promise<StepResult> {
  const since = now()
  const base = { id: step.id, fallbacks: 0, attempts: 0 }
  let input: unknown
  try {
    input = resolveValue(step.input, scope)
  } catch (err) {
    return { ...base, status: 'failed', ms: now() - since, error: toProblem(err) }
  }
  try {
    const r = await delegate({
      step: step.id,
      target: step.target,
      input,
      timeoutMs,
      budget: step.budget,
      tier: step.tier,
      signal,
    })
    const tier = r.tier ?? (step.tier !== 'auto' ? step.tier : undefined)
    return {
      id: step.id,
      status: r.ok ? 'ok' : 'failed',
      ...(r.provider != null ? { provider: r.provider } : {}),
      ...(r.local != null ? { local: r.local } : {}),
      ...(tier != null ? { tier } : {}),
      ...(r.checks !== undefined && r.checks.length > 0 ? { checks: r.checks } : {}),
      ms: now() - since,
      fallbacks: r.fallbacks,
      attempts: r.attempts.length,
      ...(r.ok
        ? { output: r.output ?? null }
        : { error: r.error ?? { code: r.status, message: `delegation ended with status ${r.status}` } }),
    }
  } catch (err) {
    return { ...base, status: 'failed', ms: now() - since, error: toProblem(err) }
  }
}

function skipped(step: WorkflowStep, why: Problem, results: ReadonlyMap<string, StepResult>): StepResult {
  const failedDep = step.dependsOn.find((d) => {
    const status = results.get(d)?.status
    return status === 'failed' || status === 'skipped'
  })
  const message =
    failedDep != null ? `not run: it needs "${failedDep}", which did not succeed` : `not run: ${why.message}`
  return {
    id: step.id,
    status: 'skipped',
    ms: 0,
    fallbacks: 0,
    attempts: 0,
    error: { code: why.code, message },
  }
}

function deadlineProblem(workflow: Workflow): Problem {
  return { code: 'timeout', message: `the workflow's deadline of ${workflow.timeoutMs} ms passed` }
}

/** The deadline when the run's own timer fired, otherwise the caller's signal. */
function abortProblem(workflow: Workflow, deadline: AbortSignal): Problem {
  return deadline.aborted ? deadlineProblem(workflow) : { code: 'aborted', message: 'the run was aborted' }
}

function stepFailed(result: StepResult): Problem {
  const why = result.error != null ? `: ${result.error.message}` : ''
  return { code: 'step_failed', message: `step "${result.id}" failed${why}` }
}

function toProblem(err: unknown): Problem {
  if (err instanceof BadReferenceError) return { code: err.code, message: err.message }
  const e = err as { code?: unknown; name?: unknown; message?: unknown }
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'delegate_failed'
  return { code, message: typeof e.message === 'string' ? e.message : String(err) }
}
