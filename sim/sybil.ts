/**
 * Scenario 1 of issue 9, Sybil index poisoning (arXiv 2603.03753): a share of the nodes are Sybils that
 * advertise the most popular capabilities on an idle-looking machine and answer wrongly. Household nodes
 * (the requesters, pre-trusted by each other) run workflows of a few steps; each step is one call of kith's
 * own `delegate()` (match, tier plan, canary, task, checks, fallback, outcome records) over the simulated
 * network. A workflow succeeds when every step returned the right answer.
 */
import { delegate } from '../src/execution/delegate.ts'
import { answerOf, catalogue, zipfWeights } from './catalogue.ts'
import { Simulator } from './clock.ts'
import type { KeyRing } from './keys.ts'
import { Network, startChurn } from './network.ts'
import { startHouseholdOpinions, startSybilOpinions } from './opinions.ts'
import { SimProvider } from './provider.ts'
import { Random } from './random.ts'
import { SimRequester, TIER_OF } from './requester.ts'
import type { Strategy, SybilScenario } from './scenario.ts'
import { simTaskClient } from './task-client.ts'

/** Virtual time 0 is this wall-clock instant, so timestamps look like real ones. */
const EPOCH = 1_700_000_000_000

export interface SybilRun {
  fraction: number
  strategy: Strategy
  seed: number
  workflows: number
  succeeded: number
  steps: number
  stepsRight: number
  /** accepted answers that came from a Sybil */
  sybilAnswers: number
  /** task and canary calls sent */
  calls: number
  fallbacks: number
  descriptorsRefused: number
  bytes: Record<string, number>
  /** virtual time from the start to the end of the last workflow */
  virtualMs: number
  events: number
}

/**
 * One run: one Sybil share, one strategy, one seed. Everything random comes from `seed`, so the same
 * arguments give the same result; the same seed gives every strategy the same network, roles and workflows.
 *
 * @example
 * const run = await runSybil(scenario, 0.3, 'full', 1, new KeyRing())
 * run.succeeded / run.workflows
 */
