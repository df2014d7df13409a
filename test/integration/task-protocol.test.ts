/** `/kith/task/1.0.0` between two real libp2p hosts over TCP on 127.0.0.1. */
import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/index.ts'
import { createHost, type KithLibp2p } from '../../src/connectivity/host.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { ConnectionLostError, RequestTimeoutError, TaskClient } from '../../src/execution/task-client.ts'
import { TaskServer } from '../../src/execution/task-server.ts'
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  signRequest,
  TASK_PROTOCOL,
} from '../../src/execution/task-wire.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { tempDir, waitFor } from '../helpers.ts'

let provider: KithLibp2p
let requester: KithLibp2p
let requesterId: Identity
let server: TaskServer
let client: TaskClient
let cleanup: () => Promise<void>
/** requests the provider's handler has begun */
let handled = 0
const verify = createVerifier()

beforeAll(async () => {
  const t = await tempDir('kith-task-')
  cleanup = t.cleanup
  const network = configSchema.parse({ network: { listen: ['/ip4/127.0.0.1/tcp/0'], dht: 'off' } }).network
  const providerId = await createIdentity(join(t.dir, 'p.key'))
  requesterId = await createIdentity(join(t.dir, 'r.key'))
  provider = await createHost(network, providerId)
  requester = await createHost(network, requesterId)
  await provider.start()
  await requester.start()
  server = new TaskServer(
    provider,
    async (req, signal) => {
      handled++
      const input = req.input as { sleep?: number; echo?: unknown }
      if (input.sleep != null) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, input.sleep)
          signal.addEventListener('abort', () => {
            clearTimeout(timer)
            resolve(undefined)
          })
        })
      }
      return { status: 'ok', output: { echo: input.echo, cap: req.cap } }
    },
    verify,
    silentLogger(),
    { idleTimeoutMs: 500 },
  )
  await server.start()
  client = new TaskClient(requester, requesterId.sign, verify, silentLogger())
  await requester.dial(provider.getMultiaddrs()[0]!)
})

afterAll(async () => {
  await client.stop()
  await server.stop()
  await requester.stop()
  await provider.stop()
  await cleanup()
})

