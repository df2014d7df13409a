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
    expect(store.touch('a', 5, hex, { at: clock })).toBe('unknown')
    expect(store.touch('a', 4, 'ff', { at: clock })).toBe('unknown')
    for (let i = 0; i < 5; i++) {
      clock += 2_000
      expect(store.touch('a', 4, hex, { at: clock })).toBe('refreshed')
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
    expect(store.put(signed('a', 1, { iat: clock - 60_000, ttl: 3_000 }), { at: clock })).toBe('accepted')
    // a claimed future heartbeat counts only up to the skew allowance
    expect(store.put(signed('b', 1, { iat: clock - 60_000, ttl: 3_000 }), { at: clock + 3_600_000 })).toBe(
      'accepted',
    )
    expect(store.get('b')!.expiresAt).toBeLessThanOrEqual(clock + 3_000)
  })

  it('takes the state of a heartbeat newer than the last applied one, and tells its listeners', () => {
    const store = new DescriptorStore({ now })
    const events: StoreEvent[] = []
    store.onChange((e) => events.push(e))
    const a = signed('a', 1)
    store.put(a)
    const hex = Buffer.from(a.digest).toString('hex')
    const busy = { load: 0.9, memFree: 0, queue: 3 }
    expect(store.touch('a', 1, hex, { at: clock + 100, state: busy })).toBe('refreshed')
    expect(store.get('a')?.descriptor.state).toEqual(busy)
    expect(store.get('a')?.stateAt).toBe(clock + 100)
    expect(events.at(-1)).toMatchObject({ type: 'state', entry: { descriptor: { state: busy } } })
    // a reordered or replayed notice (not newer) neither rolls the state back nor extends the entry
    const expiresAt = store.get('a')?.expiresAt
    expect(store.touch('a', 1, hex, { at: clock + 50, state: { load: 0, memFree: 0, queue: 0 } })).toBe('old')
    expect(store.get('a')?.descriptor.state).toEqual(busy)
    expect(store.get('a')?.expiresAt).toBe(expiresAt)
    // the same state again extends the entry but is no state update
    const before = events.length
    expect(store.touch('a', 1, hex, { at: clock + 200, state: busy })).toBe('refreshed')
    expect(events).toHaveLength(before)
    expect(store.counters.stateUpdates).toBe(1)
    // the signed body is untouched
    expect(store.get('a')?.bytes).toBe(a.bytes)
  })

  it('lets a notice without a state extend the entry without holding back the origin’s later states', () => {
    const store = new DescriptorStore({ now })
    const a = signed('a', 1)
    store.put(a)
    const hex = Buffer.from(a.digest).toString('hex')
    // stamped by this node's clock (a flooded body, a pull from the origin), which runs ahead of the origin's
    expect(store.touch('a', 1, hex, { at: clock + 5_000 })).toBe('refreshed')
    const busy = { load: 0.9, memFree: 0, queue: 3 }
    expect(store.touch('a', 1, hex, { at: clock + 100, state: busy })).toBe('refreshed')
    expect(store.get('a')?.descriptor.state).toEqual(busy)
  })

  it('puts a body with the newer state of the notice that announced it', () => {
    const store = new DescriptorStore({ now })
    const busy = { load: 0.9, memFree: 0, queue: 3 }
    store.put(signed('a', 1, { iat: clock - 1_000 }), { at: clock, state: busy })
    expect(store.get('a')).toMatchObject({ descriptor: { state: busy }, stateAt: clock })
    // a notice older than the body's own iat does not override the signed state
    store.put(signed('b', 1), { at: clock - 1_000, state: busy })
    expect(store.get('b')).toMatchObject({ descriptor: { state: { load: 0 } }, stateAt: clock })
  })

  it('judges freshness before any signature is checked, counting refusals like put', () => {
    const store = new DescriptorStore({ now, maxSkewMs: 1_000 })
    const a = signed('a', 5)
    store.put(a)
    const hex = Buffer.from(a.digest).toString('hex')
    const head = (seq: number, iat = clock) => ({ peer: 'a', seq, iat, ttl: 15_000 })
    expect(store.precheck(head(5), hex)).toBe('duplicate')
    expect(store.precheck(head(6), 'ff')).toBe('new')
    expect(store.precheck({ ...head(1), peer: 'b' }, 'ff')).toBe('new')
    expect(reasonOf(() => store.precheck(head(4), 'ff'))).toBe('stale_seq')
    expect(reasonOf(() => store.precheck(head(5), 'ff'))).toBe('stale_seq')
    expect(reasonOf(() => store.precheck(head(6, clock + 5_000), 'ff'))).toBe('clock_skew')
    expect(reasonOf(() => store.precheck(head(6, clock - 60_000), 'ff'))).toBe('expired')
    expect(store.precheck(head(6, clock - 60_000), 'ff', clock)).toBe('new')
    expect(store.counters.rejected).toMatchObject({ stale_seq: 2, clock_skew: 1, expired: 1 })
    expect(store.size).toBe(1)
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
