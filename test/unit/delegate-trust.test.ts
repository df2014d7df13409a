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

/** Providers in rank order; liars answer every task (canaries included) with a wrong value. */
function setup(providers: string[], liars: string[], suspects: string[] = []) {
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
