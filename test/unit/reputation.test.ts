import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import type { Capability, Descriptor } from '../../src/discovery/descriptor.ts'
import { CapabilityIndex, trustFactor } from '../../src/discovery/matcher/index.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { type Database, openDatabase } from '../../src/store/database.ts'
import { OpinionBook } from '../../src/trust/reputation/book.ts'
import {
  MAX_OPINION_BYTES,
  MAX_OPINION_ENTRIES,
  REPUTATION_DEFAULTS,
} from '../../src/trust/reputation/constants.ts'
import {
  createReputation,
  PEER_TOPIC,
  type Reputation,
  type ReputationConfig,
  topicOf,
  TOPICS,
} from '../../src/trust/reputation/index.ts'
import { decodeOpinion, type Opinion, OpinionError, signOpinion } from '../../src/trust/reputation/opinion.ts'
import { PeerIds } from '../../src/trust/reputation/peer-ids.ts'
import { LocalRecords } from '../../src/trust/reputation/records.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { configSchema } from '../../src/config/schema.ts'
import { tempDir } from '../helpers.ts'
import { canonicalEncode } from '../../src/util/canonical.ts'

const CLIMATE = 'sensor.climate'
const ACCESS = 'device.access.high'
const HOUR = 3_600_000

let dir: string
let cleanup: () => Promise<void>
/** identities made once: `me` runs the service, the rest send opinions */
const ids: Record<string, Identity> = {}
const peer = (name: string) => ids[name]!.peerId.toString()

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-rep-'))
  for (const name of ['me', 'home', 'honest', 'd', 's1', 's2', 's3', 's4', 'stranger'])
    ids[name] = await createIdentity(join(dir, `${name}.key`))
})
afterAll(() => cleanup())

interface Setup {
  rep: Reputation
  db: Database
  clock: { now: number }
}

async function setup(options: { config?: Partial<ReputationConfig>; known?: string[]; db?: Database } = {}) {
  const db = options.db ?? openDatabase(':memory:')
  const clock = { now: 1_700_000_000_000 }
  const known = new Set(
    options.known ??
      Object.keys(ids)
        .filter((n) => n !== 'stranger')
        .map(peer),
  )
  const rep = createReputation({
    db,
    identity: ids.me!,
    config: {
      trust: { pretrusted: [peer('home')], reputation: { ...REPUTATION_DEFAULTS, ...options.config } },
    },
    logger: silentLogger(),
    known: (p) => known.has(p),
    now: () => clock.now,
  })
  await rep.start()
  return { rep, db, clock } satisfies Setup
}

/** Wire bytes of an opinion signed by `signer`, bypassing signOpinion's own checks. */
function forge(signer: string, body: Opinion, corrupt = false): Uint8Array {
  const sig = ids[signer]!.sign(canonicalEncode(body))
  if (corrupt) sig[0]! ^= 1
  return canonicalEncode({ ...body, sig })
}

const opinion = (
  from: string,
  entries: [string, number][],
  extra: Partial<Opinion> = {},
  at = 1_700_000_000_000,
) =>
  ({
    from: peer(from),
    topic: CLIMATE,
    seq: 1,
    at,
    entries: entries.map(([p, value]) => ({ peer: peer(p), value })),
    ...extra,
  }) as Opinion

const cap = (id: string, kind: Capability['kind'], risk: Capability['risk'], tags: string[]): Capability => ({
  id,
  title: id,
  description: '',
  tags,
  kind,
  risk,
  input: {},
  output: {},
})

