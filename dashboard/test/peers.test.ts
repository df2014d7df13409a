import { describe, expect, it } from 'vitest'
import { freshness, peerViews } from '../src/peers.ts'
import { GONE_MS } from '../src/store.ts'
import type { Connection, Descriptor } from '../src/types.ts'

const descriptor = (peer: string, expiresAt: number, ttl = 15_000): Descriptor => ({
  v: 1,
  peer,
  seq: 1,
  iat: expiresAt - ttl,
  ttl,
  addrs: [],
  state: { load: 0.2, memFree: 1, queue: 0 },
  caps: [],
  attest: { tpm: false },
  receivedAt: expiresAt - ttl,
  expiresAt,
})
const link = (peerId: string, relayed: boolean): Connection => ({
  peerId,
  addrs: [],
  direction: 'outbound',
  relayed,
  since: 0,
  streams: 1,
})

describe('freshness', () => {
  it('is stale past three quarters of the TTL, and never expired while the node holds it', () => {
    expect(freshness(4_000, 15_000)).toBe('live')
    expect(freshness(12_000, 15_000)).toBe('stale')
    expect(freshness(20_000, 15_000)).toBe('stale')
  })
})

describe('peerViews', () => {
  it('puts this node first and says how each peer is reached', () => {
    const now = 100_000
    const views = peerViews({
      self: 'self',
      descriptors: [
        descriptor('self', now + 10_000),
        descriptor('b', now + 10_000),
        descriptor('c', now + 1_000),
      ],
      connections: [link('b', true), link('d', false)],
      gone: new Map(),
      now,
      localNow: 0,
    })
    expect(views.map((v) => [v.id, v.link, v.state, v.age])).toEqual([
      ['self', 'self', 'live', 5_000],
      ['b', 'relayed', 'live', 5_000],
      ['c', 'none', 'stale', 14_000],
      ['d', 'direct', 'live', undefined],
    ])
  })

  it('keeps a peer whose descriptor left, expired, for ten minutes', () => {
    const gone = new Map([['x', { descriptor: descriptor('x', 0), at: 1_000 }]])
    const at = (localNow: number) =>
      peerViews({ self: 'self', descriptors: [], connections: [], gone, now: 0, localNow })
    expect(at(2_000).find((v) => v.id === 'x')).toMatchObject({ gone: true, state: 'expired' })
    expect(at(1_000 + GONE_MS).find((v) => v.id === 'x')).toBeUndefined()
  })
})
