/**
 * Clock skew (issue 10): peers whose clocks are off by ±5 minutes, on real libp2p over TCP against a real
 * node. Each raw host below stands for a peer with a wrong clock and dates one kind of message by it; every
 * message is accepted or refused exactly by the rule in the code, and every refusal is counted under its
 * reason. ±10 s is the in-window control. The default `discovery.maxClockSkew` (30 s) is in force.
 *
 * | message      | field         | rule                                 | +5 min           | −5 min       |
 * | ------------ | ------------- | ------------------------------------ | ---------------- | ------------ |
 * | descriptor   | iat           | refused if iat > now + 30 s ¹        | clock_skew       | accepted ¹   |
 * | announce     | at            | ignored if abs(now − at) > 30 s      | clock_skew       | clock_skew   |
 * | whole node   | iat and at    | both rules above ²                   | never held       | held 1 ttl ² |
 * | opinion      | at            | refused if at > now + 30 s or        | stale ³          | accepted     |
 * |              |               | at < now − 2 h                       |                  |              |
 * | task request | deadline, exp | expired if either ≤ now,             | expiry_too_far ⁴ | expired ⁴    |
 * |              |               | expiry_too_far if exp > now + 5 min  |                  |              |
 * | receipt      | start, end    | clock-skew if start > now + 30 s,    | clock-skew ⁵     | accepted     |
 * |              |               | stale if end < now − 15 min          |                  |              |
 *
 * The rules: discovery/store.ts and discovery/announcer.ts (`discovery.maxClockSkew`),
 * trust/reputation/book.ts (OPINION_MAX_SKEW_MS, OPINION_MAX_AGE_MS), execution/task-server.ts
 * (MAX_REQUEST_WINDOW_MS) and execution/contracts.ts, trust/evidence/verify.ts (DEFAULT_MAX_CLOCK_SKEW_MS,
 * DEFAULT_MAX_RECEIPT_AGE_MS).
 *
 * ¹ A body lives from the notice that announced it (heard = max(iat, notice at)), so a past iat alone never
 *   refuses one. Counted in the store's `rejected.clock_skew`; notices in the announcer's `noticesRejected`.
 * ² The body pulled when a peer joins is stamped with the receiver's clock and taken; its heartbeats carry
 *   the sender's clock and are all ignored. A node 5 min slow is held for one ttl after it (re)joins.
 * ³ Counted in the reputation's `opinions.rejected.stale`, charged to nobody.
 * ⁴ Counted in the task server's `rejected` (the node's own server keeps its counters to itself, so a bare
 *   `TaskServer` shows them). After it the node's contract denies `deadline-too-long` when deadline − now >
 *   `execution.maxTaskTimeout` (60 s). With a timeout T, a requester Δ off whose clock the node does not
 *   know is served only when 10 ms ≤ Δ + T ≤ 60 s: 10 s slow expires every default (10 s) task. Once a
 *   notice from the requester itself has shown its offset (discovery/clock-offset.ts), the server reads
 *   deadline and exp on the node's clock, and all of these are served.
 * ⁵ A failed evidence check, recorded against the provider as an `error`, not as `invalid_evidence`.
 */
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { GossipSub } from '@libp2p/gossipsub'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KithLibp2p } from '../../src/connectivity/host.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { type SignedDescriptor, signDescriptor } from '../../src/discovery/descriptor.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import {
  ANNOUNCE_TOPIC,
  decodePullRequest,
  DESCRIPTOR_PROTOCOL,
  encodeAnnounce,
} from '../../src/discovery/wire.ts'
import { TaskServer } from '../../src/execution/task-server.ts'
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  signRequest,
  TASK_PROTOCOL,
  type TaskReply,
} from '../../src/execution/task-wire.ts'
import type { KithNode } from '../../src/node/node.ts'
import { encodeEvidence, hashValue, type Receipt, signReceipt } from '../../src/trust/evidence/index.ts'
import { OPINION_GOSSIP_TOPIC } from '../../src/trust/reputation/constants.ts'
import { signOpinion } from '../../src/trust/reputation/opinion.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { rawHost } from '../attackers.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

