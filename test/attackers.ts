/**
 * Hostile peers on real libp2p, for the attack tests and the `attack` benchmark: each is a raw host (no
 * kith node behind it) that speaks kith's protocols wrongly on purpose.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { configSchema } from '../src/config/index.ts'
import { createHost, type KithLibp2p } from '../src/connectivity/host.ts'
import type { Identity } from '../src/connectivity/identity.ts'
import { type Capability, signDescriptor } from '../src/discovery/descriptor.ts'
import {
  ANNOUNCE_TOPIC,
  decodePullRequest,
  DESCRIPTOR_PROTOCOL,
  encodeAnnounce,
} from '../src/discovery/wire.ts'
import { TASK_PROTOCOL } from '../src/execution/task-wire.ts'

/** The capability the victims of the attack tests and benchmark serve: its input back. */
export const echo: Capability = {
  id: 'echo',
  title: 'echo',
  description: 'echo',
  tags: [],
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
}

/** A started libp2p host on 127.0.0.1 with kith's network defaults. */
export async function rawHost(identity: Identity): Promise<KithLibp2p> {
  const network = configSchema.parse({ network: { listen: ['/ip4/127.0.0.1/tcp/0'], dht: 'off' } }).network
  const host = await createHost(network, identity)
  await host.start()
  return host
}

/**
 * Announces a new version of its own descriptor `count` times (seq `firstSeq` on) as fast as gossipsub takes them, serving
 * each body, validly signed, to whoever pulls it: the most expensive flood a peer can send, since every
 * notice is new and honest. Resolves with the notices published.
 */
export async function floodAnnounces(
  host: KithLibp2p,
  identity: Identity,
  count: number,
  firstSeq = 1,
): Promise<number> {
  const peer = identity.peerId.toString()
  const bodies = new Map<string, Uint8Array>()
  await host.handle(
    DESCRIPTOR_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream)
      const { digest } = decodePullRequest((await lp.read()).subarray())
      const body = digest != null ? bodies.get(Buffer.from(digest).toString('hex')) : undefined
      if (body != null) await lp.write(body)
      await stream.close()
    },
    { force: true },
  )
  const pubsub = host.services.pubsub as GossipSub
  pubsub.subscribe(ANNOUNCE_TOPIC)
  let published = 0
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const signed = signDescriptor(
      {
        v: 1,
        peer,
        seq,
        iat: Date.now(),
        ttl: 15_000,
        addrs: host.getMultiaddrs().map(String),
        state: { load: 0, memFree: 1e9, queue: 0 },
        caps: [],
        attest: { tpm: false },
      },
      identity.sign,
    )
    bodies.set(Buffer.from(signed.digest).toString('hex'), signed.bytes)
    if (bodies.size > 256) bodies.delete(bodies.keys().next().value as string)
    try {
      await pubsub.publish(
        ANNOUNCE_TOPIC,
        encodeAnnounce({ peer, seq, digest: signed.digest, at: Date.now() }),
      )
      published++
    } catch {
      // no subscribers yet, or gossipsub refused: a flooder keeps going
    }
    if (seq % 50 === 0) await new Promise((r) => setImmediate(r))
  }
  return published
}

/**
 * Opens `streams` task streams and sends each the length prefix of a `frameBytes` frame, then one byte
 * every `everyMs`: a slow-loris. Resolves once every stream was cut by the other side (or `signal`
 * aborted), with how long each lasted (ms).
 */
export async function slowLoris(
  host: KithLibp2p,
  target: PeerId | Multiaddr,
  init: { streams: number; frameBytes?: number; everyMs?: number; signal?: AbortSignal },
): Promise<number[]> {
  const frameBytes = init.frameBytes ?? 4096
  const prefix = varint(frameBytes)
  return Promise.all(
    Array.from({ length: init.streams }, async () => {
      const started = performance.now()
      let stream: Stream
      try {
        stream = await host.dialProtocol(target, TASK_PROTOCOL)
      } catch {
        return 0
      }
      try {
        stream.send(prefix)
        for (let sent = 0; sent < frameBytes - 1 && init.signal?.aborted !== true; sent++) {
          await new Promise((r) => setTimeout(r, init.everyMs ?? 200))
          if (stream.status !== 'open') break
          stream.send(new Uint8Array([0x20]))
        }
      } catch {
        // cut by the provider: what the test waits for
      }
      stream.abort(new Error('done'))
      return performance.now() - started
    }),
  )
}

/**
 * Opens up to `count` task streams on one connection and never writes to them. Resolves with the streams
 * the other side accepted (left open, for the caller to watch or abort) and how many it refused.
 */
export async function abandonStreams(
  host: KithLibp2p,
  target: PeerId | Multiaddr,
  count: number,
): Promise<{ open: Stream[]; refused: number }> {
  const open: Stream[] = []
  let refused = 0
  for (let i = 0; i < count; i++) {
    try {
      open.push(await host.dialProtocol(target, TASK_PROTOCOL))
    } catch {
      refused++
    }
  }
  return { open, refused }
}

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return new Uint8Array(out)
}
