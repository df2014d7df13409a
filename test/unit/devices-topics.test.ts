import { describe, expect, it } from 'vitest'
import { isPublishTopic } from '../../src/devices/mqtt-link.ts'
import { TopicRouter, topicMatches } from '../../src/devices/topics.ts'

describe('topicMatches', () => {
  it.each([
    ['a/b/c', 'a/b/c', true],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['#', 'a/b', true],
    ['+/+', 'a/b/c', false],
    ['homeassistant/+/+/config', 'homeassistant/light/desk/config', true],
    ['homeassistant/+/+/config', 'homeassistant/light/node/desk/config', false],
    ['#', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
  ])('%s matches %s: %s', (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want)
  })
})

describe('TopicRouter', () => {
  it('asks to subscribe once per filter and to unsubscribe when its last handler goes', () => {
    const router = new TopicRouter<string>()
    expect(router.add('a/+', 'h1')).toBe(true)
    expect(router.add('a/+', 'h2')).toBe(false)
    expect(router.match('a/x').sort()).toEqual(['h1', 'h2'])
    expect(router.remove('a/+', 'h1')).toBe(false)
    expect(router.remove('a/+', 'h2')).toBe(true)
    expect(router.match('a/x')).toEqual([])
  })

  it('routes an exact topic and a matching wildcard filter to both handlers', () => {
    const router = new TopicRouter<string>()
    router.add('a/b', 'exact')
    router.add('a/#', 'wild')
    expect(router.match('a/b').sort()).toEqual(['exact', 'wild'])
  })
})

describe('isPublishTopic', () => {
  it('refuses wildcards, NUL, empty and overlong topics', () => {
    expect(isPublishTopic('zigbee2mqtt/plug/set')).toBe(true)
    for (const bad of ['', 'a/+/b', 'a/#', 'a\0b', 'x'.repeat(257)]) expect(isPublishTopic(bad)).toBe(false)
  })
})