const MIN = 60_000
const SKEWS = { '+5 min': 5 * MIN, '−5 min': -5 * MIN, '+10 s': 10_000, '−10 s': -10_000 } as const
type Skew = keyof typeof SKEWS

/** A peer with a wrong clock: a raw host, its identity, and the bodies it serves to pulls. */
interface Peer {
  id: Identity
  host: KithLibp2p
  peer: string
  /** digest hex → wire bytes, for pulls that name a digest */
  bodies: Map<string, Uint8Array>
  /** served to a pull without a digest (the one a node makes when the peer joins) */
  current?: SignedDescriptor
}

let root: string
let cleanup: () => Promise<void>
let honest: KithNode
const peers: Peer[] = []
let opinionist: Peer

async function peer(name: string): Promise<Peer> {
  const id = await createIdentity(join(root, `${name}.key`))
  const host = await rawHost(id)
  const p: Peer = { id, host, peer: id.peerId.toString(), bodies: new Map() }
  await host.handle(DESCRIPTOR_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    const { digest } = decodePullRequest((await lp.read()).subarray())
    const body = digest != null ? p.bodies.get(Buffer.from(digest).toString('hex')) : p.current?.bytes
    await lp.write(body ?? new Uint8Array(0))
    await stream.close()
  })
  peers.push(p)
  return p
}

/** Connects `p` to the honest node and waits until gossip on `topic` from `p` reaches it. */
async function connect(p: Peer, topic: string): Promise<void> {
  const pubsub = p.host.services.pubsub as GossipSub
  pubsub.subscribe(topic)
  await p.host.dial(honest.host.getMultiaddrs()[0]!)
  const honestId = honest.host.peerId.toString()
  await waitFor(`${topic} between the peer and the node`, () =>
    pubsub.getSubscribers(topic).some((s) => s.toString() === honestId),
  )
}

function body(
  p: Peer,
  seq: number,
  iat: number,
  ttl: number,
  caps: SignedDescriptor['descriptor']['caps'] = [],
) {
  const signed = signDescriptor(
    {
      v: 1,
      peer: p.peer,
      seq,
      iat,
      ttl,
      addrs: p.host.getMultiaddrs().map(String),
      state: { load: 0, memFree: 1e9, queue: 0 },
      caps,
      attest: { tpm: false },
    },
    p.id.sign,
  )
  p.bodies.set(Buffer.from(signed.digest).toString('hex'), signed.bytes)
  return signed
}

const publish = (p: Peer, topic: string, data: Uint8Array) =>
  (p.host.services.pubsub as GossipSub).publish(topic, data)
const store = () => honest.discovery.store
// these peers speak descriptor v1: the v1 announcer of a v2 node takes their notices
const gossip = () => (honest.discovery.legacy ?? honest.discovery.announcer).counters

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-skew-'))
  opinionist = await peer('opinionist')
  const dir = join(root, 'honest')
  await mkdir(dir, { recursive: true })
  await writeText(dir, 'echo.js', 'function run(input) { return { echo: input } }\n')
  honest = await startTestNode(dir, {
    yaml: [
      'mqtt: { broker: off }',
      'capabilities:',
      '  - { id: echo, kind: script, title: Echo the input, script: echo.js }',
      // a household node: its opinions are heard without a live descriptor
      `trust: { pretrusted: [${opinionist.peer}] }`,
    ],
  })
})

afterAll(async () => {
  for (const p of peers) await Promise.resolve(p.host.stop()).catch(() => undefined)
  await honest?.stop()
  await cleanup?.()
})

