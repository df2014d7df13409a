/**
 * Checks what a caller asks of the sandbox before any engine is touched: limits within their ceilings,
 * grant names that can be installed, and an input that is JSON of an accepted size and depth.
 */
import { MAX_JSON_DEPTH, MAX_MEMORY_BYTES, MAX_STACK_BYTES, MAX_TIMEOUT_MS } from './constants.ts'
import { SandboxConfigError } from './errors.ts'
import type { HostFunction, SandboxFailure, SandboxLimits } from './types.ts'

const GRANT_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor'])
const MAX_GRANT_NAME = 128

/**
 * `base` overridden by `override`, each field checked: positive integers, the stack at most
 * `MAX_STACK_BYTES`, the memory at most `ceiling` (a job cannot ask for more than its sandbox's engines hold).
 *
 * @example
 * resolveLimits(SANDBOX_DEFAULTS, { timeoutMs: 50 }).timeoutMs // 50
 */
export function resolveLimits(
  base: Readonly<SandboxLimits>,
  override: Partial<SandboxLimits> | undefined,
  ceiling = MAX_MEMORY_BYTES,
): SandboxLimits {
  const limits: SandboxLimits = { ...base }
  for (const [key, value] of Object.entries(override ?? {}) as [keyof SandboxLimits, unknown][]) {
    if (!(key in base)) throw new SandboxConfigError(`unknown sandbox limit ${key}`)
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
      throw new SandboxConfigError(`sandbox limit ${key} must be a positive integer, not ${String(value)}`)
    limits[key] = value
  }
  if (limits.stackBytes > MAX_STACK_BYTES)
    throw new SandboxConfigError(
      `stackBytes is at most ${MAX_STACK_BYTES} (Node's own stack must not overflow)`,
    )
  if (limits.memoryBytes > ceiling)
    throw new SandboxConfigError(`memoryBytes ${limits.memoryBytes} is above this sandbox's ${ceiling}`)
  if (limits.timeoutMs > MAX_TIMEOUT_MS)
    throw new SandboxConfigError(`timeoutMs is at most ${MAX_TIMEOUT_MS}`)
  return limits
}

/**
 * The grants as a map, after checking their names: dotted identifiers, no `__proto__`/`prototype`/
 * `constructor` segment, no name inside another (`device` and `device.read`). Whether a name would replace a
 * built-in global is checked against the engine (`checkGrantRoots`).
 *
 * @example
 * grantMap({ 'device.read': read }).has('device.read') // true
 */
export function grantMap(
  grants: Readonly<Record<string, HostFunction>> | undefined,
): Map<string, HostFunction> {
  const map = new Map<string, HostFunction>()
  for (const [name, fn] of Object.entries(grants ?? {})) {
    if (name.length > MAX_GRANT_NAME || !GRANT_NAME.test(name))
      throw new SandboxConfigError(`grant name ${JSON.stringify(name)} is not a dotted identifier`)
    if (name.split('.').some((segment) => FORBIDDEN_SEGMENTS.has(segment)))
      throw new SandboxConfigError(`grant name ${name} uses a reserved segment`)
    if (typeof fn !== 'function') throw new SandboxConfigError(`grant ${name} is not a function`)
    map.set(name, fn)
  }
  for (const name of map.keys())
    for (const other of map.keys())
      if (other.startsWith(`${name}.`))
        throw new SandboxConfigError(`grant ${name} would hide grant ${other}`)
  return map
}

/**
 * Refuses grants whose first segment is a global of a fresh context (`JSON.parse`, `Math.x`, `console.log`).
 *
 * @example
 * checkGrantRoots(['device.read'], new Set(['JSON', 'Math'])) // passes
 */
export function checkGrantRoots(names: Iterable<string>, globals: ReadonlySet<string>): void {
  for (const name of names) {
    const root = name.split('.')[0]!
    if (globals.has(root)) throw new SandboxConfigError(`grant ${name} would replace the built-in ${root}`)
  }
}

/**
 * How deeply JSON text nests arrays and objects (0 for a scalar), counted without parsing it; the count
 * stops once it passes `max`, so the answer is at most `max + 1`.
 *
 * @example
 * jsonDepth('{"a":[1,"]"]}') // 2
 * jsonDepth('[[[[]]]]', 2) // 3
 */
export function jsonDepth(text: string, max = Number.POSITIVE_INFINITY): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // a backslash: the next unit is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > max) return deepest
      }
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return deepest
}

/**
 * The input as JSON text, or the failure that refuses it. `undefined` stands for `null`.
 *
 * @example
 * encodeInput({ celsius: 21 }, 1024) // { json: '{"celsius":21}' }
 * encodeInput('x'.repeat(2000), 1024) // { failure: { code: 'input_too_large', … } }
 */
export function encodeInput(
  input: unknown,
  maxBytes: number,
): { json: string } | { failure: SandboxFailure } {
  let json: string | undefined
  try {
    json = input === undefined ? 'null' : JSON.stringify(input)
  } catch (err) {
    return { failure: { code: 'bad_input', message: `the input is not JSON: ${(err as Error).message}` } }
  }
  if (json === undefined) return { failure: { code: 'bad_input', message: `the input is a ${typeof input}` } }
  if (json.length > maxBytes || Buffer.byteLength(json) > maxBytes)
    return { failure: { code: 'input_too_large', message: `the input is larger than ${maxBytes} bytes` } }
  if (jsonDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    return {
      failure: { code: 'bad_input', message: `the input is nested deeper than ${MAX_JSON_DEPTH} levels` },
    }
  return { json }
}
