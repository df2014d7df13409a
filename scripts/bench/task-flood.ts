/**
 * Task flood (execution issue, "Benchmarks"): 1,000 tasks fired at once by 4 requesters at one provider,
 * every one accounted for. The provider is a separate process (the delegation benchmark's provider: a node
 * offering the tiny script task `echo`, and a plain HTTP side door for its journal counts); the 4 requesters
 * are nodes in this process, each bootstrapped to the provider. Each requester fires 250 `delegate()` calls
 * at once with budget 1 (no fallback, so every task ends at that provider) and a 15 s deadline.
 *
 * Two configurations per run, each with a fresh provider: `default` cooperation rules (per peer: 10/s,
 * burst 20, 4 at once; queue 16), which answer most of the flood `busy`, and `generous` ones (per peer:
 * 10,000/s, burst 10,000, 256 at once; queue 1,024). For each: outcomes by status, their sum (the run
 * fails unless it is exactly 1,000, and unless the provider journalled exactly as many `ok` as the
 * requesters received, with nothing left queued or running), the wall time from the first call to the last
 * answer, and the provider's peak RSS (VmHWM of its process, so the start-up peak counts too; its RSS at
 * ready is reported beside it).
 *
 * The provider reports load 0 instead of the machine's load average: its scheduler stops queueing above
 * 0.8 per core, and on a shared 2-core machine that average is mostly other people's work, which made the
 * outcome depend on what else ran (in one trial the generous run got 3 ok and 997 `busy` from load shedding,
 * in the next 256 ok). Pinned, the counts measure the cooperation rules, the queue and the task stream.
 */
import { join } from 'node:path'
import type { KithNode } from '../../src/node/node.ts'
import { startProvider, startRequester } from './delegation.ts'
import { MIB, readMemoryStatus } from './lib/process.ts'
import type { BenchContext, RunOutput } from './lib/types.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'task-flood'
export const description =
  '1,000 tasks fired at once at one provider process by 4 requester nodes (in the benchmark process, 250 ' +
  "concurrent `delegate({ target: { capability: 'echo' }, budget: 1, timeoutMs: 15000 })` each, tiny " +
  'script task, loopback, 2 cores), twice per run with a fresh provider: `default` cooperation rules (per ' +
  'peer 10/s, burst 20, 4 at once; maxQueue 16) and `generous` ones (per peer 10,000/s, burst 10,000, 256 ' +
  'at once; maxQueue 1,024). Outcomes by status (`other`: error or unreachable) must sum to 1,000 and the ' +
  'provider’s journal must hold exactly as many `ok` tasks as the requesters got, none left queued or ' +
  'running, or the run fails. `wall`: first call to last answer. `rss-peak`: VmHWM of the provider ' +
  'process (start-up included); `rss-ready`: its VmRSS before the flood. The provider reports load 0 so ' +
  'that its scheduler does not shed load because of other work on the shared machine.'
export const defaultRuns = 3

const REQUESTERS = 4
const PER_REQUESTER = 250
const TOTAL = REQUESTERS * PER_REQUESTER
const TIMEOUT_MS = 15_000
const STATUSES = ['ok', 'busy', 'denied', 'timeout', 'other'] as const
type Counted = (typeof STATUSES)[number]

const CONFIGS = {
  default: '{}',
  generous: '{ maxQueue: 1024, perPeer: { ratePerSec: 10000, burst: 10000, maxConcurrent: 256 } }',
} as const
type ConfigName = keyof typeof CONFIGS

interface FloodResult {
  counts: Record<Counted, number>
  /** provider-side detail of refusals and failures: `status/code` → tasks */
  reasons: Record<string, number>
  wallMs: number
  rssReady: number
  rssPeak: number
  journal: Record<string, number>
}

