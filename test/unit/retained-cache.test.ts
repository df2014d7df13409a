import { describe, expect, it } from 'vitest'
import { RetainedCache } from '../../src/devices/retained-cache.ts'

const b = (s: string) => Buffer.from(s)

describe('RetainedCache', () => {
  it('keeps retained messages and hands them to a matching filter', () => {
    const cache = new RetainedCache({ maxBytes: 1024 })
    cache.note('zigbee2mqtt/bridge/state', b('{"state":"online"}'), true)
    cache.note('zigbee2mqtt/plug', b('{"state":"ON"}'), true)
    expect(cache.matching('zigbee2mqtt/bridge/state').map(([t]) => t)).toEqual(['zigbee2mqtt/bridge/state'])
    expect(cache.matching('zigbee2mqtt/#')).toHaveLength(2)
    expect(cache.matching('other/#')).toHaveLength(0)
  })

  it('ignores a live message on a topic never seen retained, and follows one that was', () => {
    const cache = new RetainedCache({ maxBytes: 1024 })
    cache.note('a/event', b('pressed'), false)
    expect(cache.size).toBe(0)
    cache.note('a/state', b('online'), true)
    // the broker forwards later retained publishes to a standing subscription with the flag cleared
    cache.note('a/state', b('offline'), false)
    expect(cache.matching('a/state')[0]?.[1].toString()).toBe('offline')
  })

  it('clears a topic on a retained empty payload, as the broker does', () => {
    const cache = new RetainedCache({ maxBytes: 1024 })
    cache.note('a/config', b('{}'), true)
    cache.note('a/config', b(''), true)
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })

  it('stays within its byte and topic bounds, forgetting the oldest first', () => {
    const cache = new RetainedCache({ maxBytes: 100, maxTopics: 3 })
    for (let i = 0; i < 10; i++) cache.note(`t/${i}`, b('x'.repeat(20)), true)
    expect(cache.bytes).toBeLessThanOrEqual(100)
    expect(cache.size).toBeLessThanOrEqual(3)
    expect(cache.matching('t/9')).toHaveLength(1)
    expect(cache.matching('t/0')).toHaveLength(0)
    expect(cache.evicted).toBeGreaterThan(0)
    // a message larger than the whole cache is not kept and evicts nothing
    const before = cache.size
    cache.note('t/huge', b('x'.repeat(200)), true)
    expect(cache.size).toBe(before)
  })

  it('prunes topics no filter wants any more', () => {
    const cache = new RetainedCache({ maxBytes: 1024 })
    cache.note('a/1', b('1'), true)
    cache.note('b/1', b('1'), true)
    cache.prune((topic) => topic.startsWith('a/'))
    expect(cache.matching('#').map(([t]) => t)).toEqual(['a/1'])
  })
})
