import { describe, expect, it } from 'vitest'
import { TokenBucket, TokenBuckets } from '../../src/util/token-bucket.ts'

/** A clock the test moves by hand. */
function fakeClock(start = 1_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('TokenBucket', () => {
  it('starts full, spends down to empty and refuses without taking', () => {
    const clock = fakeClock()
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 3, now: clock.now })
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
    expect(bucket.take(2)).toBe(false)
    expect(bucket.tokens).toBe(0)
  })

  it('refills at the rate up to the burst', () => {
    const clock = fakeClock()
    const bucket = new TokenBucket({ ratePerSec: 2, burst: 4, now: clock.now })
    expect(bucket.take(4)).toBe(true)
    clock.advance(500)
    expect(bucket.tokens).toBe(1)
    clock.advance(60_000)
    expect(bucket.tokens).toBe(4)
  })

  it('refills nothing when the clock steps back', () => {
    const clock = fakeClock()
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5, now: clock.now })
    bucket.take(5)
    clock.advance(-10_000)
    expect(bucket.tokens).toBe(0)
  })

  it('takes the time from the caller when given', () => {
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 1, now: () => 0 }, 0)
    expect(bucket.take(1, 0)).toBe(true)
    expect(bucket.take(1, 500)).toBe(false)
    expect(bucket.take(1, 1_500)).toBe(true)
  })
})

describe('TokenBuckets', () => {
  it('keeps one bucket per key', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1, now: clock.now })
    expect(buckets.take('a')).toBe(true)
    expect(buckets.take('a')).toBe(false)
    expect(buckets.take('b')).toBe(true)
    clock.advance(1_000)
    expect(buckets.take('a')).toBe(true)
  })

  it('forgets the least recently used key beyond maxKeys, which then starts full', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets({ ratePerSec: 0, burst: 1, maxKeys: 2, now: clock.now })
    buckets.take('a')
    buckets.take('b')
    buckets.take('a') // a is now the most recently used
    buckets.take('c') // forgets b
    expect(buckets.size).toBe(2)
    expect(buckets.take('a')).toBe(false)
    expect(buckets.take('b')).toBe(true)
  })

  it('starts a new key at the time the caller gives', () => {
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1 })
    expect(buckets.take('a', 1, 10_000)).toBe(true)
    expect(buckets.take('a', 1, 10_500)).toBe(false)
    expect(buckets.take('a', 1, 11_000)).toBe(true)
  })
})
