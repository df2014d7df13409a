/**
 * What each verification tier adds to a tiny task (trust issue, "Benchmarks"): two real nodes in this process
 * over TCP on 127.0.0.1, a provider with a deterministic capability and a requester with canaries for it in
 * its config; the same delegation at Tier 1 (no checks), Tier 2 (a canary first) and Tier 3 (a canary and a
 * software evidence package: signed receipt, verified), interleaved so that load drifts hit all three alike.
 */
import { join } from 'node:path'
import type { Capability } from '../../src/discovery/descriptor.ts'
import type { KithNode } from '../../src/node/node.ts'
import { startTestNode } from '../../test/nodes.ts'
import type { BenchContext, MetricSamples, RunOutput } from './lib/types.ts'

export const name = 'tiers'
export const description =
  'Delegation of a tiny deterministic task (`{x}` -> `{value: 2x}`) from one node to another over TCP on ' +
  'loopback at Tier 1, 2 (a canary from the config first) and 3 (canary + software evidence package), ' +
  'interleaved, after a warm-up; per run 300 tasks per tier.'
export const defaultRuns = 5

const TASKS = 300
const WARMUP = 50

const double: Capability = {
  id: 'double',
  title: 'double',
  description: 'double a number',
  tags: ['math'],
  kind: 'script',
  risk: 'low',
  deterministic: true,
  input: {},
  output: {},
}

async function household(
  dir: string,
): Promise<{ requester: KithNode; provider: KithNode; stop(): Promise<void> }> {
  const state = () => ({ load: 0, memFree: 1e9, queue: 0 })
  const provider = await startTestNode(join(dir, 'provider'), {
    // the cooperation rules' per-peer rate (10/s by default) would refuse a benchmark's stream of tasks
    yaml: ['execution: { perPeer: { ratePerSec: 10000, burst: 100000 } }'],
    local: { state, capabilities: () => [double] },
  })
  provider.execution.registry.register({
    capability: double,
    run: async (input) => ({ value: (input as { x: number }).x * 2 }),
  })
  const requester = await startTestNode(join(dir, 'requester'), {
    bootstrap: [provider.host.getMultiaddrs()[0]!.toString()],
    yaml: [
      'trust:',
      '  canaries:',
      ...Array.from(
        { length: 8 },
        (_, x) => `    - { capability: double, input: { x: ${x} }, output: { value: ${x * 2} } }`,
      ),
    ],
    local: { state, capabilities: () => [] },
  })
  const deadline = Date.now() + 30_000
  while (requester.discovery.store.get(provider.host.peerId.toString()) === undefined) {
    if (Date.now() > deadline) throw new Error('the provider was not discovered')
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    requester,
    provider,
    stop: async () => {
      await requester.stop()
      await provider.stop()
    },
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const samples = new Map<string, number[]>([
    ['tier-1', []],
    ['tier-2', []],
    ['tier-3', []],
  ])
  for (let i = 1; i <= ctx.runs; i++) {
    const h = await household(join(ctx.tmpDir, `run-${i}`))
    try {
      const provider = h.provider.host.peerId.toString()
      const once = async (tier: 1 | 2 | 3, x: number) => {
        const started = performance.now()
        const result = await h.requester.execution.delegate({
          target: { capability: 'double' },
          input: { x },
          provider,
          tier,
        })
        const ms = performance.now() - started
        if (!result.ok || result.tier !== tier)
          throw new Error(`tier ${tier}: ${JSON.stringify(result.error)}`)
        if (tier >= 2 && !result.checks.some((c) => c.name === 'canary' && c.result === 'pass'))
          throw new Error(`tier ${tier} ran without a canary`)
        return ms
      }
      for (let n = 0; n < WARMUP; n++) for (const tier of [1, 2, 3] as const) await once(tier, n)
      for (let n = 0; n < TASKS; n++)
        for (const tier of [1, 2, 3] as const) samples.get(`tier-${tier}`)!.push(await once(tier, 1000 + n))
      ctx.log(`run ${i}/${ctx.runs} done`)
    } finally {
      await h.stop()
    }
  }
  const results: MetricSamples[] = [...samples].map(([metric, values]) => ({
    metric,
    unit: 'ms',
    samples: values,
  }))
  return {
    results,
    comparisons: [
      { name: 'Tier 2 vs Tier 1 (added canary)', numerator: 'tier-2', denominator: 'tier-1' },
      { name: 'Tier 3 vs Tier 1 (canary + evidence)', numerator: 'tier-3', denominator: 'tier-1' },
    ],
  }
}