describe('task protocol', () => {
  it('runs a request and returns its reply', async () => {
    const reply = await client.call(provider.peerId, { cap: 'echo', input: { echo: 'hi' }, timeoutMs: 5_000 })
    expect(reply).toMatchObject({ status: 'ok', output: { echo: 'hi', cap: 'echo' } })
  })

  it('multiplexes many concurrent requests on one stream, answering out of order', async () => {
    const streamsBefore = server.counters.streams
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.call(provider.peerId, {
          cap: 'echo',
          input: { echo: i, sleep: (50 - i) % 7 },
          timeoutMs: 5_000,
        }),
      ),
    )
    expect(replies.map((r) => (r.output as { echo: number }).echo)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    )
    expect(server.counters.streams - streamsBefore).toBeLessThanOrEqual(1)
  })

  it('carries inputs and outputs several times the stream window, one after another and at once', async () => {
    // yamux's window is 256 KiB and its updates are sent only once half of it is used (stream-window.ts):
    // large frames must still flow both ways
    const big = (n: number) => 'x'.repeat(n)
    for (const size of [300_000, 900_000, 600_000]) {
      const reply = await client.call(provider.peerId, {
        cap: 'echo',
        input: { echo: big(size) },
        timeoutMs: 10_000,
      })
      expect((reply.output as { echo: string }).echo).toHaveLength(size)
    }
    const replies = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        client.call(provider.peerId, { cap: 'echo', input: { echo: big(200_000 + i) }, timeoutMs: 10_000 }),
      ),
    )
    expect(replies.map((r) => (r.output as { echo: string }).echo.length)).toEqual([
      200_001, 200_002, 200_003, 200_004,
    ])
  })

  it('cuts a stream whose frames are malformed or not requests', async () => {
    const frames = [
      new Uint8Array([0xc1]), // not msgpack
      encodeFrame({ t: 'res', id: 'not-a-request', status: 'ok' }),
      // an envelope whose body is not a signed request
      (() => {
        const req = signRequest(
          {
            id: 'malformed-test-1',
            from: requester.peerId.toString(),
            cap: 'echo',
            input: {},
            deadline: Date.now() + 5_000,
            evidence: 'none',
          },
          requesterId.sign,
        )
        return encodeFrame({ ...req, signed: new Uint8Array([0x93, 1, 2, 3]) })
      })(),
    ]
    for (const frame of frames) {
      const stream = await requester.dialProtocol(provider.peerId, TASK_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      await lp.write(frame)
      await expect(lp.read()).rejects.toThrow()
    }
    expect(server.counters.rejected.malformed).toBeGreaterThanOrEqual(3)
    // a length prefix longer than any frame needs is not read on forever
    const stream = await requester.dialProtocol(provider.peerId, TASK_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    stream.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
    await expect(lp.read({ signal: AbortSignal.timeout(5_000) })).rejects.toThrow()
    expect(stream.status).not.toBe('open')
  })

  it('times out a request whose provider does not answer before the deadline', async () => {
    await expect(
      client.call(provider.peerId, { cap: 'echo', input: { sleep: 2_000 }, timeoutMs: 200 }),
    ).rejects.toThrow(RequestTimeoutError)
  })

  it('refuses a replayed request and an expired one', async () => {
    const stream = await requester.dialProtocol(provider.peerId, TASK_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const req = signRequest(
      {
        id: 'replay-test-1',
        from: requester.peerId.toString(),
        cap: 'echo',
        input: {},
        deadline: Date.now() + 5_000,
        evidence: 'none',
      },
      requesterId.sign,
    )
    const roundTrip = async (frame: Uint8Array) => {
      await lp.write(frame)
      return decodeFrame((await lp.read()).subarray(), verify)
    }
    expect(await roundTrip(encodeFrame(req))).toMatchObject({ status: 'ok' })
    expect(await roundTrip(encodeFrame(req))).toMatchObject({ status: 'denied', error: { code: 'replay' } })
    const old = signRequest(
      {
        id: 'expired-test-1',
        from: requester.peerId.toString(),
        cap: 'echo',
        input: {},
        deadline: Date.now() - 1,
        evidence: 'none',
      },
      requesterId.sign,
    )
    expect(await roundTrip(encodeFrame(old))).toMatchObject({ status: 'denied', error: { code: 'expired' } })
    await stream.close()
  })

  it('cuts a stream whose frame is forged, and the client recovers on a fresh stream', async () => {
    const stream = await requester.dialProtocol(provider.peerId, TASK_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const forged = signRequest(
      {
        id: 'forged-test-1',
        from: provider.peerId.toString(),
        cap: 'echo',
        input: {},
        deadline: Date.now() + 5_000,
        evidence: 'none',
      },
      requesterId.sign,
    )
    await lp.write(encodeFrame(forged))
    await expect(lp.read()).rejects.toThrow()
    expect(server.counters.rejected.bad_signature).toBeGreaterThanOrEqual(1)
    const reply = await client.call(provider.peerId, {
      cap: 'echo',
      input: { echo: 'still here' },
      timeoutMs: 5_000,
    })
    expect(reply.status).toBe('ok')
  })

  it('closes a stream that sits idle, and fails requests in flight when the connection drops', async () => {
    const stream = await requester.dialProtocol(provider.peerId, TASK_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    await expect(lp.read({ signal: AbortSignal.timeout(3_000) })).rejects.toThrow()

    const before = handled
    const pending = client.call(provider.peerId, { cap: 'echo', input: { sleep: 3_000 }, timeoutMs: 10_000 })
    await waitFor('the request to reach the provider', () => handled > before)
    await requester.hangUp(provider.peerId)
    await expect(pending).rejects.toThrow(ConnectionLostError)
  })
})
