import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { ClockOffset, watchClock } from '../../src/discovery/clock-offset.ts'
import type { DiscoveryEvents } from '../../src/discovery/events.ts'
import { EventBus } from '../../src/util/event-bus.ts'

describe('ClockOffset', () => {
  it('takes the median over peers, so one peer off does not make this node suspect', () => {
    const now = 1_000_000
    const clock = new ClockOffset({ now: () => now })
    expect(clock.estimate()).toEqual({ offsetMs: 0, peers: 0, suspect: false, outliers: [] })
    clock.observe('a', now + 40)
    clock.observe('b', now - 20)
    clock.observe('c', now + 300_000)
    const e = clock.estimate()
    expect(e).toMatchObject({ offsetMs: 40, peers: 3, suspect: false })
    expect(e.outliers).toEqual([{ peer: 'c', offsetMs: 300_000 }])
  })

  it('is suspect of this node when enough peers agree its clock is off, never on one peer alone', () => {
    const now = 5_000_000
    const clock = new ClockOffset({ now: () => now })
    clock.observe('a', now - 300_000)
    expect(clock.estimate()).toMatchObject({ offsetMs: -300_000, peers: 1, suspect: false })
    clock.observe('b', now - 299_000)
    expect(clock.estimate()).toMatchObject({ offsetMs: -299_500, peers: 2, suspect: true })
  })

  it('publishes the estimate when its verdict changes (suspect, outliers), not on every notice', () => {
    const now = 5_000_000
    const events = new EventBus<DiscoveryEvents>()
    const heard: boolean[] = []
    events.on('clock', (e) => heard.push(e.suspect))
    const clock = new ClockOffset({ now: () => now, events })
    clock.observe('a', now + 10)
    clock.observe('a', now + 20)
    clock.observe('d', now + 15)
    expect(heard).toEqual([])
    // one peer off: an outlier, this node not suspect; half the peers off: suspect; one more outlier
    clock.observe('b', now - 300_000)
    clock.observe('c', now - 300_000)
    clock.observe('e', now - 300_000)
    clock.observe('e', now - 300_001)
    expect(heard).toEqual([false, true, true])
  })

  it('keeps the latest sample per peer, forgets old ones and bounds the peers it remembers', () => {
    let now = 0
    const clock = new ClockOffset({ now: () => now, maxPeers: 2, maxAgeMs: 1_000 })
    clock.observe('a', 100_000)
    clock.observe('a', 5)
    clock.observe('b', 7)
    clock.observe('c', 9)
    expect(clock.estimate()).toMatchObject({ peers: 2, offsetMs: 8 })
    now = 2_000
    expect(clock.estimate().peers).toBe(0)
    clock.observe('x', Number.NaN)
    expect(clock.estimate().peers).toBe(0)
  })

  it('gives one peer’s offset while its sample is recent', () => {
    let now = 10_000
    const clock = new ClockOffset({ now: () => now, maxAgeMs: 1_000 })
    expect(clock.of('a')).toBeUndefined()
    clock.observe('a', now - 10_000)
    expect(clock.of('a')).toBe(-10_000)
    now += 1_001
    expect(clock.of('a')).toBeUndefined()
  })

  it('warns once when this node becomes suspect and notes when it agrees again', () => {
    const now = 10_000_000
    const clock = new ClockOffset({ now: () => now })
    const logged: string[] = []
    const log = {
      warn: (_: object, msg: string) => logged.push(`warn ${msg}`),
      info: (_: object, msg: string) => logged.push(`info ${msg}`),
    }
    // fake timers: each advance runs the watch's look six times, exactly, whatever the machine's load
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    onTestFinished(() => {
      vi.useRealTimers()
    })
    const stop = watchClock(clock, log, { everyMs: 5, now: () => now })
    clock.observe('a', now + 120_000)
    clock.observe('b', now + 120_000)
    vi.advanceTimersByTime(30)
    expect(logged.filter((l) => l.includes("this node's clock"))).toHaveLength(1)
    clock.observe('a', now)
    clock.observe('b', now)
    vi.advanceTimersByTime(30)
    expect(logged.at(-1)).toBe('info clock agrees with peers again')
    // one peer off: a warning about that peer, once within the hour
    clock.observe('c', now + 120_000)
    clock.observe('d', now)
    vi.advanceTimersByTime(30)
    expect(logged.filter((l) => l.includes("a peer's clock"))).toHaveLength(1)
    stop()
  })
})
