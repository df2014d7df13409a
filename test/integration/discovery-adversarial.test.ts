/**
 * A hostile peer on real libp2p over TCP: garbage and forged announces, announces for someone else, bodies
 * that do not match their digest, descriptors signed by the wrong key. Each is rejected and counted, the
 * sender is ignored after repeated strikes, and honest discovery keeps working.
 */
import { join } from 'node:path'
import type { GossipSub } from '@libp2p/gossipsub'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/index.ts'
import { createHost, type KithLibp2p } from '../../src/connectivity/host.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { signDescriptor } from '../../src/discovery/descriptor.ts'
import { ANNOUNCE_TOPIC, DESCRIPTOR_PROTOCOL, encodeAnnounce } from '../../src/discovery/wire.ts'
import { type KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

let root: string
let cleanup: () => Promise<void>
let honest: KithNode
let attacker: KithLibp2p
let attackerId: Identity
let victim: Identity
/** what the attacker serves over the pull protocol */
let served: Uint8Array = new Uint8Array(0)

async function kithNode(name: string, bootstrap: string[] = []): Promise<KithNode> {
  return startTestNode(join(root, name), {
    bootstrap,
    local: { state: () => ({ load: 0, memFree: 1, queue: 0 }), capabilities: () => [] },
  })
}

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-adv-'))
  honest = await kithNode('honest')
  attackerId = await createIdentity(join(root, 'attacker.key'))
  victim = await createIdentity(join(root, 'victim.key'))
  const network = configSchema.parse({ network: { listen: ['/ip4/127.0.0.1/tcp/0'], dht: 'off' } }).network
  attacker = await createHost(network, attackerId)
  await attacker.start()
  await attacker.handle(DESCRIPTOR_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(served)
    await stream.close()
  })
  const pubsub = attacker.services.pubsub as GossipSub
  pubsub.subscribe(ANNOUNCE_TOPIC)
  await attacker.dial(honest.host.getMultiaddrs()[0]!)
  await waitFor('the attacker to join the topic', () => pubsub.getSubscribers(ANNOUNCE_TOPIC).length > 0)
})

afterAll(async () => {
  await attacker?.stop()
  await honest?.stop()
  await cleanup?.()
})

const publish = (data: Uint8Array) => (attacker.services.pubsub as GossipSub).publish(ANNOUNCE_TOPIC, data)
// these attacks speak descriptor v1: the v1 announcer of a v2 node takes them
const stats = () => (honest.discovery.legacy ?? honest.discovery.announcer).counters
const rejected = () => honest.discovery.store.counters.rejected

function unsignedFor(peer: string, seq: number) {
  return {
    v: 1 as const,
    peer,
    seq,
    iat: Date.now(),
    ttl: 15_000,
    addrs: [],
    state: { load: 0, memFree: 1, queue: 0 },
    caps: [],
    attest: { tpm: false },
  }
}

