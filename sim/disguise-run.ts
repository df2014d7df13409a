/**
 * Scenario 4 of issue 9, one run: cross-topic disguise collusion (arXiv 2606.17368's setting). Attackers are
 * honest on every topic but one, the attacked topic (the first: the one that matters, say door locks), where
 * they lie: the reputation they earn elsewhere is their disguise. They rate each other highly (collusion), and
 * an attacker caught lying `whitewashAfter` times rejoins under a fresh identity (whitewashing). Every epoch each
 * honest node makes `queries` queries on random topics; `candidates` providers are drawn at random and the
 * trust method picks one:
 *
 * - `none`: uniformly at random;
 * - `flat`: the highest global trust of one EigenTrust over all topics together (kith's `eigenTrust`);
 * - `per-topic`: the highest global trust of EigenTrust on the query's topic;
 * - `kith`: the requester's own reputation service (`createReputation`: local records per (peer, topic),
 *   signed opinions exchanged every epoch, per-topic EigenTrust with the household pre-trusted, the newcomer
 *   prior, its own veto), the highest `trustOf` first and the peers it or the household caught lying last.
 *
 * Flat and per-topic EigenTrust are computed centrally each epoch from every honest node's observations (the
 * paper's global view); kith's trust is each node's own, from what reached it. Attack success is the share of
 * queries on the attacked topic answered with a lie. A lie is found out with probability `detect` and then recorded as a wrong
 * answer; an undetected lie looks like a success to the requester.
 */
import type { Capability } from '../src/discovery/descriptor.ts'
import { openDatabase } from '../src/store/database.ts'
import { OUTCOME_WEIGHTS } from '../src/trust/reputation/constants.ts'
import { eigenTrust, pretrustVector, trustMatrix } from '../src/trust/reputation/eigentrust.ts'
import { createReputation, type Reputation, topicOf } from '../src/trust/reputation/index.ts'
import { signOpinion } from '../src/trust/reputation/opinion.ts'
import { silentLogger } from '../src/util/logger.ts'
import type { DisguiseScenario, TrustMethod } from './disguise-scenario.ts'
import type { KeyRing } from './keys.ts'
import { Random } from './random.ts'

/** One capability per topic, each in a different reputation topic of kith's vocabulary. */
const TOPIC_CAPS: readonly Capability[] = [
  ['hall.temperature', 'sensor', ['climate']],
  ['kitchen.plug', 'device', ['power']],
  ['desk.lamp', 'device', ['light']],
  ['text.summarize', 'script', ['text']],
  ['file.hash', 'script', ['hash']],
].map(([id, kind, tags]) => ({
  id: id as string,
  title: id as string,
  description: '',
  tags: tags as string[],
  kind: kind as Capability['kind'],
  risk: 'low' as const,
  input: {},
  output: {},
}))

/** Virtual time: one epoch per minute, queries a second apart (the reputation recomputes lazily, ≤ 1/s). */
const EPOCH_MS = 60_000
const EPOCH0 = 1_700_000_000_000

export interface DisguiseRun {
  share: number
  method: TrustMethod
  seed: number
  /** queries on the attacked topic */
  queries: number
  lies: number
  /** attack success per epoch */
  perEpoch: number[]
  /** trust entries exchanged per epoch, mean (kith: opinion entries delivered; EigenTrust: matrix entries) */
  controlEntries: number
  whitewashed: number
}

/** the topic attackers lie on */
const ATTACKED = 0

interface Slot {
  attacker: boolean
  /** index of the current identity in the KeyRing */
  key: number
  caught: number
}

/**
 * @example
 * const run = await runDisguise(scenario, 0.3, 'kith', 1, new KeyRing())
 * run.lies / run.queries // attack success
 */
