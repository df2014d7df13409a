import { describe, expect, it } from 'vitest'
import type { Capability, Descriptor, SignedDescriptor } from '../../src/discovery/descriptor.ts'
import { DescriptorStore } from '../../src/discovery/store.ts'
import { ProviderIndex } from '../../src/execution/providers.ts'

let clock = 1_000_000
const now = () => clock

const cap = (id: string): Capability => ({
  id,
  title: id,
  description: '',
  tags: [],
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
})

function signed(peer: string, seq: number, caps: string[], load = 0, ttl = 15_000): SignedDescriptor {
  const descriptor = {
    v: 1,
    peer,
    seq,
    iat: clock,
    ttl,
    addrs: [],
    state: { load, memFree: 1e9, queue: 0 },
    caps: caps.map(cap),
    attest: { tpm: false },
    sig: new Uint8Array(64),
  } as Descriptor
  const digest = new Uint8Array(32)
  digest[0] = seq
  digest[1] = peer.charCodeAt(peer.length - 1)
  return { descriptor, bytes: new Uint8Array(1), digest }
}

const peers = (index: ProviderIndex, id: string) => index.of(id).map((c) => c.peer)

describe('ProviderIndex', () => {
  it('finds the live providers of a capability, least loaded first, this node first on a tie', () => {
    const store = new DescriptorStore({ now })
    store.put(signed('busy', 1, ['echo', 'lamp'], 0.9))
    const index = new ProviderIndex(store, 'self')
    index.start()
    store.put(signed('idle', 1, ['echo'], 0))
    store.put(signed('self', 1, ['echo'], 0))
    expect(peers(index, 'echo')).toEqual(['self', 'idle', 'busy'])
    expect(index.of('echo')[0]).toMatchObject({ local: true, capability: { id: 'echo' } })
    expect(peers(index, 'lamp')).toEqual(['busy'])
    expect(peers(index, 'nothing')).toEqual([])
  })

  it('puts a trusted provider before a slightly less loaded untrusted one, and never reorders this node', () => {
    const store = new DescriptorStore({ now })
    const trust: Record<string, number> = { trusted: 1, stranger: 0.05, self: 0 }
    const index = new ProviderIndex(store, 'self', (peer) => trust[peer] ?? 0)
    index.start()
    store.put(signed('stranger', 1, ['echo'], 0))
    store.put(signed('trusted', 1, ['echo'], 0.2))
    expect(peers(index, 'echo')).toEqual(['trusted', 'stranger'])
    store.put(signed('self', 1, ['echo'], 0))
    expect(peers(index, 'echo')[0]).toBe('self')
  })

  it('follows descriptors that change their capabilities, expire or are held no more', () => {
    const store = new DescriptorStore({ now })
    const index = new ProviderIndex(store, 'self')
    index.start()
    store.put(signed('a', 1, ['echo', 'lamp']))
    store.put(signed('b', 1, ['echo'], 0, 5_000))
    store.put(signed('a', 2, ['lamp']))
    expect(peers(index, 'echo')).toEqual(['b'])
    expect(peers(index, 'lamp')).toEqual(['a'])
    clock += 6_000
    // expired but not yet swept: not offered
    expect(peers(index, 'echo')).toEqual([])
    store.expire()
    expect(peers(index, 'echo')).toEqual([])
    index.stop()
    store.put(signed('c', 1, ['echo']))
    expect(peers(index, 'echo')).toEqual([])
  })
})