describe('descriptor iat and announce notice at', () => {
  let p: Peer
  let seq = 0
  beforeAll(async () => {
    p = await peer('announcer')
    await connect(p, ANNOUNCE_TOPIC)
  })

  /** Announces a new body dated iat = now + `iatSkew`, by a notice dated at = now + `atSkew`. */
  const offer = async (iatSkew: number, atSkew: number) => {
    const signed = body(p, ++seq, Date.now() + iatSkew, 60_000)
    await publish(
      p,
      ANNOUNCE_TOPIC,
      encodeAnnounce({ peer: p.peer, seq, digest: signed.digest, at: Date.now() + atSkew }),
    )
    return seq
  }
  const held = (s: number) => store().get(p.peer)?.descriptor.seq === s

  for (const skew of ['−10 s', '+10 s', '−5 min'] as Skew[]) {
    it(`accepts a descriptor whose iat is ${skew} off, announced by an in-window notice`, async () => {
      const s = await offer(SKEWS[skew], 0)
      await waitFor(`the body dated ${skew} to be held`, () => held(s))
      // its life runs from the notice, not from iat: a full ttl from now
      expect(store().get(p.peer)!.expiresAt - Date.now()).toBeGreaterThan(50_000)
    })
  }

  it('refuses a descriptor whose iat is 5 min ahead, counted as clock_skew', async () => {
    const before = store().counters.rejected.clock_skew
    const s = await offer(SKEWS['+5 min'], 0)
    await waitFor('the refusal', () => store().counters.rejected.clock_skew === before + 1)
    expect(held(s)).toBe(false)
    expect(held(s - 1)).toBe(true)
  })

  for (const skew of ['−10 s', '+10 s'] as Skew[]) {
    it(`pulls and holds a body whose notice is dated ${skew}`, async () => {
      const pulls = gossip().pulls
      const s = await offer(0, SKEWS[skew])
      await waitFor(`the body announced ${skew} to be held`, () => held(s))
      expect(gossip().pulls).toBe(pulls + 1)
    })
  }

  for (const skew of ['+5 min', '−5 min'] as Skew[]) {
    it(`ignores a notice dated ${skew}, counted as clock_skew, and pulls nothing`, async () => {
      const before = gossip().noticesRejected.clock_skew
      const pulls = gossip().pulls
      const s = await offer(0, SKEWS[skew])
      await waitFor('the notice to be counted', () => gossip().noticesRejected.clock_skew === before + 1)
      expect(gossip().pulls).toBe(pulls)
      expect(held(s)).toBe(false)
    })
  }
})

