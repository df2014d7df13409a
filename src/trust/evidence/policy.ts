/**
 * The requester's side of the evidence policy from the config: which PCR values count as known-good
 * (`trust.tpm.policy`) and which capabilities demand hardware evidence (`trust.evidence.requireHardware`).
 */
import type { PcrValues } from './package.ts'

/**
 * Known-good PCR values: `{ "sha256:7": ["<hex>", …] }`. A PCR the policy names must be in the quote and hold
 * one of its values; PCRs it does not name may hold anything. An absent or empty policy accepts any values
 * (the quote must still verify).
 */
export type PcrPolicy = Readonly<Record<string, readonly string[]>>

export type PolicyCheck = { ok: true } | { ok: false; message: string }

/**
 * Checks quoted PCR values against a policy.
 *
 * @example
 * checkPcrPolicy(pkg.quote.pcrs, { 'sha256:7': ['476e…'] }) // { ok: true }
 */
export function checkPcrPolicy(pcrs: PcrValues, policy: PcrPolicy | undefined): PolicyCheck {
  if (policy == null) return { ok: true }
  for (const [key, allowed] of Object.entries(policy)) {
    const match = /^(sha1|sha256|sha384|sha512):(\d{1,2})$/.exec(key)
    if (match == null) return { ok: false, message: `policy key "${key}" is not of the form sha256:7` }
    const [, alg, index] = match
    if (alg !== pcrs.alg)
      return { ok: false, message: `policy names ${key}, the quote covers the ${pcrs.alg} bank` }
    const at = pcrs.selection.indexOf(Number(index))
    if (at < 0) return { ok: false, message: `policy names ${key}, which the quote does not cover` }
    const value = Buffer.from(pcrs.values[at] ?? []).toString('hex')
    if (!allowed.some((v) => v.toLowerCase() === value)) {
      return { ok: false, message: `${key} is ${value}, not a known-good value` }
    }
  }
  return { ok: true }
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`)
}

/**
 * True when a capability needs TPM evidence: a pattern (a glob, `*` any run of characters, `?` one character)
 * matches its id or one of its tags.
 *
 * @example
 * requiresHardware({ id: 'door.unlock', tags: ['lock'] }, ['door.*']) // true
 * requiresHardware({ id: 'hall.temperature', tags: ['sensor'] }, ['lock']) // false
 */
export function requiresHardware(
  capability: { id: string; tags?: readonly string[] },
  patterns: readonly string[],
): boolean {
  if (patterns.length === 0) return false
  const names = [capability.id, ...(capability.tags ?? [])]
  return patterns.some((p) => {
    const re = globToRegExp(p)
    return names.some((n) => re.test(n))
  })
}
