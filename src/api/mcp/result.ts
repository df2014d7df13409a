/**
 * Tool results. Every task result says which peer ran it, at which tier, what verification concluded, and
 * how many providers were tried, both in the text a model reads and in `structuredContent`.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Capability } from '../../discovery/descriptor.ts'
import type { TaskRecord } from '../tasks.ts'
import { isKithError, toApiError } from '../../util/errors.ts'
import { MAX_RESULT_TEXT } from './constants.ts'
import { tierForRisk } from './tool-shape.ts'

/**
 * A tool error the model can read and act on (MCP: tool execution errors are results, not protocol errors).
 *
 * @example
 * errorResult('No task t1 is known to this node.') // { content: [{ type: 'text', text: '…' }], isError: true }
 */
export function errorResult(message: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: message }],
    ...(structured != null ? { structuredContent: structured } : {}),
    isError: true,
  }
}

/**
 * A failure as a tool error: its code in the text and, as the API's error body, in `structuredContent`; an
 * error that is not kith's own keeps its message in the text and is `internal` in the structure.
 *
 * @example
 * failureResult('lamp.on', new BackendError('not_found', 'no provider'))
 * // text 'lamp.on: not_found: no provider', structuredContent { error: { code: 'not_found', message: 'no provider' } }
 */
export function failureResult(prefix: string, err: unknown): CallToolResult {
  if (isKithError(err)) return errorResult(`${prefix}: ${err.code}: ${err.message}`, toApiError(err).body)
  return errorResult(`${prefix} failed: ${(err as Error)?.message ?? String(err)}`, toApiError(err).body)
}

export function jsonResult(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured }
}

/**
 * JSON for the text part, cut at {@link MAX_RESULT_TEXT} characters.
 *
 * @example
 * preview({ value: 42 }) // '{"value":42}'
 */
export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null'
  return text.length > MAX_RESULT_TEXT
    ? `${text.slice(0, MAX_RESULT_TEXT)}… (${text.length} characters; the structured content has all)`
    : text
}

/**
 * The tier a task ran at: the one asked for, or for `auto` the one the capability's risk gives; `undefined`
 * when neither is known.
 */
export function effectiveTier(record: TaskRecord, capability?: Capability): 1 | 2 | 3 | undefined {
  const verified = record.verification?.tier
  if (verified === 1 || verified === 2 || verified === 3) return verified
  if (record.tier === 1 || record.tier === 2 || record.tier === 3) return record.tier
  return capability != null ? tierForRisk(capability.risk) : undefined
}

/**
 * @example
 * taskResult(await backend.runTask({ capability: 'double', input: { x: 2 } }), capability).structuredContent
 * // { task, ok: true, capability: 'double', provider: '12D3…', local: true, tier: 1, verification: {…}, output: … }
 */
export function taskResult(record: TaskRecord, capability?: Capability): CallToolResult {
  const tier = effectiveTier(record, capability)
  const checks = record.checks ?? []
  const passed = checks.filter((c) => c.result === 'pass' && c.peer === record.provider).map((c) => c.name)
  const outcome =
    typeof record.verification?.outcome === 'string'
      ? record.verification.outcome
      : !record.ok
        ? 'failed'
        : passed.length > 0
          ? `verified (${passed.join(', ')} passed)`
          : checks.some((c) => c.result === 'skipped')
            ? 'accepted unchecked (no canary, replay or evidence possible)'
            : 'accepted'
  const verification = {
    ...record.verification,
    tier: tier ?? null,
    requested: record.requestedTier ?? record.tier ?? 'auto',
    outcome,
    checks,
  }
  const structured: Record<string, unknown> = {
    task: record.id,
    ok: record.ok,
    status: record.status,
    capability: record.capability ?? capability?.id ?? null,
    provider: record.provider ?? null,
    local: record.local ?? false,
    tier: tier ?? null,
    verification,
    attempts: record.attempts,
    fallbacks: record.fallbacks,
    ...(record.ok ? { output: record.output ?? null } : { error: record.error ?? null }),
  }
  const who =
    record.provider != null
      ? `peer ${record.provider}${record.local === true ? ' (this node)' : ''}`
      : 'no peer'
  const tried = `${record.attempts.length} attempt${record.attempts.length === 1 ? '' : 's'}, ${record.fallbacks} fallback${record.fallbacks === 1 ? '' : 's'}`
  const head = [
    `${structured.capability ?? 'task'} ${record.ok ? 'ran on' : 'failed;'} ${who}`,
    `tier ${tier ?? 'unknown'}${(record.requestedTier ?? record.tier) === 'auto' || (record.requestedTier ?? record.tier) == null ? ' (auto, from the risk)' : ''}`,
    `verification: ${outcome}`,
    tried,
    `task ${record.id}`,
  ].join(' · ')
  if (record.ok) return jsonResult(`${head}\noutput: ${preview(record.output ?? null)}`, structured)
  const failures = record.attempts
    .filter((a) => a.error != null)
    .map((a) => `- ${a.peer}: ${a.status}: ${a.error?.message}`)
  return errorResult(
    [
      `${head}`,
      `error: ${record.error?.code ?? record.status}: ${record.error?.message ?? ''}`,
      ...failures,
    ].join('\n'),
    structured,
  )
}

interface StepJson {
  id: string
  status: string
  provider?: string
  local?: boolean
  tier?: number
  fallbacks?: number
  attempts?: number
  error?: { code: string; message: string }
}

/**
 * A workflow's result: per step, who ran it and at which tier.
 *
 * @example
 * workflowResult({ name: 'w', ok: true, ms: 12, steps: [{ id: 'a', status: 'ok', provider: '12D3…' }], output: 8 })
 */
export function workflowResult(result: Record<string, unknown>): CallToolResult {
  const steps = (Array.isArray(result.steps) ? result.steps : []) as StepJson[]
  const lines = [
    `workflow ${String(result.name)}: ${result.ok === true ? 'ok' : 'failed'} in ${Math.round(Number(result.ms) || 0)} ms`,
    ...steps.map(
      (s) =>
        `- ${s.id}: ${s.status}` +
        (s.provider != null ? ` on peer ${s.provider}${s.local === true ? ' (this node)' : ''}` : '') +
        (s.tier != null ? `, tier ${s.tier}` : '') +
        (s.fallbacks ? `, ${s.fallbacks} fallbacks` : '') +
        (s.error != null ? `: ${s.error.code}: ${s.error.message}` : ''),
    ),
  ]
  if (result.ok === true) lines.push(`output: ${preview(result.output ?? null)}`)
  else if (result.error != null) {
    const e = result.error as { code?: string; message?: string }
    lines.push(`error: ${e.code}: ${e.message}`)
  }
  const text = lines.join('\n')
  return result.ok === true ? jsonResult(text, result) : errorResult(text, result)
}
