import { describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import { answerHash, CanaryBook } from '../../src/trust/canary.ts'
import { TierPolicy } from '../../src/trust/policy.ts'
import { createVerification } from '../../src/trust/verification.ts'

const cap = (risk: 'low' | 'medium' | 'high', id = 'math.double', tags: string[] = []) => ({ id, tags, risk })
const policyOf = (trust: unknown = {}) => new TierPolicy(configSchema.parse({ trust }).trust.policy)

describe('TierPolicy', () => {
  it('maps risk to tier: low 1, medium 2, high 3', () => {
    const policy = policyOf()
    expect(policy.tierFor(cap('low'))).toBe(1)
    expect(policy.tierFor(cap('medium'))).toBe(2)
    expect(policy.tierFor(cap('high'))).toBe(3)
  })

  it('lets the config override per capability id or tag glob, the first match winning', () => {
    const policy = policyOf({ policy: { capabilities: { 'math.*': 3, sensor: 1 } } })
    expect(policy.tierFor(cap('low'))).toBe(3)
    expect(policy.tierFor(cap('medium', 'device.hall.temp', ['sensor']))).toBe(1)
  })

  it('lets a request ask for any tier, but never below 3 for a high-risk capability', () => {
    const policy = policyOf()
    expect(policy.tierFor(cap('medium'), 1)).toBe(1)
    expect(policy.tierFor(cap('low'), 3)).toBe(3)
    expect(policy.tierFor(cap('high', 'device.door.unlock'), 1)).toBe(3)
    expect(
      policyOf({ policy: { capabilities: { 'device.*': 1 } } }).tierFor(cap('high', 'device.door.unlock')),
    ).toBe(3)
  })

  it('plans cumulative checks: challenges from Tier 2, evidence at Tier 3', () => {
    const policy = policyOf()
    expect(policy.plan(1)).toEqual({ tier: 1, challenge: false, evidence: false })
    expect(policy.plan(2)).toEqual({ tier: 2, challenge: true, evidence: false })
    expect(policy.plan(3)).toEqual({ tier: 3, challenge: true, evidence: true })
  })
})

describe('CanaryBook', () => {
  it('picks configured challenges and checks answers by canonical value, whatever the key order', () => {
    const book = new CanaryBook({
      configured: [{ capability: 'c', input: { x: 1 }, output: { a: 1, b: 2 } }],
      learn: 4,
      rate: 1,
    })
    const challenge = book.pick('c')!
    expect(challenge.input).toEqual({ x: 1 })
    expect(book.check(challenge, { b: 2, a: 1 })).toBe(true)
    expect(book.check(challenge, { a: 1, b: 3 })).toBe(false)
    expect(book.counters).toMatchObject({ picked: 1, passed: 1, failed: 1 })
    expect(book.pick('other')).toBeUndefined()
  })

  it('learns verified answers up to its bound, oldest first out, and skips tasks by rate', () => {
    const book = new CanaryBook({ configured: [], learn: 2, rate: 1, random: () => 0 })
    for (let x = 0; x < 5; x++) book.learn('c', { x }, x * 2)
    expect(book.has('c')).toBe(true)
    expect(book.pick('c')).toEqual({ input: { x: 3 }, answer: answerHash(6) })
    const never = new CanaryBook({
      configured: [{ capability: 'c', input: 1, output: 2 }],
      learn: 0,
      rate: 0,
    })
    expect(never.pick('c')).toBeUndefined()
    never.learn('d', 1, 2)
    expect(never.has('d')).toBe(false)
  })

  it('does not keep answers too large to be worth sending again', () => {
    const book = new CanaryBook({ configured: [], learn: 4, rate: 1 })
    book.learn('c', { blob: 'x'.repeat(64 * 1024) }, 1)
    expect(book.has('c')).toBe(false)
  })
})

describe('createVerification', () => {
  it('follows a config reload: the next task gets the new policy and canaries', () => {
    let trust = configSchema.parse({}).trust
    const verification = createVerification({ trust: () => trust, descriptorOf: () => undefined })
    const capability = {
      id: 'math.double',
      title: 'double',
      description: '',
      tags: [],
      kind: 'script' as const,
      risk: 'low' as const,
      input: {},
      output: {},
    }
    expect(verification.plan(capability, 'auto').tier).toBe(1)
    expect(verification.challenge(capability)).toBeUndefined()
    trust = configSchema.parse({
      trust: {
        policy: { capabilities: { 'math.*': 2 } },
        canaries: [{ capability: 'math.double', input: { x: 2 }, output: { value: 4 } }],
      },
    }).trust
    expect(verification.plan(capability, 'auto').tier).toBe(2)
    const challenge = verification.challenge(capability)!
    expect(challenge.input).toEqual({ x: 2 })
    expect(challenge.check({ value: 4 })).toBe(true)
  })

  it('checks a Tier 1 task as at Tier 2 when the provider is trusted below minTrust and a canary exists', () => {
    const trust = configSchema.parse({
      trust: { canaries: [{ capability: 'text.sum', input: { x: 1 }, output: { y: 1 } }] },
    }).trust
    const standing = new Map([
      ['trusted', { trust: 0.8, caught: false }],
      ['newcomer', { trust: 0.05, caught: false }],
      ['liar', { trust: 0.01, caught: true }],
    ])
    const verification = createVerification({
      trust: () => trust,
      descriptorOf: () => undefined,
      standing: (peer) => standing.get(peer)!,
    })
    const low = { ...capOf('text.sum'), risk: 'low' as const }
    expect(verification.plan(low, 'auto', 'trusted').tier).toBe(1)
    expect(verification.plan(low, 'auto', 'newcomer')).toEqual({ tier: 2, challenge: true, evidence: false })
    // a request for Tier 1 exactly is not raised, and nothing is raised without a canary to send
    expect(verification.plan(low, 1, 'newcomer').tier).toBe(1)
    expect(verification.plan({ ...low, id: 'text.other' }, 'auto', 'newcomer').tier).toBe(1)
    expect(verification.suspect!('liar', low)).toBe(true)
    expect(verification.suspect!('newcomer', low)).toBe(false)
  })
})

function capOf(id: string) {
  return {
    id,
    title: id,
    description: '',
    tags: [],
    kind: 'script' as const,
    risk: 'medium' as const,
    input: {},
    output: {},
  }
}