describe('topicOf', () => {
  it('puts door locks, climate sensors and scripts in topics of their own', () => {
    expect(topicOf(cap('front-door.unlock', 'device', 'high', ['lock', 'door', 'security']))).toBe(ACCESS)
    expect(topicOf(cap('hall.temperature', 'sensor', 'low', ['climate', 'temperature', 'sensor']))).toBe(
      CLIMATE,
    )
    expect(topicOf(cap('kitchen-plug.set', 'device', 'medium', ['plug', 'switch', 'power']))).toBe(
      'device.power',
    )
    expect(topicOf(cap('echo', 'script', 'low', []))).toBe('script.compute')
    expect(topicOf(cap('frobnicate', 'script', 'low', ['misc']))).toBe('script.general')
  })

  it('reads the part of the id first, then the riskiest family any id word or tag names', () => {
    // the relay's temperature reading is climate, not power, though the device is tagged relay
    expect(topicOf(cap('diy.temperature', 'sensor', 'low', ['relay', 'switch', 'climate']))).toBe(CLIMATE)
    // tags of a lower family do not pull a lock out of access
    expect(topicOf(cap('front-door.open', 'device', 'high', ['light', 'lamp', 'door']))).toBe(ACCESS)
    // stems: "Locks" is lock
    expect(topicOf(cap('gate.x', 'device', 'low', ['Locks']))).toBe('device.access')
  })

  it('keeps the vocabulary closed and bounded', () => {
    expect(TOPICS.size).toBe(3 * 12 * 2)
    const random = fc.sample(
      fc.record({
        id: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/),
        kind: fc.constantFrom('script' as const, 'device' as const, 'sensor' as const),
        risk: fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
        tags: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 6 }),
      }),
      500,
    )
    for (const c of random) expect(TOPICS.has(topicOf(c))).toBe(true)
  })
})

describe('local records', () => {
  it('decays outcomes by the half-life, in memory and across a reload', async () => {
    const db = openDatabase(':memory:')
    const records = new LocalRecords(db, { halfLife: HOUR })
    const t0 = 1_000_000
    for (let i = 0; i < 8; i++) records.add('p', CLIMATE, 'success', t0)
    records.add('p', CLIMATE, 'timeout', t0)
    expect(records.localTrust('p', CLIMATE, t0)).toBeCloseTo(8 - 0.5, 9)
    expect(records.localTrust('p', CLIMATE, t0 + HOUR)).toBeCloseTo((8 - 0.5) / 2, 9)
    expect(records.localTrust('p', CLIMATE, t0 + 2 * HOUR)).toBeCloseTo((8 - 0.5) / 4, 9)
    records.flush()
    const again = new LocalRecords(db, { halfLife: HOUR })
    again.load()
    expect(again.localTrust('p', CLIMATE, t0 + HOUR)).toBeCloseTo((8 - 0.5) / 2, 9)
    expect(again.counts('p', CLIMATE, t0)!.success.count).toBe(8)
    db.close()
  })

  it('weighs wrong answers, canary failures and invalid evidence more than timeouts', () => {
    const records = new LocalRecords(openDatabase(':memory:'))
    for (const kind of ['timeout', 'wrong_answer', 'canary_failure', 'invalid_evidence'] as const) {
      for (let i = 0; i < 4; i++) records.add(kind, CLIMATE, 'success', 0)
      records.add(kind, CLIMATE, kind, 0)
    }
    expect(records.localTrust('timeout', CLIMATE, 0)).toBe(3.5)
    for (const kind of ['wrong_answer', 'canary_failure', 'invalid_evidence'])
      expect(records.localTrust(kind, CLIMATE, 0)).toBe(0)
  })

  it('charges per-peer outcomes against every topic', () => {
    const records = new LocalRecords(openDatabase(':memory:'))
    for (let i = 0; i < 3; i++) records.add('p', CLIMATE, 'success', 0)
    for (let i = 0; i < 3; i++) records.add('p', ACCESS, 'success', 0)
    records.add('p', PEER_TOPIC, 'invalid_descriptor', 0)
    expect(records.localTrust('p', CLIMATE, 0)).toBe(1)
    expect(records.localTrust('p', ACCESS, 0)).toBe(1)
    expect(records.topics()).toEqual(new Set([CLIMATE, ACCESS]))
  })

  it('keeps at most maxPeers peers, forgetting the least recently seen, in the table too', () => {
    const db = openDatabase(':memory:')
    const records = new LocalRecords(db, { maxPeers: 16 })
    for (let i = 0; i < 20; i++) records.add(`p${i}`, CLIMATE, 'success', i)
    records.add('p0', CLIMATE, 'success', 100) // p0 seen again: it stays, p1 to p4 go
    records.add('p20', CLIMATE, 'success', 101)
    expect(records.size).toBe(16)
    records.flush()
    const rows = db.prepare('SELECT DISTINCT peer FROM reputation').all() as { peer: string }[]
    const kept = new Set(rows.map((r) => r.peer))
    expect(kept.size).toBe(16)
    for (const gone of ['p1', 'p2', 'p3', 'p4', 'p5']) expect(kept.has(gone)).toBe(false)
    expect(kept.has('p0')).toBe(true)
    expect(kept.has('p20')).toBe(true)
    db.close()
  })

  it('batches writes: nothing reaches the table before the group commit', () => {
    const db = openDatabase(':memory:')
    const records = new LocalRecords(db)
    for (let i = 0; i < 100; i++) records.add('p', CLIMATE, 'success', i)
    const count = () => (db.prepare('SELECT count(*) AS n FROM reputation').get() as { n: number }).n
    expect(count()).toBe(0)
    records.flush()
    expect(count()).toBe(1)
    db.close()
  })
})

