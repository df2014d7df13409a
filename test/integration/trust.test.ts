/**
 * Tiered verification across five real nodes over TCP on 127.0.0.1: a requester with canaries in its config,
 * two honest providers and two that lie, ranked first (they advertise the lowest load).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Capability, NodeState } from '../../src/discovery/descriptor.ts'
import { type KithNode } from '../../src/node/node.ts'
import { startSwtpm, type Swtpm } from '../fixtures/tpm/swtpm.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'
import { skipWithout } from '../system.ts'

const cap = (id: string): Capability => ({
  id,
  title: id,
  description: id,
  tags: ['math'],
  kind: 'script',
  risk: 'medium',
  deterministic: true,
  input: {},
  output: {},
})

type X = { x: number }
const honest = {
  double: (input: unknown) => ({ value: (input as X).x * 2 }),
  inc: (input: unknown) => ({ value: (input as X).x + 1 }),
}
const lying = {
  double: (input: unknown) => ({ value: (input as X).x * 2 + 1 }),
  inc: (input: unknown) => ({ value: (input as X).x + 2 }),
}
/** lies on 30 % of inputs: those whose last digit is 0, 1 or 2 */
const sometimes = {
  double: (input: unknown) => ((input as X).x % 10 < 3 ? lying : honest).double(input),
  inc: (input: unknown) => ((input as X).x % 10 < 3 ? lying : honest).inc(input),
}

const CANARIES = [
  'trust:',
  '  canaries:',
  ...Array.from({ length: 10 }, (_, x) => [
    `    - { capability: double, input: { x: ${x} }, output: { value: ${x * 2} } }`,
    `    - { capability: inc, input: { x: ${x} }, output: { value: ${x + 1} } }`,
  ]).flat(),
]

const WORKFLOW = (tier: string) => `
name: double-then-inc
steps:
  - id: twice
    capability: double
    input: { x: 23 }
    tier: ${tier}
    budget: 5
  - id: plus
    capability: inc
    input: { x: "\${steps.twice.output.value}" }
    tier: ${tier}
    budget: 5
output: "\${steps.plus.output}"
`

let root: string
let cleanup: () => Promise<void>
const nodes = new Map<string, KithNode>()
const peer = (name: string) => nodes.get(name)!.host.peerId.toString()

async function start(
  name: string,
  opts: { load: number; runners?: typeof honest; bootstrap?: string; yaml?: string[] },
): Promise<KithNode> {
  const state: NodeState = { load: opts.load, memFree: 1e9, queue: 0 }
  const caps = opts.runners != null ? [cap('double'), cap('inc')] : []
  const node = await startTestNode(join(root, name), {
    ...(opts.bootstrap != null ? { bootstrap: [opts.bootstrap] } : {}),
    yaml: opts.yaml ?? [],
    local: { state: () => state, capabilities: () => caps },
  })
  for (const c of caps) {
    const run = opts.runners![c.id as keyof typeof honest]
    node.execution.registry.register({ capability: c, run: async (input) => run(input) })
  }
  nodes.set(name, node)
  return node
}

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-trust-'))
  const r = await start('r', { load: 0.1, yaml: CANARIES })
  const hub = r.host.getMultiaddrs()[0]!.toString()
  await start('liar-1', { load: 0, runners: lying, bootstrap: hub })
  await start('liar-2', { load: 0.01, runners: lying, bootstrap: hub })
  await start('honest-1', { load: 0.5, runners: honest, bootstrap: hub })
  await start('honest-2', { load: 0.6, runners: honest, bootstrap: hub })
  await start('sometimes', { load: 0.9, runners: sometimes, bootstrap: hub })
  await waitFor('every provider known to the requester', () => r.discovery.store.size >= 6, 30_000)
}, 120_000)

let swtpm: Swtpm | undefined

afterAll(async () => {
  for (const node of nodes.values()) await node.stop().catch(() => undefined)
  await swtpm?.stop()
  await cleanup?.()
})