describe('discovery under attack', () => {
  it('rejects a descriptor signed by a key other than its peer id names', async () => {
    // the attacker announces its own peer id, then serves a body claiming to be the attacker but signed by another key
    const forged = signDescriptor(unsignedFor(attacker.peerId.toString(), 1), victim.sign)
    served = forged.bytes
    await publish(
      encodeAnnounce({ peer: attacker.peerId.toString(), seq: 1, digest: forged.digest, at: Date.now() }),
    )
    await waitFor('the forged signature to be rejected', () => rejected().bad_signature >= 1)
    expect(honest.discovery.store.get(attacker.peerId.toString())).toBeUndefined()
  })

  it('rejects a body that does not match the announced digest', async () => {
    const real = signDescriptor(unsignedFor(attacker.peerId.toString(), 2), attackerId.sign)
    served = signDescriptor(unsignedFor(attacker.peerId.toString(), 3), attackerId.sign).bytes
    const pullsBefore = stats().pulls
    await publish(
      encodeAnnounce({ peer: attacker.peerId.toString(), seq: 2, digest: real.digest, at: Date.now() }),
    )
    await waitFor('the pull to happen', () => stats().pulls > pullsBefore)
    expect(honest.discovery.store.get(attacker.peerId.toString())).toBeUndefined()
  })

  it('rejects and counts a forged state heartbeat: a notice about another peer, signed by the sender', async () => {
    const friend = await kithNode('bystander', [honest.host.getMultiaddrs()[0]!.toString()])
    try {
      const id = friend.host.peerId.toString()
      await waitFor('the bystander to be held', () => honest.discovery.store.get(id) != null)
      const held = honest.discovery.store.get(id)!
      const before = stats().noticesRejected.foreign
      // the attacker claims the bystander is overloaded, to steer work away from it
      await publish(
        encodeAnnounce({
          peer: id,
          seq: held.descriptor.seq,
          digest: held.digest,
          at: Date.now(),
          state: { load: 50, memFree: 0, queue: 500 },
        }),
      )
      await waitFor('the forged heartbeat to be counted', () => stats().noticesRejected.foreign > before)
      expect(honest.discovery.store.get(id)?.descriptor.state).toEqual({ load: 0, memFree: 1, queue: 0 })
      expect(honest.discovery.store.counters.stateUpdates).toBe(0)
    } finally {
      await friend.stop()
    }
  })

  it('ignores a notice whose time is far from ours (a stale or replayed heartbeat)', async () => {
    const before = stats().pulls
    const skewed = stats().noticesRejected.clock_skew
    const valid = signDescriptor(unsignedFor(attacker.peerId.toString(), 20), attackerId.sign)
    served = valid.bytes
    await publish(
      encodeAnnounce({
        peer: attacker.peerId.toString(),
        seq: 20,
        digest: valid.digest,
        at: Date.now() - 3_600_000,
      }),
    )
    await waitFor('the notice to be counted', () => stats().noticesRejected.clock_skew > skewed)
    expect(stats().pulls).toBe(before)
  })

  it('drops announces for another peer and oversize announces without pulling', async () => {
    const before = stats().pulls
    const { foreign, malformed } = stats().noticesRejected
    await publish(
      encodeAnnounce({ peer: victim.peerId.toString(), seq: 1, digest: new Uint8Array(32), at: Date.now() }),
    )
    await publish(new Uint8Array(4096))
    await waitFor(
      'both notices to be refused',
      () => stats().noticesRejected.foreign > foreign && stats().noticesRejected.malformed > malformed,
    )
    expect(stats().pulls).toBe(before)
  })

  // last: the ban lasts five minutes, and a test after it would see every notice ignored whatever it checks
  it('ignores the sender after repeated garbage, and keeps serving honest peers', async () => {
    for (let i = 0; i < 12; i++) await publish(new Uint8Array([0xc1, i]))
    await waitFor('the attacker to be penalized', () => stats().penalized >= 1)
    // once ignored, even a valid descriptor from it is not pulled
    const valid = signDescriptor(unsignedFor(attacker.peerId.toString(), 10), attackerId.sign)
    served = valid.bytes
    const pullsBefore = stats().pulls
    const seen = stats().gossipBytesIn
    const notice = encodeAnnounce({
      peer: attacker.peerId.toString(),
      seq: 10,
      digest: valid.digest,
      at: Date.now(),
    })
    await publish(notice)
    // the validator counts a notice's bytes first and decides whether to pull before it yields
    await waitFor('the notice to be seen', () => stats().gossipBytesIn >= seen + notice.byteLength)
    expect(stats().pulls).toBe(pullsBefore)

    const friend = await kithNode('friend', [honest.host.getMultiaddrs()[0]!.toString()])
    try {
      await waitFor(
        'an honest newcomer to be discovered',
        () => honest.discovery.store.get(friend.host.peerId.toString()) != null,
      )
      const health = await fetch(`${honest.apiUrl}/healthz`)
      expect(health.status).toBe(200)
    } finally {
      await friend.stop()
    }
  })
})