describe('reputation', () => {
  it('starts a newcomer low but not at zero, and raises it through verified work', async () => {
    const { rep } = await setup()
    expect(rep.trust(peer('honest'), CLIMATE)).toBe(REPUTATION_DEFAULTS.newcomer)
    for (let i = 0; i < 5; i++) rep.record(peer('honest'), CLIMATE, 'success')
    rep.recompute()
    expect(rep.trust(peer('honest'), CLIMATE)).toBeGreaterThan(0.5)
    expect(rep.trust(peer('me'), ACCESS)).toBe(1)
    await rep.stop()
  })

  it('does not carry trust across topics (cross-topic disguise)', async () => {
    const { rep } = await setup()
    const d = peer('d')
    for (let i = 0; i < 30; i++) rep.record(d, CLIMATE, 'success')
    rep.record(d, ACCESS, 'wrong_answer')
    // the household vouches for d on climate too: still nothing on access
    rep.receive(forge('home', opinion('home', [['d', 0.9]])), peer('home'))
    rep.recompute()
    expect(rep.trust(d, CLIMATE)).toBeGreaterThan(0.9)
    expect(rep.trust(d, ACCESS)).toBeLessThan(REPUTATION_DEFAULTS.newcomer)
    expect(rep.trust(d, 'device.lighting')).toBe(REPUTATION_DEFAULTS.newcomer)
    const explained = rep.explain(d)
    expect(explained.topics.map((t) => t.topic)).toEqual([ACCESS, CLIMATE])
    expect(explained.topics[0]!.counts!.wrong_answer.count).toBe(1)
    await rep.stop()
  })

  it('gives a Sybil group that rates itself highly no trust without pre-trusted vouching', async () => {
    const { rep } = await setup()
    for (let i = 0; i < 5; i++) rep.record(peer('honest'), CLIMATE, 'success')
    const sybils = ['s1', 's2', 's3', 's4']
    for (const s of sybils) {
      const others = sybils.filter((o) => o !== s).map((o) => [o, 1 / 3] as [string, number])
      expect(rep.receive(forge(s, opinion(s, others)), peer(s)).ok).toBe(true)
    }
    rep.recompute()
    for (const s of sybils) {
      expect(rep.trust(peer(s), CLIMATE)).toBe(REPUTATION_DEFAULTS.newcomer)
      expect(rep.explain(peer(s)).topics.find((t) => t.topic === CLIMATE)!.global).toBe(0)
    }
    expect(rep.trust(peer('honest'), CLIMATE)).toBeGreaterThan(0.5)

    // once the household vouches for one of them, trust flows in (and through the group)
    rep.receive(forge('home', opinion('home', [['s1', 0.5]])), peer('home'))
    rep.recompute()
    expect(rep.trust(peer('s1'), CLIMATE)).toBeGreaterThan(REPUTATION_DEFAULTS.newcomer)
    expect(rep.explain(peer('s2')).topics.find((t) => t.topic === CLIMATE)!.global).toBeGreaterThan(0)
    await rep.stop()
  })

  it('lets its own verified failures outweigh others vouching', async () => {
    const { rep } = await setup()
    const d = peer('d')
    rep.receive(forge('home', opinion('home', [['d', 0.9]])), peer('home'))
    rep.recompute()
    const vouched = rep.trust(d, CLIMATE)
    expect(vouched).toBeGreaterThan(0.5)
    rep.record(d, CLIMATE, 'canary_failure')
    rep.recompute()
    expect(rep.trust(d, CLIMATE)).toBeLessThan(vouched / 4)
    await rep.stop()
  })

  it('counts a peer as caught where it failed more than it served, and everywhere once it lied', async () => {
    const { rep } = await setup()
    const d = peer('d')
    rep.record(d, CLIMATE, 'success')
    rep.record(d, CLIMATE, 'timeout')
    expect(rep.caught(d, CLIMATE)).toBe(false)
    rep.record(d, CLIMATE, 'timeout')
    rep.record(d, CLIMATE, 'timeout')
    expect(rep.caught(d, CLIMATE)).toBe(true)
    // mere timeouts on one topic are not held against another
    expect(rep.caught(d, ACCESS)).toBe(false)
    const s1 = peer('s1')
    rep.record(s1, CLIMATE, 'success')
    rep.record(s1, CLIMATE, 'success')
    rep.record(s1, 'script.compute', 'canary_failure')
    // a lie is slashed on every topic for ordering, while trust stays per topic
    expect(rep.caught(s1, CLIMATE)).toBe(true)
    expect(rep.caught(s1, ACCESS)).toBe(true)
    rep.recompute()
    expect(rep.trust(s1, CLIMATE)).toBeGreaterThan(REPUTATION_DEFAULTS.newcomer)
    await rep.stop()
  })

  it('persists records across a restart', async () => {
    const db = openDatabase(':memory:')
    const first = await setup({ db })
    for (let i = 0; i < 4; i++) first.rep.record(peer('honest'), CLIMATE, 'success')
    await first.rep.stop()
    const second = await setup({ db })
    expect(second.rep.explain(peer('honest')).topics[0]!.counts!.success.count).toBe(4)
    expect(second.rep.trust(peer('honest'), CLIMATE)).toBeGreaterThan(0.5)
    await second.rep.stop()
  })

  it('exchanges opinions between two services', async () => {
    const { rep } = await setup()
    for (let i = 0; i < 3; i++) rep.record(peer('honest'), CLIMATE, 'success')
    const bytes = rep.opinion(CLIMATE)!
    const decoded = decodeOpinion(bytes, createVerifier())
    expect(decoded.from).toBe(peer('me'))
    // 3 successes, confidence 2: 3 / (3 + 2)
    expect(decoded.entries).toEqual([{ peer: peer('honest'), value: 0.6 }])
    expect(rep.opinion('device.media')).toBeUndefined()
    // a later opinion has a higher seq
    expect(decodeOpinion(rep.opinion(CLIMATE)!, createVerifier()).seq).toBe(decoded.seq + 1)
    await rep.stop()
  })

  it('names the peers it caught lying in its opinion, and heeds such reports from the household only', async () => {
    const { rep } = await setup()
    rep.record(peer('honest'), CLIMATE, 'success')
    rep.record(peer('s1'), CLIMATE, 'canary_failure')
    const decoded = decodeOpinion(rep.opinion(CLIMATE)!, createVerifier())
    expect(decoded.caught).toEqual([peer('s1')])
    expect(decoded.entries.map((e) => e.peer)).toEqual([peer('honest')])
    // an opinion with nothing caught encodes without the field, as before it existed
    rep.record(peer('honest'), 'script.compute', 'success')
    expect(decodeOpinion(rep.opinion('script.compute')!, createVerifier())).not.toHaveProperty('caught')

    const other = await setup()
    expect(other.rep.caught(peer('s2'), ACCESS)).toBe(false)
    // d is known but not pre-trusted: its report does not move s2
    const fromD = forge('d', opinion('d', [['honest', 0.5]], { caught: [peer('s2')] }))
    expect(other.rep.receive(fromD, peer('d')).ok).toBe(true)
    expect(other.rep.caught(peer('s2'), ACCESS)).toBe(false)
    // the household's report does, on every topic, while trust stays what EigenTrust says
    const fromHome = forge('home', opinion('home', [['honest', 0.5]], { caught: [peer('s2')] }))
    expect(other.rep.receive(fromHome, peer('home')).ok).toBe(true)
    expect(other.rep.caught(peer('s2'), ACCESS)).toBe(true)
    expect(other.rep.caught(peer('honest'), ACCESS)).toBe(false)
    // and ages out with the opinion
    other.clock.now += 3 * HOUR
    expect(other.rep.caught(peer('s2'), ACCESS)).toBe(false)
    await rep.stop()
    await other.rep.stop()
  })

  it('ranks a trusted provider above an equal untrusted one in the matcher', async () => {
    const { rep } = await setup()
    for (let i = 0; i < 5; i++) rep.record(peer('honest'), CLIMATE, 'success')
    rep.recompute()
    const index = new CapabilityIndex({ trustOf: rep.trustOf })
    const temp = cap('hall.temperature', 'sensor', 'low', ['temperature'])
    for (const name of ['d', 'honest']) {
      const descriptor = {
        peer: peer(name),
        caps: [temp],
        state: { load: 0, memFree: 1, queue: 0 },
        attest: { tpm: false },
      }
      index.put(peer(name), descriptor as unknown as Descriptor, { local: false })
    }
    const [best, second] = index.query({ text: 'hall temperature' })
    expect(best!.peer).toBe(peer('honest'))
    expect(best!.parts.trust).toBeCloseTo(trustFactor(rep.trust(peer('honest'), CLIMATE)), 12)
    expect(second!.parts.trust).toBeCloseTo(trustFactor(REPUTATION_DEFAULTS.newcomer), 12)
    await rep.stop()
  })

  it('keeps trust right while opinions churn through many peer ids', async () => {
    const { rep, clock } = await setup({ config: { maxPeers: 16 } })
    for (let seq = 1; seq <= 12; seq++) {
      clock.now += 60_000
      const entries = Array.from({ length: 60 }, (_, k) => ({ peer: `churn-${seq}-${k}`, value: 1 / 64 }))
      entries.push({ peer: peer('honest'), value: 0.05 })
      const body = { ...opinion('home', [], { seq }, clock.now), entries }
      expect(rep.receive(forge('home', body), peer('home')).ok).toBe(true)
      rep.recompute()
    }
    expect(rep.trust(peer('honest'), CLIMATE)).toBeGreaterThan(REPUTATION_DEFAULTS.newcomer)
    expect(rep.trust('churn-12-0', CLIMATE)).toBeGreaterThan(REPUTATION_DEFAULTS.newcomer)
    // peers only the replaced opinions named are out of the matrix, and out of the id table
    expect(rep.explain('churn-1-0').topics).toEqual([])
    expect(rep.counters.idResets).toBeGreaterThan(0)
    await rep.stop()
  })

  it('has schema defaults equal to REPUTATION_DEFAULTS', () => {
    expect(configSchema.parse({}).trust.reputation).toEqual(REPUTATION_DEFAULTS)
  })
})

