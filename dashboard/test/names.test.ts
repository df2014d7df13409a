import { describe, expect, it } from 'vitest'
import { peerName } from '../src/format.ts'
import { learnNames } from '../src/store.ts'

const ID = '12D3KooWGEnQnTHFFDSsBtmuKrzs1erQykeYytk352DP4gCnbsdn'

describe('peer names', () => {
  it('shows a peer’s own name with its short id, and this node as such', () => {
    const names = new Map([[ID, 'kitchen']])
    expect(peerName(ID, 'self', names)).toBe('kitchen (…4gCnbsdn)')
    expect(peerName(ID, 'self')).toBe('…4gCnbsdn')
    expect(peerName(ID, ID, names)).toBe('this node')
    expect(peerName(undefined, ID, names)).toBe('—')
  })

  it('learns names as the node reports them, keeps the same map when nothing is new, and stays bounded', () => {
    const empty = new Map<string, string>()
    expect(learnNames(empty, [{ id: 'a' }])).toBe(empty)
    const one = learnNames(empty, [{ id: 'a', name: 'kitchen' }])
    expect([...one]).toEqual([['a', 'kitchen']])
    expect(learnNames(one, [{ id: 'a', name: 'kitchen' }, { id: 'b' }])).toBe(one)
    expect(learnNames(one, [{ id: 'a', name: 'pantry' }]).get('a')).toBe('pantry')
    let many = one
    for (let i = 0; i < 300; i++) many = learnNames(many, [{ id: `p${i}`, name: `n${i}` }])
    expect(many.size).toBe(256)
    expect(many.has('a')).toBe(false)
    expect(many.get('p299')).toBe('n299')
  })
})
