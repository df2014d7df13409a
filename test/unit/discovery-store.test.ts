import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Descriptor, SignedDescriptor } from '../../src/discovery/descriptor.ts'
import { DescriptorStore, type StoreEvent } from '../../src/discovery/store.ts'

let clock = 1_000_000
const now = () => clock

function signed(
  peer: string,
  seq: number,
  opts: { iat?: number; ttl?: number; salt?: number } = {},
): SignedDescriptor {
  const descriptor = {
    v: 1,
    peer,
    seq,
    iat: opts.iat ?? clock,
    ttl: opts.ttl ?? 15_000,
    addrs: [],
    state: { load: 0, memFree: 0, queue: 0 },
    caps: [],
    attest: { tpm: false },
    sig: new Uint8Array(64),
  } as Descriptor
  const digest = new Uint8Array(32)
  digest[0] = seq
  digest[1] = opts.salt ?? 0
  digest[2] = peer.charCodeAt(peer.length - 1)
  return { descriptor, bytes: new Uint8Array(1), digest }
}

const reasonOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return (err as { reason: string }).reason
  }
  return 'ok'
}

afterEach(() => {
  vi.useRealTimers()
  clock = 1_000_000
})

describe('DescriptorStore', () => {
  it('keeps the newest seq and never lets an older one replace it', () => {
    const store = new DescriptorStore({ now })
    expect(store.put(signed('a', 2))).toBe('accepted')
    expect(store.put(signed('a', 3))).toBe('replaced')
    expect(reasonOf(() => store.put(signed('a', 2)))).toBe('stale_seq')
    expect(store.put(signed('a', 3))).toBe('duplicate')
    expect(reasonOf(() => store.put(signed('a', 3, { salt: 9 })))).toBe('stale_seq')
    expect(store.get('a')?.descriptor.seq).toBe(3)
    expect(store.counters).toMatchObject({
      accepted: 1,
      replaced: 1,
      duplicate: 1,
      rejected: { stale_seq: 2 },
    })
  })

  it('refuses descriptors from the future beyond the skew allowance and already expired ones', () => {
    const store = new DescriptorStore({ now, maxSkewMs: 1_000 })
    expect(reasonOf(() => store.put(signed('a', 1, { iat: clock + 5_000 })))).toBe('clock_skew')
    expect(reasonOf(() => store.put(signed('b', 1, { iat: clock - 20_000 })))).toBe('expired')
    expect(store.put(signed('c', 1, { iat: clock + 500 }))).toBe('accepted')
    expect(store.counters.rejected).toMatchObject({ clock_skew: 1, expired: 1 })
  })

  it('expires entries at their TTL on a timer, without queries', () => {
    vi.useFakeTimers({ now: clock })
    const store = new DescriptorStore()
    const events: StoreEvent[] = []
    store.onChange((e) => events.push(e))
    store.start()
    store.put({ ...signed('a', 1, { iat: Date.now(), ttl: 3_000 }) })
    store.put({ ...signed('b', 1, { iat: Date.now(), ttl: 10_000 }) })
    vi.advanceTimersByTime(2_999)
    expect(store.size).toBe(2)
    vi.advanceTimersByTime(2)
    expect(store.size).toBe(1)
    expect(events.at(-1)).toMatchObject({ type: 'remove', why: 'expired' })
    vi.advanceTimersByTime(7_000)
    expect(store.size).toBe(0)
    expect(store.counters.expired).toBe(2)
    store.stop()
  })

  it('does not expire an entry that a refresh replaced', () => {
    const store = new DescriptorStore({ now })
    store.put(signed('a', 1, { ttl: 3_000 }))
    clock += 2_000
    store.put(signed('a', 2, { ttl: 3_000 }))
    clock += 1_500
    expect(store.expire()).toBe(0)
    expect(store.get('a')?.descriptor.seq).toBe(2)
    clock += 2_000
    expect(store.expire()).toBe(1)
  })

  it('makes room by evicting the entry closest to expiry, and refuses a newcomer that would expire first', () => {
    const store = new DescriptorStore({ now, maxEntries: 2 })
    store.put(signed('a', 1, { ttl: 5_000 }))
    store.put(signed('b', 1, { ttl: 20_000 }))
    expect(store.put(signed('c', 1, { ttl: 10_000 }))).toBe('accepted')
    expect(store.get('a')).toBeUndefined()
    expect(store.counters.evicted).toBe(1)
    expect(() => store.put(signed('d', 1, { ttl: 3_000 }))).toThrow(/full/)
    expect(store.counters.rejected.store_full).toBe(1)
    expect(store.size).toBe(2)
  })

  it('extends an entry on a heartbeat for exactly the held descriptor, and keeps it past iat + ttl', () => {
    const store = new DescriptorStore({ now, maxSkewMs: 1_000 })
    const a = signed('a', 4, { ttl: 3_000 })
    store.put(a)
    const hex = Buffer.from(a.digest).toString('hex')
    expect(store.touch('a', 5, hex, clock)).toBe(false)
    expect(store.touch('a', 4, 'ff', clock)).toBe(false)
    for (let i = 0; i < 5; i++) {
      clock += 2_000
      expect(store.touch('a', 4, hex, clock)).toBe(true)
      store.expire()
    }
    expect(store.get('a')?.descriptor.seq).toBe(4)
    clock += 3_001
    store.expire()
    expect(store.get('a')).toBeUndefined()
  })

  it('accepts a body signed long ago when its origin vouched for it just now, and not otherwise', () => {
    const store = new DescriptorStore({ now, maxSkewMs: 1_000 })
    expect(reasonOf(() => store.put(signed('a', 1, { iat: clock - 60_000, ttl: 3_000 })))).toBe('expired')
    expect(store.put(signed('a', 1, { iat: clock - 60_000, ttl: 3_000 }), { heardAt: clock })).toBe(
      'accepted',
    )
    // a claimed future heartbeat counts only up to the skew allowance
    expect(
      store.put(signed('b', 1, { iat: clock - 60_000, ttl: 3_000 }), { heardAt: clock + 3_600_000 }),
    ).toBe('accepted')
    expect(store.get('b')!.expiresAt).toBeLessThanOrEqual(clock + 3_000)
  })

  it('reports what it holds by seq and digest', () => {
    const store = new DescriptorStore({ now })
    const a = signed('a', 5)
    store.put(a)
    const hex = Buffer.from(a.digest).toString('hex')
    expect(store.has('a', 5, hex)).toBe(true)
    expect(store.has('a', 4)).toBe(true)
    expect(store.has('a', 6)).toBe(false)
    expect(store.has('a', 5, 'ff')).toBe(false)
    expect(store.has('z', 1)).toBe(false)
  })
})