describe('a whole node 5 min off: its body and its heartbeats dated by its clock', () => {
  const TTL = 3_000

  /** Joins as a peer `skew` off, heartbeating every ttl/3 by its clock; returns the stopper. */
  const joinSkewed = async (p: Peer, skew: number) => {
    p.current = body(p, 1, Date.now() + skew, TTL)
    const { digest } = p.current
    const beat = setInterval(() => {
      void publish(
        p,
        ANNOUNCE_TOPIC,
        encodeAnnounce({
          peer: p.peer,
          seq: 1,
          digest,
          at: Date.now() + skew,
          state: { load: 0, memFree: 1e9, queue: 0 },
        }),
      ).catch(() => undefined)
    }, TTL / 3)
    await connect(p, ANNOUNCE_TOPIC)
    return () => clearInterval(beat)
  }

  it('holds a node 5 min slow for one ttl after it joins, then loses it: every heartbeat is ignored', async () => {
    const p = await peer('slow')
    const skewedBefore = gossip().noticesRejected.clock_skew
    const expiredBefore = store().counters.expired
    const stop = await joinSkewed(p, SKEWS['−5 min'])
    try {
      // the body pulled on joining is stamped with this node's clock, so it is taken
      await waitFor('the slow node to be held', () => store().get(p.peer) != null, 5_000)
      const heldAt = Date.now()
      await waitFor('the slow node to expire', () => store().get(p.peer) == null, TTL * 3)
      const visible = Date.now() - heldAt
      console.log(`clock-skew: a node 5 min slow was held ${visible} ms (ttl ${TTL}), then expired`)
      // no heartbeat extended it: one would have kept it another ttl
      expect(visible).toBeLessThan(2 * TTL)
      // the store hides an entry once its time is up; its sweep counts it a moment later
      await waitFor('the expiry to be counted', () => store().counters.expired > expiredBefore)
      // and it stays gone, heartbeating all along: three more heartbeats arrive, are ignored, and change nothing
      const skewedAtExpiry = gossip().noticesRejected.clock_skew
      await waitFor(
        'three more heartbeats to be ignored',
        () => gossip().noticesRejected.clock_skew >= skewedAtExpiry + 3,
        TTL * 3,
      )
      expect(store().get(p.peer)).toBeUndefined()
      expect(gossip().noticesRejected.clock_skew - skewedBefore).toBeGreaterThanOrEqual(3)
      // not silently: the node's status names the peer and how far off its clock is
      expect(honest.status().clock?.outliers).toContainEqual({
        peer: p.peer,
        offsetMs: expect.closeTo(-300_000, -4),
      })
    } finally {
      stop()
    }
  })

  it('never holds a node 5 min fast: its body is refused as clock_skew, its heartbeats ignored', async () => {
    const p = await peer('fast')
    const refusedBefore = store().counters.rejected.clock_skew
    const skewedBefore = gossip().noticesRejected.clock_skew
    const stop = await joinSkewed(p, SKEWS['+5 min'])
    try {
      await waitFor(
        'the body to be refused',
        () => store().counters.rejected.clock_skew > refusedBefore,
        5_000,
      )
      await waitFor(
        'its heartbeats to be ignored',
        () => gossip().noticesRejected.clock_skew >= skewedBefore + 2,
      )
      expect(store().get(p.peer)).toBeUndefined()
      expect(honest.status().clock?.outliers).toContainEqual({
        peer: p.peer,
        offsetMs: expect.closeTo(300_000, -4),
      })
    } finally {
      stop()
    }
  })
})

describe('opinion at', () => {
  let seq = 0
  const topic = 'script.compute'
  beforeAll(() => connect(opinionist, OPINION_GOSSIP_TOPIC))

  /** Gossips an opinion dated now + `skew` that rates the node `value`; resolves with that value. */
  const opine = async (skew: number, value: number) => {
    const bytes = signOpinion(
      {
        from: opinionist.peer,
        topic,
        seq: ++seq,
        at: Date.now() + skew,
        entries: [{ peer: honest.host.peerId.toString(), value }],
      },
      opinionist.id.sign,
    )
    await publish(opinionist, OPINION_GOSSIP_TOPIC, bytes)
    return value
  }
  const heldValue = () =>
    honest.reputation.book.opinionOf(opinionist.peer, topic, honest.host.peerId.toString())

  for (const [skew, value] of [
    ['−10 s', 0.1],
    ['+10 s', 0.2],
    ['−5 min', 0.3],
  ] as [Skew, number][]) {
    it(`accepts an opinion dated ${skew}`, async () => {
      await opine(SKEWS[skew], value)
      await waitFor(`the opinion dated ${skew} to be held`, () => heldValue() === value)
    })
  }

  it('refuses an opinion dated 5 min ahead as stale, charged to nobody', async () => {
    const { rejected } = honest.reputation.counters.opinions
    const before = rejected.stale
    const invalid = honest.reputation.counters.recorded.invalid_opinion
    await opine(SKEWS['+5 min'], 0.4)
    await waitFor('the refusal', () => rejected.stale === before + 1)
    expect(heldValue()).toBe(0.3)
    expect(honest.reputation.counters.recorded.invalid_opinion).toBe(invalid)
  })
})