describe('tiered verification', () => {
  it('with tiers off (Tier 1) takes the liars’ answers; with tiers on, canaries skip them and the workflow is right', async () => {
    const r = nodes.get('r')!
    const run = async (tier: string) =>
      (await (
        await fetch(`${r.apiUrl}/v1/workflows`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ workflow: WORKFLOW(tier) }),
        })
      ).json()) as {
        ok: boolean
        output: unknown
        steps: Array<{ provider: string; tier: number; checks?: unknown[] }>
      }

    const off = await run('1')
    expect(off.ok).toBe(true)
    expect(off.output).not.toEqual({ value: 47 })
    expect(off.steps[0]!.provider).toBe(peer('liar-1'))

    const on = await run('auto')
    // 23 and 46 end in 3 and 6, which the partial liar answers right: once a canary caught a liar the
    // unproven candidates are tried in a random order, so it may serve a step, and must not change the answer
    expect(on.output).toEqual({ value: 47 })
    for (const step of on.steps) {
      expect(step.tier).toBe(2)
      expect([peer('honest-1'), peer('honest-2'), peer('sometimes')]).toContain(step.provider)
      expect(step.checks).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'canary', result: 'pass', peer: step.provider }),
        ]),
      )
    }
    // the first step catches the top-ranked liar with a canary; then the unproven are tried in a random
    // order, so the other liar is caught in either step, always by a canary; a caught one is never asked again
    const [first, second] = on.steps
    const failed = (checks: unknown[] | undefined) =>
      (checks as { name: string; result: string; peer: string }[])
        .filter((c) => c.name === 'canary' && c.result === 'fail')
        .map((c) => c.peer)
    expect(failed(first!.checks)[0]).toBe(peer('liar-1'))
    for (const liar of [peer('liar-1'), peer('liar-2')]) {
      const asked = on.steps.flatMap((st) =>
        (st.checks as { peer: string; result: string }[]).filter((c) => c.peer === liar),
      )
      expect(asked.every((c) => c.result === 'fail')).toBe(true)
    }
    expect(JSON.stringify(second!.checks)).not.toContain(peer('liar-1'))
    if (failed(first!.checks).includes(peer('liar-2')))
      expect(JSON.stringify(second!.checks)).not.toContain(peer('liar-2'))
  })

  it('catches a provider that lies on 30 % of tasks, and its reputation falls', async () => {
    const r = nodes.get('r')!
    await waitFor(
      'the 30 % liar among the providers of double',
      () => r.discovery.store.get(peer('sometimes')) !== undefined,
      30_000,
    )
    let caught = 0
    // every result, so that a run which catches nothing says what happened instead
    const seen: unknown[] = []
    for (let i = 0; i < 40 && caught === 0; i++) {
      const result = await r.execution.delegate({
        target: { capability: 'double' },
        input: { x: 100 + i },
        provider: peer('sometimes'),
        tier: 2,
      })
      seen.push({ status: result.status, attempts: result.attempts, checks: result.checks })
      caught += result.checks.filter((c) => c.name === 'canary' && c.result === 'fail').length
    }
    expect(caught, JSON.stringify(seen)).toBeGreaterThan(0)
    const topic = r.reputation.explain(peer('sometimes'))
    expect(JSON.stringify(topic)).toContain('canary_failure')
  })

  it('Tier 3 asks for an evidence package and verifies the provider’s signed receipt', async () => {
    const r = nodes.get('r')!
    const result = await r.execution.delegate({
      target: { capability: 'double' },
      input: { x: 4 },
      provider: peer('honest-1'),
      tier: 3,
    })
    expect(result).toMatchObject({ ok: true, output: { value: 8 }, tier: 3 })
    expect(result.checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'evidence', result: 'pass', reason: 'software receipt' }),
      ]),
    )
  })

  it.skipIf(skipWithout('swtpm'))(
    'Tier 3 from a provider with a TPM: its descriptor carries the attestation key, the answer a verified quote',
    async () => {
      await mkdir(join(root, 'swtpm'), { recursive: true })
      swtpm = await startSwtpm(join(root, 'swtpm'))
      const hub = nodes.get('r')!.host.getMultiaddrs()[0]!.toString()
      const attested = await start('attested', {
        load: 0.7,
        runners: honest,
        bootstrap: hub,
        yaml: [`trust: { tpm: { tcti: "${swtpm.tcti}" } }`],
      })
      expect(attested.evidence.describe().tpm).toBe(true)
      const r = nodes.get('r')!
      await waitFor(
        'the attested descriptor',
        () => r.discovery.store.get(peer('attested'))?.descriptor.attest.tpm === true,
        30_000,
      )
      const result = await r.execution.delegate({
        target: { capability: 'double' },
        input: { x: 5 },
        provider: peer('attested'),
        tier: 3,
      })
      expect(result, JSON.stringify([result.attempts, result.checks])).toMatchObject({
        ok: true,
        output: { value: 10 },
        tier: 3,
      })
      expect(result.checks).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'evidence', result: 'pass', reason: 'tpm quote' }),
        ]),
      )
    },
    120_000,
  )
})
