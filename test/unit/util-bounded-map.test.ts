import { describe, expect, it } from 'vitest'
import { BoundedMap, BoundedSet, trimOldest } from '../../src/util/bounded-map.ts'

describe('BoundedMap', () => {
  it('evicts the oldest insertion beyond max', () => {
    const map = new BoundedMap<string, number>({ max: 2 })
    map.set('a', 1).set('b', 2).set('c', 3)
    expect([...map.keys()]).toEqual(['b', 'c'])
  })

  it('keeps a key in its first place when it is set again without refresh', () => {
    const map = new BoundedMap<string, number>({ max: 2 })
    map.set('a', 1).set('b', 2).set('a', 10).set('c', 3)
    expect([...map]).toEqual([
      ['b', 2],
      ['c', 3],
    ])
  })

  it("moves a written key to the newest end with refresh 'set', but not a read one", () => {
    const map = new BoundedMap<string, number>({ max: 2, refresh: 'set' })
    map.set('a', 1).set('b', 2).set('a', 10)
    map.get('b')
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['a', 'c'])
  })

  it("moves a read key to the newest end with refresh 'access'", () => {
    const map = new BoundedMap<string, number>({ max: 2, refresh: 'access' })
    map.set('a', 1).set('b', 2)
    expect(map.get('a')).toBe(1)
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['a', 'c'])
    expect(map.get('missing')).toBeUndefined()
    expect(map.size).toBe(2)
  })

  it('calls onEvict for evicted entries only, not for delete or clear', () => {
    const evicted: Array<[string, number]> = []
    const map = new BoundedMap<string, number>({ max: 1, onEvict: (k, v) => evicted.push([k, v]) })
    map.set('a', 1).set('b', 2)
    map.delete('b')
    map.set('c', 3)
    map.clear()
    expect(evicted).toEqual([['a', 1]])
  })

  it('evictOldest removes the oldest entry and says false when empty', () => {
    const evicted: string[] = []
    const map = new BoundedMap<string, number>({ max: 5, onEvict: (k) => evicted.push(k) })
    map.set('a', 1).set('b', 2)
    expect(map.evictOldest()).toBe(true)
    expect([...map.keys()]).toEqual(['b'])
    expect(map.evictOldest()).toBe(true)
    expect(map.evictOldest()).toBe(false)
    expect(evicted).toEqual(['a', 'b'])
  })

  it('keeps nothing with max 0 and refuses a bound that is not a whole number', () => {
    const map = new BoundedMap<string, number>({ max: 0 })
    map.set('a', 1)
    expect(map.size).toBe(0)
    expect(() => new BoundedMap({ max: -1 })).toThrow(RangeError)
    expect(() => new BoundedMap({ max: 1.5 })).toThrow(RangeError)
  })
})

describe('BoundedSet', () => {
  it('forgets the least recently added key beyond max', () => {
    const seen = new BoundedSet<string>(2)
    seen.add('a').add('b').add('a').add('c')
    expect([...seen]).toEqual(['a', 'c'])
  })
})

describe('trimOldest', () => {
  it('trims a plain map to max, oldest first, through onEvict', () => {
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
    const evicted: string[] = []
    trimOldest(map, 1, (k) => evicted.push(k))
    expect([...map.keys()]).toEqual(['c'])
    expect(evicted).toEqual(['a', 'b'])
    trimOldest(map, 0)
    expect(map.size).toBe(0)
  })
})