describe('opinion rejection', () => {
  const cases: [string, (rep: Reputation) => [Uint8Array, string], string, boolean][] = [
    [
      'unknown sender',
      () => [forge('stranger', opinion('stranger', [['honest', 0.5]])), peer('stranger')],
      'unknown_sender',
      false,
    ],
    ['value above 1', () => [forge('d', opinion('d', [['honest', 1.5]])), peer('d')], 'out_of_range', true],
    ['negative value', () => [forge('d', opinion('d', [['honest', -0.1]])), peer('d')], 'out_of_range', true],
    [
      'values summing above 1',
      () => [
        forge(
          'd',
          opinion('d', [
            ['honest', 0.6],
            ['s1', 0.6],
          ]),
        ),
        peer('d'),
      ],
      'out_of_range',
      true,
    ],
    [
      `more than ${MAX_OPINION_ENTRIES} entries`,
      () => {
        const entries = Array.from({ length: MAX_OPINION_ENTRIES + 1 }, (_, i) => ({
          peer: `p${i}`,
          value: 0.01,
        }))
        return [forge('d', { ...opinion('d', []), entries }), peer('d')]
      },
      'oversize',
      true,
    ],
    ['more than 8 KiB', () => [new Uint8Array(MAX_OPINION_BYTES + 1), peer('d')], 'oversize', true],
    [
      'a bad signature',
      () => [forge('d', opinion('d', [['honest', 0.5]]), true), peer('d')],
      'bad_signature',
      true,
    ],
    [
      'a signature by another key',
      () => [forge('s1', opinion('d', [['honest', 0.5]])), peer('d')],
      'bad_signature',
      true,
    ],
    [
      'an opinion of another peer',
      () => [forge('s1', opinion('s1', [['honest', 0.5]])), peer('d')],
      'foreign',
      true,
    ],
    [
      'an unknown topic',
      () => [forge('d', opinion('d', [['honest', 0.5]], { topic: 'sensor.weather' })), peer('d')],
      'unknown_topic',
      true,
    ],
    [
      'a stale opinion',
      () => [forge('d', opinion('d', [['honest', 0.5]], {}, 1_700_000_000_000 - 3 * HOUR)), peer('d')],
      'stale',
      false,
    ],
    ['not msgpack', () => [new Uint8Array([0xc1, 0xc1]), peer('d')], 'malformed', true],
    [
      'a caught list naming the sender',
      () => [forge('d', opinion('d', [], { caught: [peer('d')] })), peer('d')],
      'malformed',
      true,
    ],
    [
      'a caught list naming a peer twice',
      () => [forge('d', opinion('d', [], { caught: [peer('s1'), peer('s1')] })), peer('d')],
      'malformed',
      true,
    ],
    [
      'an empty caught list',
      () => [forge('d', opinion('d', [], { caught: [] })), peer('d')],
      'malformed',
      true,
    ],
    [
      `a caught list of more than ${MAX_OPINION_ENTRIES} peers`,
      () => [
        forge(
          'd',
          opinion('d', [], { caught: Array.from({ length: MAX_OPINION_ENTRIES + 1 }, (_, i) => `p${i}`) }),
        ),
        peer('d'),
      ],
      'oversize',
      true,
    ],
    [
      'a peer rated twice',
      () => [
        forge(
          'd',
          opinion('d', [
            ['honest', 0.2],
            ['honest', 0.2],
          ]),
        ),
        peer('d'),
      ],
      'malformed',
      true,
    ],
  ]

  for (const [what, make, reason, charged] of cases) {
    it(`rejects ${what} as ${reason}${charged ? ' and counts it against the sender' : ''}`, async () => {
      const { rep } = await setup()
      const [bytes, sender] = make(rep)
      const result = rep.receive(bytes, sender)
      expect(result.ok).toBe(false)
      if (result.ok) return
      expect(result.reason).toBe(reason)
      expect(result.message.length).toBeGreaterThan(0)
      expect(rep.counters.opinions.rejected[result.reason]).toBe(1)
      const charges = rep.explain(sender).topics.find((t) => t.topic === PEER_TOPIC)?.counts
        ?.invalid_opinion.count
      expect(charges ?? 0).toBe(charged ? 1 : 0)
      await rep.stop()
    })
  }

  it('rejects a replayed opinion and an older seq, without charging anyone', async () => {
    const { rep } = await setup()
    const second = forge('d', opinion('d', [['honest', 0.5]], { seq: 2 }))
    expect(rep.receive(second, peer('d')).ok).toBe(true)
    for (const bytes of [second, forge('d', opinion('d', [['honest', 0.1]], { seq: 1 }))]) {
      const result = rep.receive(bytes, peer('d'))
      expect(result).toMatchObject({ ok: false, reason: 'replayed', charge: false })
    }
    expect(rep.counters.opinions.rejected.replayed).toBe(2)
    expect(rep.explain(peer('d')).topics.some((t) => t.topic === PEER_TOPIC)).toBe(false)
    await rep.stop()
  })

  it('rate-limits a sender that floods', async () => {
    const { rep } = await setup()
    let limited = 0
    for (let seq = 1; seq <= 100; seq++) {
      const result = rep.receive(forge('d', opinion('d', [['honest', 0.5]], { seq })), peer('d'))
      if (!result.ok && result.reason === 'rate_limited') limited++
    }
    expect(limited).toBeGreaterThan(50)
    await rep.stop()
  })
})

