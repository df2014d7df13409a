import { describe, expect, it } from 'vitest'
import { isPublishTopic } from '../../src/devices/mqtt-link.ts'
import { TopicRouter, topicMatches } from '../../src/devices/topics.ts'
import { MAX_DISCOVERED_TOPIC_BYTES, MAX_TOPIC_BYTES, topicProblem } from '../../src/util/mqtt-topic.ts'

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

describe('topicProblem', () => {
  it('accepts a plain topic and refuses what MQTT forbids in one to publish to', () => {
    expect(topicProblem('zigbee2mqtt/plug/set')).toBeUndefined()
    expect(topicProblem('zigbee2mqtt/+/set')).toBe('contains a wildcard (+ or #)')
    expect(topicProblem('a/#')).toBe('contains a wildcard (+ or #)')
    expect(topicProblem('a/\u0000b')).toBe('contains a NUL or control character')
    expect(topicProblem('$SYS/broker')).toMatch(/^starts with "\$"/)
    expect(topicProblem('a//b')).toMatch(/^has an empty level/)
    expect(topicProblem('a/../b')).toBe('has a "." or ".." level')
    expect(topicProblem('')).toBe('is empty')
    expect(topicProblem(7)).toBe('is not a string')
  })

  it('measures length in UTF-8 bytes, against the bound the call site gives', () => {
    expect(topicProblem('a'.repeat(MAX_TOPIC_BYTES))).toBeUndefined()
    expect(topicProblem('a'.repeat(MAX_TOPIC_BYTES + 1))).toBe(`is longer than ${MAX_TOPIC_BYTES} bytes`)
    const wide = 'é'.repeat(MAX_DISCOVERED_TOPIC_BYTES / 2 + 1)
    expect(topicProblem(wide)).toBeUndefined()
    expect(topicProblem(wide, { maxBytes: MAX_DISCOVERED_TOPIC_BYTES })).toBe(
      `is longer than ${MAX_DISCOVERED_TOPIC_BYTES} bytes`,
    )
  })

  it('refuses a brace left in a topic filled from a template, and only there', () => {
    expect(topicProblem('home/{idx}/set')).toBeUndefined()
    expect(topicProblem('home/{idx}/set', { filled: true })).toMatch(/placeholder/)
  })
})
