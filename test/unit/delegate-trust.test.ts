/** Delegation with the trust plane's hooks: suspects tried last, and a lie caught by a canary costs no budget. */
import { describe, expect, it } from 'vitest'
import type { Capability } from '../../src/discovery/descriptor.ts'
import type { CapabilityIndex } from '../../src/discovery/matcher/index.ts'
import { delegate, type DelegateComponents, type Verification } from '../../src/execution/delegate.ts'
import type { TaskClient } from '../../src/execution/task-client.ts'

const double: Capability = {
  id: 'math.double',
  title: 'double',
  description: '',
  tags: ['math'],
  kind: 'script',
  risk: 'medium',
  input: {},
  output: {},
  deterministic: true,
}

/** Fisher–Yates with this draw swaps nothing: the unproven keep their rank order after a lie. */
const KEEP_ORDER = () => 0.999_999

/** Providers in rank order; liars answer every task (canaries included) with a wrong value. */
function setup(providers: string[], liars: string[], suspects: string[] = [], random = KEEP_ORDER) {
  const called: string[] = []
  const verification: Verification = {
    plan: () => ({ tier: 2, challenge: true, evidence: false }),
    suspect: (peer) => suspects.includes(peer),
    challenge: () => ({ input: { x: 1 }, check: (output) => (output as { value: number }).value === 2 }),
    evidenceFor: () => 'receipt',
    verify: async () => [],
    learn: () => undefined,
  }
  const components: DelegateComponents = {
    providers: { of: () => providers.map((peer) => ({ peer, capability: double, local: false })) },
    index: {} as CapabilityIndex,
    client: {
      call: async (peer: string, req: { input: { x: number } }) => {
        called.push(peer)
        return { status: 'ok', output: { value: req.input.x * 2 + (liars.includes(peer) ? 1 : 0) } }
      },
    } as unknown as TaskClient,
    runLocal: async () => ({ status: 'error' }),
    verification,
    newId: () => 't',
    random,
  }
  return { components, called }
}

describe('delegation with the trust plane', () => {
  it('skips providers that fail their canary without using the budget up', async () => {
    const { components, called } = setup(
      ['liar-1', 'liar-2', 'liar-3', 'honest'],
      ['liar-1', 'liar-2', 'liar-3'],
    )
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
      budget: 1,
    })
    expect(result).toMatchObject({ ok: true, provider: 'honest', output: { value: 10 } })
    expect(result.checks.filter((c) => c.result === 'fail').map((c) => c.peer)).toEqual([
      'liar-1',
      'liar-2',
      'liar-3',
    ])
    expect(called).toEqual(['liar-1', 'liar-2', 'liar-3', 'honest', 'honest'])
  })

  it('asks at most eight times the budget of candidates, however many lie', async () => {
    const liars = Array.from({ length: 20 }, (_, i) => `liar-${i}`)
    const { components } = setup([...liars, 'honest'], liars)
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
      budget: 2,
    })
    expect(result.ok).toBe(false)
    expect(result.attempts).toHaveLength(16)
  })

  it('after a lie, tries the unproven in a random order drawn past the liars at the top', async () => {
    const liars = Array.from({ length: 40 }, (_, i) => `liar-${i}`)
    // the first draw of Fisher–Yates puts the last candidate first; the others keep their order
    let draws = 0
    const random = () => (draws++ === 0 ? 0 : KEEP_ORDER())
    const { components, called } = setup([...liars, 'honest'], liars, [], random)
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
      budget: 2,
    })
    expect(result).toMatchObject({ ok: true, provider: 'honest' })
    // the ranking holds until the first lie; then the 41st candidate, past every cap on tries, is reached
    expect(called).toEqual(['liar-0', 'honest', 'honest'])
  })

  it('keeps the suspects last when it reorders the unproven', async () => {
    // with draws of 0, Fisher–Yates swaps the two unproven; the suspect keeps its last slot
    const { components, called } = setup(['liar', 'a', 'b', 'caught'], ['liar'], ['caught'], () => 0)
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
    })
    expect(result).toMatchObject({ ok: true, provider: 'b' })
    expect(called).toEqual(['liar', 'b', 'b'])
  })

  it('tries a provider this node caught failing after every other one', async () => {
    const { components, called } = setup(['caught', 'other'], [], ['caught'])
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
    })
    expect(result).toMatchObject({ ok: true, provider: 'other' })
    expect(called).toEqual(['other', 'other'])
  })
})

describe('Tier 3 verification', () => {
  it('runs its checks on the task id the provider was sent', async () => {
    const sent: (string | undefined)[] = []
    const verified: string[] = []
    const verification: Verification = {
      plan: () => ({ tier: 3, challenge: false, evidence: true }),
      challenge: () => undefined,
      evidenceFor: () => 'tpm',
      verify: async ({ taskId, peer }) => {
        verified.push(taskId)
        return [{ name: 'evidence', result: 'pass', peer }]
      },
      learn: () => undefined,
    }
    const components: DelegateComponents = {
      providers: { of: () => [{ peer: 'hub', capability: double, local: false }] },
      index: {} as CapabilityIndex,
      client: {
        call: async (_peer: string, req: { id?: string; input: { x: number } }) => {
          sent.push(req.id)
          return { status: 'ok', output: { value: req.input.x * 2 } }
        },
      } as unknown as TaskClient,
      runLocal: async () => ({ status: 'error' }),
      verification,
      newId: () => 'task-tier3',
    }
    const result = await delegate(components, {
      target: { capability: 'math.double' },
      input: { x: 5 },
      timeoutMs: 1_000,
      tier: 3,
    })
    expect(result).toMatchObject({ ok: true, provider: 'hub', output: { value: 10 } })
    expect(sent).toEqual(['task-tier3'])
    expect(verified).toEqual(['task-tier3'])
    expect(result.checks).toContainEqual({ name: 'evidence', result: 'pass', peer: 'hub' })
  })

  it('cannot be wired without a task id source (a type error, checked by tsc)', () => {
    const partial = {
      providers: { of: () => [] },
      index: {} as CapabilityIndex,
      client: {} as TaskClient,
      runLocal: async () => ({ status: 'error' as const }),
    }
    // @ts-expect-error newId is required: without it Tier 3 has no task id to check and would be skipped
    const components: DelegateComponents = partial
    expect(components).toBe(partial)
  })
})