describe('opinion book', () => {
  it('when full, drops the least trusted sender’s opinion for a more trusted one, and refuses the rest', () => {
    const trust: Record<string, number> = {
      [peer('home')]: 1,
      [peer('d')]: 0.5,
      [peer('s1')]: 0.05,
      [peer('s2')]: 0.05,
    }
    const book = new OpinionBook(
      {
        self: peer('me'),
        ids: new PeerIds(),
        verify: createVerifier(),
        known: () => true,
        trustOf: (p) => trust[p] ?? 0,
      },
      { maxOpinions: 2 },
    )
    const now = 1_700_000_000_000
    const take = (from: string) => book.take(forge(from, opinion(from, [['honest', 0.5]])), peer(from), now)
    expect(take('s1').ok).toBe(true)
    expect(take('d').ok).toBe(true)
    expect(take('s2')).toMatchObject({ ok: false, reason: 'full', charge: false })
    expect(take('home').ok).toBe(true)
    expect(book.size).toBe(2)
    expect(book.opinionOf(peer('s1'), CLIMATE, peer('honest'))).toBeUndefined()
    expect(book.opinionOf(peer('home'), CLIMATE, peer('honest'))).toBe(0.5)
  })
})

describe('opinion decoder', () => {
  const verify = createVerifier()
  const book = () =>
    new OpinionBook(
      { self: 'me', ids: new PeerIds(), verify, known: () => true, trustOf: () => 0 },
      { maxOpinions: 8 },
    )

  it('never crashes on random bytes: it throws an OpinionError or returns an opinion', () => {
    const b = book()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeOpinion(bytes, verify)
        } catch (err) {
          expect(err).toBeInstanceOf(OpinionError)
        }
        expect(() => b.take(bytes, 'sender', 0)).not.toThrow()
      }),
      { numRuns: 2000 },
    )
  })

  it('never crashes on random msgpack values shaped almost like an opinion', () => {
    const value = fc.record({
      from: fc.oneof(fc.string(), fc.integer()),
      topic: fc.oneof(fc.constantFrom(CLIMATE, ACCESS), fc.string()),
      seq: fc.oneof(fc.integer(), fc.double(), fc.string()),
      at: fc.oneof(fc.nat(), fc.double()),
      entries: fc.array(fc.record({ peer: fc.string(), value: fc.double() }), { maxLength: 70 }),
      sig: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.anything()),
    })
    fc.assert(
      fc.property(fc.oneof(value, fc.anything()), (v) => {
        try {
          decodeOpinion(canonicalEncode(v), verify)
        } catch (err) {
          expect(err).toBeInstanceOf(OpinionError)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('round-trips what signOpinion makes', () => {
    const body = opinion('d', [
      ['honest', 0.25],
      ['s1', 0.5],
    ])
    expect(decodeOpinion(signOpinion(body, ids.d!.sign), verify)).toEqual(body)
  })
})