/** Sends one request from `from` whose deadline it set by its clock, `skew` off, `timeoutMs` ahead. */
async function sendTask(from: Peer, to: KithLibp2p, skew: number, timeoutMs: number): Promise<TaskReply> {
  const stream = await from.host.dialProtocol(to.peerId, TASK_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  const req = signRequest(
    {
      id: randomUUID(),
      from: from.peer,
      cap: 'echo',
      input: { x: 1 },
      deadline: Date.now() + skew + timeoutMs,
      evidence: 'none',
    },
    from.id.sign,
  )
  await lp.write(encodeFrame(req))
  const reply = decodeFrame((await lp.read()).subarray()) as TaskReply
  await stream.close()
  return reply
}

describe('task request deadline and exp', () => {
  let requester: Peer
  let provider: Peer
  let server: TaskServer
  const verify = createVerifier()

  beforeAll(async () => {
    requester = await peer('requester')
    provider = await peer('provider')
    // a bare task server: the node's own keeps its counters to itself
    server = new TaskServer(
      provider.host,
      async () => ({ status: 'ok', output: 'done' }),
      verify,
      silentLogger(),
    )
    await server.start()
    await requester.host.dial(honest.host.getMultiaddrs()[0]!)
    await requester.host.dial(provider.host.getMultiaddrs()[0]!)
  })
  afterAll(() => server.stop())

  const send = (to: KithLibp2p, skew: number, timeoutMs: number) => sendTask(requester, to, skew, timeoutMs)

  const cases: Array<{ skew: Skew; timeoutMs: number; status: string; code?: string }> = [
    { skew: '+5 min', timeoutMs: 30_000, status: 'denied', code: 'expiry_too_far' },
    { skew: '−5 min', timeoutMs: 30_000, status: 'denied', code: 'expired' },
    { skew: '+10 s', timeoutMs: 30_000, status: 'ok' },
    { skew: '−10 s', timeoutMs: 30_000, status: 'ok' },
    // the default execution.taskTimeout: 10 s slow is enough to expire every such request on arrival
    { skew: '−10 s', timeoutMs: 10_000, status: 'denied', code: 'expired' },
  ]
  for (const { skew, timeoutMs, status, code } of cases) {
    const verdict = status === 'ok' ? 'serves' : `denies (${code})`
    it(`${verdict} a requester ${skew} off with a ${timeoutMs / 1000} s timeout`, async () => {
      const counted = server.counters.rejected[code ?? ''] ?? 0
      expect(await send(honest.host, SKEWS[skew], timeoutMs)).toMatchObject({
        status,
        ...(code != null ? { error: { code } } : { output: { echo: { x: 1 } } }),
      })
      const bare = await send(provider.host, SKEWS[skew], timeoutMs)
      expect(bare.status).toBe(status)
      if (code != null) expect(server.counters.rejected[code]).toBe(counted + 1)
    })
  }

  it('denies a requester 40 s fast with a 30 s timeout: past execution.maxTaskTimeout', async () => {
    const denied = () =>
      [...honest.execution.tasks.rows()].find((r) => r.direction === 'in' && r.status === 'denied')?.count ??
      0
    const before = denied()
    expect(await send(honest.host, 40_000, 30_000)).toMatchObject({
      status: 'denied',
      error: { code: 'deadline-too-long' },
    })
    expect(denied()).toBe(before + 1)
  })
})

describe('task request deadline and exp, from a requester whose clock the node knows', () => {
  let requester: Peer

  beforeAll(async () => {
    requester = await peer('known-clock')
    await connect(requester, ANNOUNCE_TOPIC)
  })

  /** Publishes a notice dated by a clock `skew` off and waits until the node has read its offset from it. */
  const tell = async (skew: number) => {
    const at = Date.now() + skew
    await publish(
      requester,
      ANNOUNCE_TOPIC,
      encodeAnnounce({
        peer: requester.peer,
        seq: 1,
        digest: new Uint8Array(32).fill(7),
        at,
        state: { load: 0, memFree: 1e9, queue: 0 },
      }),
    )
    await waitFor('the node to read the offset', () => {
      const offset = honest.discovery.clock.of(requester.peer)
      return offset !== undefined && Math.abs(offset - skew) < 1_000
    })
  }

  // the cases denied above: each time on the requester's clock, read back onto the node's
  const cases: Array<{ skew: Skew; timeoutMs: number }> = [
    { skew: '+5 min', timeoutMs: 30_000 },
    { skew: '−5 min', timeoutMs: 30_000 },
    { skew: '−10 s', timeoutMs: 10_000 },
  ]
  for (const { skew, timeoutMs } of cases) {
    it(`serves a requester ${skew} off with a ${timeoutMs / 1000} s timeout`, async () => {
      await tell(SKEWS[skew])
      expect(await sendTask(requester, honest.host, SKEWS[skew], timeoutMs)).toMatchObject({
        status: 'ok',
        output: { echo: { x: 1 } },
      })
    })
  }

  it('still denies a request past its deadline on the requester’s own clock', async () => {
    await tell(SKEWS['−10 s'])
    expect(await sendTask(requester, honest.host, SKEWS['−10 s'], -1_000)).toMatchObject({
      status: 'denied',
      error: { code: 'expired' },
    })
  })
})

describe('receipt start and end', () => {
  let provider: Peer
  let server: TaskServer
  /** how far off the provider's clock is when it dates its next receipt */
  let skew = 0

  beforeAll(async () => {
    provider = await peer('receipts')
    server = new TaskServer(
      provider.host,
      async (req) => {
        const output = { echo: req.input }
        const end = Date.now() + skew
        const receipt: Receipt = {
          task: req.id,
          cap: req.cap,
          codeHash: hashValue(req.cap),
          inputHash: hashValue(req.input ?? null),
          outputHash: hashValue(output),
          start: end - 5,
          end,
          provider: provider.peer,
        }
        const sig = signReceipt(receipt, provider.id.sign)
        return { status: 'ok', output, receipt: encodeEvidence({ receipt, sig, kind: 'software' }) }
      },
      createVerifier(),
      silentLogger(),
    )
    await server.start()
    // its descriptor dated by the real clock: this part is about the receipt alone
    provider.current = body(provider, 1, Date.now(), 600_000, [
      {
        id: 'skew-echo',
        title: 'Echo, with a receipt',
        description: '',
        tags: [],
        kind: 'script',
        risk: 'low',
        input: {},
        output: {},
      },
    ])
    await connect(provider, ANNOUNCE_TOPIC)
    await waitFor('the provider to be held', () => store().get(provider.peer) != null)
  })
  afterAll(() => server.stop())

  const delegate = (s: number) => {
    skew = s
    return honest.execution.delegate({
      target: { capability: 'skew-echo' },
      input: { n: s },
      tier: 3,
      provider: provider.peer,
      timeoutMs: 5_000,
    })
  }

  for (const s of ['−10 s', '+10 s', '−5 min'] as Skew[]) {
    it(`accepts a receipt dated ${s}`, async () => {
      const result = await delegate(SKEWS[s])
      expect(result.ok, JSON.stringify(result)).toBe(true)
      expect(result.checks).toContainEqual(
        expect.objectContaining({ name: 'evidence', result: 'pass', peer: provider.peer }),
      )
    })
  }

  it('refuses a receipt dated 5 min ahead (clock-skew), counted against the provider as an error, not a lie', async () => {
    const before = { ...honest.reputation.counters.recorded }
    const result = await delegate(SKEWS['+5 min'])
    expect(result.ok).toBe(false)
    expect(result.checks).toContainEqual(
      expect.objectContaining({
        name: 'evidence',
        result: 'fail',
        peer: provider.peer,
        reason: expect.stringMatching(/^clock-skew: /),
      }),
    )
    expect(result.attempts[0]).toMatchObject({ status: 'rejected', error: { code: 'evidence_failed' } })
    expect(honest.reputation.counters.recorded.error).toBe(before.error + 1)
    expect(honest.reputation.counters.recorded.invalid_evidence).toBe(before.invalid_evidence)
  })
})
