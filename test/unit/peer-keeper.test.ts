/**
 * PeerKeeper after libp2p's reconnect queue gives up on a cached peer: it dials again every
 * GIVE_UP_RETRY_MS until the peer answers, then tags it keep-alive again (fake host, fake timers, a real
 * node:sqlite peer cache).
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { KithLibp2p } from '../../src/connectivity/host.ts'
import { GIVE_UP_RETRY_MS, KEEP_ALIVE_TAG, PeerKeeper } from '../../src/connectivity/peer-keeper.ts'
import { type Database, openDatabase } from '../../src/store/database.ts'
import { PeerCache } from '../../src/store/peer-cache.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { tempDir } from '../helpers.ts'

const PEER = '12D3KooWSNnorxwZYTvcQMkQnLoM6sZQf4bURGGD4pDP1VDUoSdg'

let db: Database
let cleanup: () => Promise<void>
beforeEach(async () => {
  const tmp = await tempDir('kith-keeper-')
  cleanup = tmp.cleanup
  db = openDatabase(join(tmp.dir, 'kith.db'))
  vi.useFakeTimers()
})
afterEach(async () => {
  vi.useRealTimers()
  db.close()
  await cleanup()
})

/** A host that is never connected, fails the first `failures` dials, and records tags. */
function fakeHost(failures: number) {
  const events = new EventTarget()
  const tagged: string[] = []
  let dials = 0
  const host = {
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    getConnections: () => [],
    dial: async () => {
      if (++dials <= failures) throw new Error('unreachable')
    },
    peerStore: {
      merge: async (_peer: unknown, data: { tags: Record<string, unknown> }) => {
        tagged.push(...Object.keys(data.tags))
      },
    },
  }
  return { host: host as unknown as KithLibp2p, events, tagged, dials: () => dials }
}

describe('PeerKeeper', () => {
  it('dials a cached peer libp2p gave up on every few minutes until it answers, then tags it again', async () => {
    const cache = new PeerCache(db, 10)
    cache.remember(PEER, ['/ip4/127.0.0.1/tcp/4001'])
    const fake = fakeHost(2)
    const keeper = new PeerKeeper(fake.host, cache, silentLogger(), { maxRedial: 10 })
    keeper.start()
    fake.events.dispatchEvent(new CustomEvent('peer:reconnect-failure', { detail: peerIdFromString(PEER) }))
    await vi.advanceTimersByTimeAsync(GIVE_UP_RETRY_MS - 1)
    expect(fake.dials()).toBe(0)
    await vi.advanceTimersByTimeAsync(3 * GIVE_UP_RETRY_MS)
    expect(fake.dials()).toBe(3)
    expect(fake.tagged).toEqual([KEEP_ALIVE_TAG])
    await vi.advanceTimersByTimeAsync(10 * GIVE_UP_RETRY_MS)
    expect(fake.dials()).toBe(3)
    keeper.stop()
  })

  it('leaves alone a peer that is not in the cache, and stops trying when stopped', async () => {
    const cache = new PeerCache(db, 10)
    cache.remember(PEER, ['/ip4/127.0.0.1/tcp/4001'])
    const fake = fakeHost(1_000)
    const keeper = new PeerKeeper(fake.host, cache, silentLogger(), { maxRedial: 10 })
    keeper.start()
    const stranger = '12D3KooWLK5dMUGuTBHALfeCPz163PFYbFH7P6twPe6bYhFjHGEu'
    fake.events.dispatchEvent(
      new CustomEvent('peer:reconnect-failure', { detail: peerIdFromString(stranger) }),
    )
    fake.events.dispatchEvent(new CustomEvent('peer:reconnect-failure', { detail: peerIdFromString(PEER) }))
    await vi.advanceTimersByTimeAsync(2 * GIVE_UP_RETRY_MS)
    expect(fake.dials()).toBe(2)
    keeper.stop()
    await vi.advanceTimersByTimeAsync(10 * GIVE_UP_RETRY_MS)
    expect(fake.dials()).toBe(2)
  })
})