export async function runDisguise(
  s: DisguiseScenario,
  share: number,
  method: TrustMethod,
  seed: number,
  keys: KeyRing,
): Promise<DisguiseRun> {
  const rng = new Random(seed)
  const caps = TOPIC_CAPS.slice(0, s.topics)
  const topics = caps.map(topicOf)
  const order = rng.fork('roles').shuffle(Array.from({ length: s.nodes }, (_, i) => i))
  const attackers = Math.min(Math.round(share * s.nodes), s.nodes - s.pretrusted - 1)
  const slots: Slot[] = Array.from({ length: s.nodes }, (_, i) => ({
    attacker: false,
    key: i,
    caught: 0,
  }))
  for (const i of order.slice(0, attackers)) (slots[i] as Slot).attacker = true
  const pretrusted = order.slice(attackers, attackers + s.pretrusted)
  const honest = slots.map((_, i) => i).filter((i) => !(slots[i] as Slot).attacker)
  let nextKey = s.nodes
  const peerOf = (slot: number) => keys.get((slots[slot] as Slot).key).peer

  let now = EPOCH0
  const reps = new Map<number, Reputation>()
  const dbs: Array<ReturnType<typeof openDatabase>> = []
  if (method === 'kith') {
    const household = pretrusted.map(peerOf)
    for (const i of honest) {
      const db = openDatabase(':memory:')
      dbs.push(db)
      const id = keys.get(i)
      const rep = createReputation({
        db,
        identity: { peerId: id.peerId, sign: id.sign },
        config: { trust: { pretrusted: household, reputation: { alpha: s.alpha } } },
        logger: silentLogger(),
        verify: keys.verifier,
        known: () => true,
        now: () => now,
      })
      reps.set(i, rep)
    }
  }
  // flat / per-topic: every honest node's weighted successes and failures, by (requester, provider key, topic)
  const observed = new Map<string, { good: number; bad: number }>()
  const note = (i: number, key: number, t: number, lie: boolean) => {
    const k = `${i}|${key}|${t}`
    const cell = observed.get(k) ?? { good: 0, bad: 0 }
    if (lie) cell.bad += OUTCOME_WEIGHTS.wrong_answer
    else cell.good += OUTCOME_WEIGHTS.success
    observed.set(k, cell)
  }

  const run: DisguiseRun = {
    share,
    method,
    seed,
    queries: 0,
    lies: 0,
    perEpoch: [],
    controlEntries: 0,
    whitewashed: 0,
  }
  const queryRng = rng.fork('queries')
  const answerRng = rng.fork('answers')
  let entries = 0
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    now = EPOCH0 + epoch * EPOCH_MS
    for (const slot of slots) {
      if (slot.attacker && s.whitewashAfter > 0 && slot.caught >= s.whitewashAfter) {
        slot.key = nextKey++
        slot.caught = 0
        run.whitewashed++
      }
    }
    let global: Float64Array[] = []
    if (method === 'flat' || method === 'per-topic') {
      const built = globalTrust(s, slots, observed, pretrusted, method)
      global = built.trust
      entries += built.entries
    }
    if (method === 'kith') entries += exchangeOpinions(s, slots, reps, topics, now, keys)

    let lies = 0
    let queries = 0
    for (const i of queryRng.shuffle(honest)) {
      for (let q = 0; q < s.queries; q++) {
        now += 1_000
        const t = queryRng.int(s.topics)
        const candidates = drawCandidates(queryRng, s.nodes, i, s.candidates)
        const chosen = choose(method, candidates, queryRng, (slot) => {
          if (method === 'flat') return global[0]![slot] as number
          if (method === 'per-topic') return global[t]![slot] as number
          const rep = reps.get(i)!
          const peer = peerOf(slot)
          return rep.caught(peer, topics[t] as string) ? -1 : rep.trustOf(peer, caps[t] as Capability)
        })
        const slot = slots[chosen] as Slot
        const lie = slot.attacker && t === ATTACKED
        if (t === ATTACKED) queries++
        if (lie) lies++
        const detected = lie && answerRng.chance(s.detect)
        if (detected) slot.caught++
        if (method === 'kith')
          reps.get(i)!.record(peerOf(chosen), topics[t] as string, detected ? 'wrong_answer' : 'success')
        else note(i, slot.key, t, detected)
      }
    }
    run.queries += queries
    run.lies += lies
    run.perEpoch.push(queries === 0 ? 0 : lies / queries)
  }
  run.controlEntries = entries / s.epochs
  for (const rep of reps.values()) await rep.stop()
  for (const db of dbs) db.close()
  return run
}

/** `k` distinct providers other than `self`, uniformly. */
function drawCandidates(rng: Random, nodes: number, self: number, k: number): number[] {
  const picked = new Set<number>()
  while (picked.size < k) {
    const c = rng.int(nodes)
    if (c !== self) picked.add(c)
  }
  return [...picked]
}