export async function runSybil(
  s: SybilScenario,
  fraction: number,
  strategy: Strategy,
  seed: number,
  keys: KeyRing,
): Promise<SybilRun> {
  const sim = new Simulator()
  const now = () => EPOCH + sim.now
  const rng = new Random(seed)
  const net = new Network(sim, rng.fork('links'), s.links, s.nodes)
  const caps = catalogue(s.capabilities.count)
  const popularity = zipfWeights(caps.length, s.capabilities.zipf)
  const verify = keys.verifier

  // roles: Sybils first in a seeded order, then the household (requesters), then honest providers
  const order = rng.fork('roles').shuffle(Array.from({ length: s.nodes }, (_, i) => i))
  const sybilCount = Math.min(s.nodes - s.requesters, Math.round(fraction * s.nodes))
  const sybils = new Set(order.slice(0, sybilCount))
  const household = order.slice(sybilCount, sybilCount + s.requesters)
  const pretrusted = household.map((i) => keys.get(i).peer)
  const roleRng = rng.fork('caps')
  const providers = Array.from({ length: s.nodes }, (_, i) => {
    const sybil = sybils.has(i)
    const offered = sybil
      ? caps.slice(0, Math.min(s.sybil.claims, caps.length))
      : roleRng.shuffle(caps).slice(0, Math.min(s.capabilities.perNode, caps.length))
    return new SimProvider({
      index: i,
      identity: keys.get(i),
      caps: offered,
      sybil,
      tpm: !sybil && roleRng.chance(s.honest.tpm),
      wrongRate: sybil ? s.sybil.wrongRate : s.honest.errorRate,
      ttlMs: s.discovery.ttlMs,
      rng: rng.fork(`provider:${i}`),
    })
  })
  const byPeer = new Map(providers.map((p) => [p.peer, p]))
  const canaries = caps.flatMap((c) =>
    Array.from({ length: s.trust.canariesPerCapability }, (_, k) => ({
      capability: c.id,
      input: { x: 1_000_000 + k },
      output: answerOf(c.id, 1_000_000 + k),
    })),
  )
  const requesters = household.map(
    (i) =>
      new SimRequester({
        index: i,
        identity: keys.get(i),
        strategy,
        pretrusted,
        verify,
        now,
        rng: rng.fork(`requester:${i}`),
        canaries,
        canaryRate: s.trust.canaryRate,
        policy: s.trust.policy,
        opinionIntervalMs: s.trust.opinionIntervalMs,
      }),
  )

  let running = true
  const announce = (p: SimProvider) => {
    if (!net.isOnline(p.index)) return
    const signed = p.announce(now())
    const at = Math.floor(now())
    for (const r of requesters) {
      if (r.index === p.index) continue
      net.send(p.index, r.index, 'descriptor', signed.bytes.byteLength, () => r.receive(signed, p.peer, at))
    }
  }
  const refresh = s.discovery.ttlMs / 3
  const startRng = rng.fork('start')
  for (const p of providers) {
    sim.every(refresh, () => (announce(p), running), startRng.uniform(0, Math.min(refresh, s.warmupMs / 2)))
  }
  const churning = providers.filter((p) => !household.includes(p.index)).map((p) => p.index)
  startChurn(sim, net, rng.fork('churn'), s.churn, churning, (node, online) => {
    if (online) announce(providers[node] as SimProvider)
  })

  // opinions: the household gossips its own; Sybils, if they do, rate each other
  const traffic = {
    sim,
    net,
    now,
    requesters,
    intervalMs: s.trust.opinionIntervalMs,
    running: () => running,
  }
  startHouseholdOpinions(traffic)
  if (s.sybil.opinions)
    startSybilOpinions(
      traffic,
      [...sybils].map((i) => providers[i] as SimProvider),
      caps.slice(0, s.sybil.claims),
    )

  const result: SybilRun = {
    fraction,
    strategy,
    seed,
    workflows: 0,
    succeeded: 0,
    steps: 0,
    stepsRight: 0,
    sybilAnswers: 0,
    calls: 0,
    fallbacks: 0,
    descriptorsRefused: 0,
    bytes: net.counters.bytes,
    virtualMs: 0,
    events: 0,
  }

  let taskSeq = 0
  let active = requesters.length
  const feedbackRng = rng.fork('feedback')
  const runWorkflows = async (r: SimRequester, wrng: Random) => {
    const order = rng.fork(`order:${r.index}`)
    const components = {
      providers: { of: () => [] },
      index: r.matcher,
      client: simTaskClient({ sim, net, self: r.index, providers: byPeer, onCall: () => result.calls++ }),
      runLocal: () => Promise.reject(new Error('the simulator runs no task locally')),
      recordOutcome: (o: Parameters<SimRequester['recordOutcome']>[0]) => r.recordOutcome(o),
      ...(r.verification !== undefined ? { verification: r.verification } : {}),
      newId: () => `t${++taskSeq}`,
      // the request's deadline in virtual time: the wall clock would make results depend on machine speed
      now,
      // the order unproven candidates are tried in once one lied
      random: () => order.next(),
    }
    for (let w = 0; w < s.workflow.perRequester; w++) {
      await new Promise<void>((resolve) =>
        sim.after(wrng.exp(s.workflow.intervalMs), () => (sim.wake(), resolve())),
      )
      const plan = Array.from({ length: s.workflow.steps }, () => ({
        cap: caps[wrng.weighted(popularity)]!,
        x: wrng.int(1_000_000),
      }))
      let ok = true
      for (const { cap, x } of plan) {
        r.expire()
        const tier = TIER_OF[strategy]
        const outcome = await delegate(components, {
          target: { intent: { text: cap.title, tags: cap.tags } },
          input: { x },
          timeoutMs: s.trust.taskTimeoutMs,
          budget: s.trust.attempts,
          ...(tier !== undefined ? { tier } : {}),
        })
        result.steps++
        result.fallbacks += outcome.fallbacks
        const right =
          outcome.ok && (outcome.output as { y?: number } | undefined)?.y === answerOf(cap.id, x).y
        const from = outcome.provider !== undefined ? byPeer.get(outcome.provider) : undefined
        if (outcome.ok && from?.sybil === true) result.sybilAnswers++
        // a wrong answer that got through may come to light later (a user, a later step) and count against it
        if (outcome.ok && !right && from !== undefined && feedbackRng.chance(s.trust.feedback)) {
          const capability = from.caps.find((c) => c.id === outcome.capability) ?? cap
          r.recordOutcome({ peer: from.peer, capability, kind: 'wrong_answer' })
        }
        if (right) result.stepsRight++
        else {
          ok = false
          break
        }
      }
      result.workflows++
      if (ok) result.succeeded++
    }
    if (--active === 0) {
      running = false
      result.virtualMs = sim.now
    }
  }
  const horizon =
    s.warmupMs +
    s.workflow.perRequester *
      (s.workflow.intervalMs * 10 + s.workflow.steps * s.trust.attempts * s.trust.taskTimeoutMs * 2)
  let failure: unknown
  sim.after(s.warmupMs, () => {
    for (const r of requesters)
      runWorkflows(r, rng.fork(`workflow:${r.index}`)).catch((err: unknown) => {
        failure ??= err
        running = false
      })
    sim.wake()
  })
  await sim.runAsync(horizon)
  running = false
  if (failure !== undefined) throw failure
  result.descriptorsRefused = requesters.reduce((n, r) => n + r.refused, 0)
  result.events = sim.processed
  for (const r of requesters) await r.close()
  return result
}
