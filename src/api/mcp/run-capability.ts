/**
 * Running one capability for a tool call, the part that `call_capability` and every capability tool share:
 * check the input against the capability's schema, ask for confirmation when it is high risk, run it through
 * the backend within a deadline, and report who ran it.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Capability } from '../../discovery/descriptor.ts'
import { type SchemaCheck, SchemaCompiler } from '../../execution/io-schema.ts'
import { BackendError, type McpBackend } from './backend.ts'
import type { Confirmation } from './confirm.ts'
import { CALL_GUARD_MS } from './constants.ts'
import { errorResult, failureResult, taskResult } from './result.ts'
import { needsConfirmation } from './tool-shape.ts'

const MAX_CACHED_CHECKS = 1000

/**
 * Input checks compiled once per distinct schema. Schemas come from other peers' descriptors, so the cache
 * (and ajv's own, inside the compiler) is bounded: past the bound both start afresh.
 *
 * @example
 * new InputChecks().check({ type: 'object', required: ['x'] }, {}) // "input must have required property 'x'"
 */
export class InputChecks {
  #compiler = new SchemaCompiler()
  #cache = new Map<string, SchemaCheck | null>()

  /** Why `value` fails `schema` (naming the field), or undefined when it passes or the schema is unusable. */
  check(schema: Readonly<Record<string, unknown>>, value: unknown): string | undefined {
    const key = JSON.stringify(schema)
    let check = this.#cache.get(key)
    if (check === undefined) {
      if (this.#cache.size >= MAX_CACHED_CHECKS) {
        this.#cache.clear()
        this.#compiler = new SchemaCompiler()
      }
      try {
        check = this.#compiler.compile(schema, 'input') ?? null
      } catch {
        // not valid JSON Schema: the provider refuses what it cannot check, so let it decide
        check = null
      }
      this.#cache.set(key, check)
    }
    return check?.(value)
  }
}

/** Rejects with a `timeout` BackendError when `promise` has not settled after `ms`. */
export async function guard<T>(promise: Promise<T>, what: string, ms = CALL_GUARD_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BackendError('timeout', `${what} had no answer in ${ms / 1000} s`)),
      ms,
    )
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

export interface RunCapabilityRequest {
  id: string
  /** the capability as the chosen (or first) provider describes it; undefined when no live provider has it */
  capability: Capability | undefined
  /** all live offers of the id are high risk-checked: the riskiest decides */
  riskiest: Capability['risk'] | undefined
  provider?: string
  input: unknown
  tier?: 1 | 2 | 3 | 'auto'
  timeoutMs?: number
  confirmArgument: unknown
}

export interface RunContext {
  backend: McpBackend
  checks: InputChecks
  confirm(what: string, confirmArgument: unknown): Promise<Confirmation>
}

/**
 * @example
 * await runCapability(ctx, { id: 'double', capability, riskiest: 'low', input: { x: 2 }, confirmArgument: undefined })
 */
export async function runCapability(ctx: RunContext, req: RunCapabilityRequest): Promise<CallToolResult> {
  if (req.capability != null) {
    const problem = ctx.checks.check(req.capability.input, req.input)
    if (problem !== undefined)
      return errorResult(`Input validation error for ${req.id}: ${problem}. Nothing was run.`, {
        error: { code: 'bad_input', message: problem },
      })
  }
  if (req.riskiest != null && needsConfirmation({ risk: req.riskiest })) {
    const what = `${req.id}${req.provider != null ? ` on peer ${req.provider}` : ''}`
    const confirmation = await ctx.confirm(what, req.confirmArgument)
    if (!confirmation.ok)
      return errorResult(confirmation.message, {
        error: { code: 'not_confirmed', message: confirmation.message },
      })
  }
  try {
    const record = await guard(
      ctx.backend.runTask({
        capability: req.id,
        input: req.input ?? {},
        tier: req.tier ?? 'auto',
        ...(req.provider != null ? { provider: req.provider } : {}),
        ...(req.timeoutMs != null ? { timeoutMs: req.timeoutMs } : {}),
      }),
      `the task ${req.id}`,
    )
    if (!record.ok && record.status === 'no_provider' && req.provider != null)
      return errorResult(
        `Peer ${req.provider} no longer offers ${req.id} (it left the network or withdrew it); nothing was run. ` +
          'List the tools again, or use find_capabilities for another provider.',
        { error: { code: 'provider_gone', message: `${req.provider} no longer offers ${req.id}` } },
      )
    return taskResult(record, req.capability)
  } catch (err) {
    if (err instanceof BackendError) return failureResult(req.id, err)
    throw err
  }
}