async function flood(ctx: BenchContext, dir: string, config: ConfigName): Promise<FloodResult> {
  const provider = await startProvider(ctx, join(dir, 'provider'), CONFIGS[config], { load: 0 })
  const requesters: KithNode[] = []
  try {
    for (let i = 0; i < REQUESTERS; i++)
      requesters.push(await startRequester(join(dir, `requester-${i}`), provider))
    const rssReady = (await readMemoryStatus(provider.child.pid)).rss

    const started = performance.now()
    const calls = requesters.flatMap((node) =>
      Array.from({ length: PER_REQUESTER }, (_, i) =>
        node.execution.delegate({
          target: { capability: 'echo' },
          input: { x: i },
          timeoutMs: TIMEOUT_MS,
          budget: 1,
        }),
      ),
    )
    const settled = await Promise.allSettled(calls)
    const wallMs = performance.now() - started

    const counts: Record<Counted, number> = { ok: 0, busy: 0, denied: 0, timeout: 0, other: 0 }
    const reasons: Record<string, number> = {}
    for (const s of settled) {
      const status: Counted =
        s.status === 'rejected'
          ? 'other'
          : s.value.status === 'ok' ||
              s.value.status === 'busy' ||
              s.value.status === 'denied' ||
              s.value.status === 'timeout'
            ? s.value.status
            : 'other'
      counts[status]++
      const code =
        s.status === 'rejected'
          ? `thrown/${(s.reason as Error).name}`
          : `${status}/${s.value.error?.code ?? ''}`
      if (status !== 'ok') reasons[code] = (reasons[code] ?? 0) + 1
      if (s.status === 'fulfilled' && s.value.ok && s.value.provider !== provider.peerId)
        throw new Error(`a task ran at ${s.value.provider}, not at the provider`)
    }
    const res = await fetch(`${provider.http}/stats`)
    const { journal } = (await res.json()) as { journal: Record<string, number> }
    const rssPeak = (await readMemoryStatus(provider.child.pid)).peakRss

    const sum = STATUSES.reduce((n, s) => n + counts[s], 0)
    const problems: string[] = []
    if (settled.length !== TOTAL) problems.push(`${settled.length} calls settled, not ${TOTAL}`)
    if (sum !== TOTAL) problems.push(`outcomes sum to ${sum}, not ${TOTAL}`)
    if ((journal.ok ?? 0) !== counts.ok)
      problems.push(`the provider journalled ${journal.ok ?? 0} ok, the requesters got ${counts.ok}`)
    if ((journal.queued ?? 0) + (journal.running ?? 0) > 0)
      problems.push(`the provider's journal still has tasks queued or running: ${JSON.stringify(journal)}`)
    if (problems.length > 0)
      throw new Error(
        `${config}: ${problems.join('; ')}; counts ${JSON.stringify(counts)}, journal ${JSON.stringify(journal)}`,
      )
    return { counts, reasons, wallMs, rssReady, rssPeak, journal }
  } finally {
    await Promise.all(requesters.map((n) => n.stop().catch(() => {})))
    await provider.stop()
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const samples = new SampleSet()
  const add = samples.add.bind(samples)
  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    for (const config of Object.keys(CONFIGS) as ConfigName[]) {
      const r = await flood(ctx, join(ctx.tmpDir, `run-${runNo}-${config}`), config)
      for (const status of STATUSES) add(`${config}-${status}`, 'tasks', r.counts[status])
      add(
        `${config}-total`,
        'tasks',
        STATUSES.reduce((n, s) => n + r.counts[s], 0),
      )
      add(`${config}-wall`, 'ms', r.wallMs)
      add(`${config}-rss-peak`, 'MiB', r.rssPeak / MIB)
      add(`${config}-rss-ready`, 'MiB', r.rssReady / MIB)
      ctx.log(
        `run ${runNo}/${ctx.runs} ${config}: ${JSON.stringify(r.counts)} = ${TOTAL} in ` +
          `${r.wallMs.toFixed(0)} ms; not ok: ${JSON.stringify(r.reasons)}; provider journal ` +
          `${JSON.stringify(r.journal)}; provider RSS ready ${(r.rssReady / MIB).toFixed(1)} MiB, ` +
          `peak ${(r.rssPeak / MIB).toFixed(1)} MiB`,
      )
    }
  }
  const metrics = (Object.keys(CONFIGS) as ConfigName[]).flatMap((c) => [
    ...STATUSES.map((s) => `${c}-${s}`),
    `${c}-total`,
    `${c}-wall`,
    `${c}-rss-peak`,
    `${c}-rss-ready`,
  ])
  return {
    results: metrics.map((metric) => samples.get(metric)!),
    comparisons: [
      {
        name: 'tasks completed, generous vs default rules',
        numerator: 'generous-ok',
        denominator: 'default-ok',
      },
      {
        name: 'wall time, generous vs default rules',
        numerator: 'generous-wall',
        denominator: 'default-wall',
      },
      {
        name: 'provider peak RSS, generous vs default rules',
        numerator: 'generous-rss-peak',
        denominator: 'default-rss-peak',
      },
    ],
  }
}