/** The candidate the method prefers: random for `none`, else the highest score, ties broken at random. */
function choose(
  method: TrustMethod,
  candidates: number[],
  rng: Random,
  score: (slot: number) => number,
): number {
  if (method === 'none') return rng.pick(candidates)
  let best: number[] = []
  let top = -Infinity
  for (const c of candidates) {
    const v = score(c)
    if (v > top + 1e-12) {
      top = v
      best = [c]
    } else if (Math.abs(v - top) <= 1e-12) best.push(c)
  }
  return rng.pick(best)
}

/**
 * Global trust by EigenTrust from every honest node's observations of the current identities, with colluding
 * attackers rating each other: one matrix over all topics (`flat`), or one per topic. Rows are classic
 * EigenTrust: s_ij = max(0, S − F) normalised to sum 1.
 */
function globalTrust(
  s: DisguiseScenario,
  slots: readonly Slot[],
  observed: ReadonlyMap<string, { good: number; bad: number }>,
  pretrusted: readonly number[],
  method: 'flat' | 'per-topic',
): { trust: Float64Array[]; entries: number } {
  const slotOfKey = new Map(slots.map((slot, i) => [slot.key, i]))
  const views = method === 'flat' ? 1 : s.topics
  const rows = Array.from({ length: views }, () =>
    Array.from({ length: s.nodes }, () => new Map<number, number>()),
  )
  for (const [k, { good, bad }] of observed) {
    const [i, key, t] = k.split('|').map(Number) as [number, number, number]
    const j = slotOfKey.get(key)
    if (j === undefined) continue
    const row = rows[method === 'flat' ? 0 : t]![i]!
    row.set(j, (row.get(j) ?? 0) + good - bad)
  }
  const colluders = slots.map((slot, i) => (slot.attacker ? i : -1)).filter((i) => i >= 0)
  let entries = 0
  const trust = rows.map((view) => {
    const normalised = view.map((row, i) => {
      if ((slots[i] as Slot).attacker)
        return s.collusion && colluders.length > 1
          ? new Map(colluders.filter((j) => j !== i).map((j) => [j, 1 / (colluders.length - 1)]))
          : undefined
      let sum = 0
      for (const v of row.values()) if (v > 0) sum += v
      if (sum === 0) return undefined
      const out = new Map<number, number>()
      for (const [j, v] of row) if (v > 0) out.set(j, v / sum)
      return out
    })
    for (const row of normalised) entries += row?.size ?? 0
    return eigenTrust(trustMatrix(normalised), pretrustVector(s.nodes, pretrusted), { alpha: s.alpha }).trust
  })
  return { trust, entries }
}

/**
 * Every honest node's signed opinion on every topic goes to every other honest node, and each attacker's
 * opinion rating its fellows (collusion) to every honest node; returns the entries delivered.
 */
function exchangeOpinions(
  s: DisguiseScenario,
  slots: readonly Slot[],
  reps: ReadonlyMap<number, Reputation>,
  topics: readonly string[],
  now: number,
  keys: KeyRing,
): number {
  let delivered = 0
  const deliver = (bytes: Uint8Array, from: string, count: number, skip?: number) => {
    for (const [j, rep] of reps) {
      if (j === skip) continue
      rep.receive(bytes, from)
      delivered += count
    }
  }
  for (const [i, rep] of reps) {
    const from = keys.get((slots[i] as Slot).key).peer
    for (const topic of topics) {
      const bytes = rep.opinion(topic)
      // its entries: the local row (at most 64) and the peers it names as caught
      const size = Math.min(64, rep.records.row(topic, now).size) + rep.records.liars(topic, now, 64).length
      if (bytes !== undefined) deliver(bytes, from, size, i)
    }
  }
  if (!s.collusion) return delivered
  const colluders = slots.filter((slot) => slot.attacker)
  if (colluders.length < 2) return delivered
  for (const [k, slot] of colluders.entries()) {
    const id = keys.get(slot.key)
    const friends = [...colluders.slice(k + 1), ...colluders.slice(0, k)].slice(0, 32)
    const entries = friends.map((f) => ({ peer: keys.get(f.key).peer, value: 1 / friends.length }))
    for (const topic of topics) {
      const bytes = signOpinion(
        { from: id.peer, topic, seq: Math.floor(now / 1000), at: now, entries },
        id.sign,
      )
      deliver(bytes, id.peer, entries.length)
    }
  }
  return delivered
}
