import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  BusyError,
  type Job,
  Scheduler,
  SchedulerStoppedError,
  TimeoutError,
} from '../../src/execution/scheduler.ts'
import type { ExecutionEvents } from '../../src/execution/events.ts'
import { EventBus } from '../../src/util/event-bus.ts'

/** A job that runs until the test releases it, recording when it started and what signal it got. */
function gated(id: string, opts: { priority?: number; deadline?: number; log?: string[] } = {}) {
  const { promise: gate, resolve: release } = Promise.withResolvers<string>()
  let signal: AbortSignal | undefined
  const job: Job<string> = {
    id,
    peer: 'peer-a',
    priority: opts.priority,
    deadline: opts.deadline ?? Date.now() + 60_000,
    run: (s) => {
      signal = s
      opts.log?.push(id)
      return gate
    },
  }
  return { job, release: () => release(id), signal: () => signal }
}

/** Lets pending promise callbacks run. */
const settle = () => vi.advanceTimersByTimeAsync(0)

let scheduler: Scheduler | undefined
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(async () => {
  const stopping = scheduler?.stop()
  await vi.runAllTimersAsync()
  await stopping
  scheduler = undefined
  vi.useRealTimers()
})

function make(init: ConstructorParameters<typeof Scheduler>[0]): Scheduler {
  scheduler = new Scheduler(init)
  scheduler.start()
  return scheduler
}

describe('Scheduler', () => {
  it('runs exactly maxConcurrent jobs at once and queues the rest', async () => {
    const s = make({ maxConcurrent: 3, maxQueue: 5 })
    const log: string[] = []
    const jobs = Array.from({ length: 8 }, (_, i) => gated(`t${i}`, { log }))
    const results = jobs.map((j) => s.submit(j.job))
    await settle()
    expect(log).toEqual(['t0', 't1', 't2'])
    expect([s.running, s.queued, s.size]).toEqual([3, 5, 8])
    jobs[1]!.release()
    await settle()
    expect(log).toEqual(['t0', 't1', 't2', 't3'])
    expect(s.running).toBe(3)
    for (const j of jobs) j.release()
    expect(await Promise.all(results)).toEqual(jobs.map((_, i) => `t${i}`))
    expect(s.size).toBe(0)
  })

  it('publishes its size on the bus each time it changes, and only then', async () => {
    const events = new EventBus<ExecutionEvents>()
    const sizes: number[] = []
    events.on('queue', ({ size }) => sizes.push(size))
    const s = make({ maxConcurrent: 1, maxQueue: 2, events })
    const jobs = Array.from({ length: 3 }, (_, i) => gated(`t${i}`))
    const results = jobs.map((j) => s.submit(j.job))
    await settle()
    expect(sizes).toEqual([1, 2, 3])
    for (const j of jobs) j.release()
    await Promise.all(results)
    expect(sizes.at(-1)).toBe(0)
    expect(sizes.at(-1)).toBe(s.size)
  })

  it('answers busy at once to the job beyond maxConcurrent + maxQueue', async () => {
    const s = make({ maxConcurrent: 2, maxQueue: 3 })
    const jobs = Array.from({ length: 6 }, (_, i) => gated(`t${i}`))
    const results = jobs.map((j) => s.submit(j.job))
    await expect(results[5]).rejects.toBeInstanceOf(BusyError)
    expect(s.size).toBe(5)
    expect(s.stats()).toMatchObject({ submitted: 6, accepted: 5, busy: 1 })
    for (const j of jobs) j.release()
    await Promise.allSettled(results)
  })

  it('runs queued jobs by priority, highest first, then in arrival order', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 10 })
    const log: string[] = []
    const blocker = gated('blocker', { log })
    const queued = [
      gated('low', { priority: 0, log }),
      gated('high-1', { priority: 5, log }),
      gated('mid', { priority: 1, log }),
      gated('high-2', { priority: 5, log }),
    ]
    const results = [blocker, ...queued].map((j) => s.submit(j.job))
    await settle()
    blocker.release()
    for (const j of queued) j.release()
    await Promise.all(results)
    expect(log).toEqual(['blocker', 'high-1', 'high-2', 'mid', 'low'])
  })

  it('drops a queued job whose deadline passes with a TimeoutError', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 4 })
    const log: string[] = []
    const blocker = gated('blocker', { log })
    const late = gated('late', { deadline: Date.now() + 100, log })
    const running = s.submit(blocker.job)
    const queued = s.submit(late.job)
    const assertion = expect(queued).rejects.toBeInstanceOf(TimeoutError)
    await vi.advanceTimersByTimeAsync(100)
    await assertion
    expect(s.queued).toBe(0)
    blocker.release()
    await running
    expect(log).toEqual(['blocker'])
    expect(s.stats()).toMatchObject({ completed: 1, failed: 1, expired: 1 })
  })

  it('aborts a running job at its deadline and frees the slot when the job returns', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 4 })
    const job: Job<string> = {
      id: 'slow',
      peer: 'p',
      deadline: Date.now() + 50,
      run: (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    }
    const result = s.submit(job)
    const assertion = expect(result).rejects.toBeInstanceOf(TimeoutError)
    await vi.advanceTimersByTimeAsync(50)
    await assertion
    expect(s.running).toBe(0)
    expect(s.stats()).toMatchObject({ failed: 1, expired: 1 })
  })

  it('releases the slot of a job that ignores its abort after the grace period', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 1, graceMs: 200 })
    const stuck = gated('stuck', { deadline: Date.now() + 50 })
    const next = gated('next')
    const first = s.submit(stuck.job)
    const assertion = expect(first).rejects.toBeInstanceOf(TimeoutError)
    const second = s.submit(next.job)
    await vi.advanceTimersByTimeAsync(50)
    await assertion
    expect(stuck.signal()?.aborted).toBe(true)
    expect(s.running).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(next.signal()).toBeDefined()
    next.release()
    expect(await second).toBe('next')
  })

  it('refuses a job whose deadline has already passed without running it', async () => {
    const s = make({ maxConcurrent: 1 })
    const log: string[] = []
    await expect(s.submit(gated('old', { deadline: Date.now() - 1, log }).job)).rejects.toBeInstanceOf(
      TimeoutError,
    )
    expect(log).toEqual([])
  })

  it('stops growing the queue while the node is loaded', async () => {
    let load = 0
    const s = make({ maxConcurrent: 1, maxQueue: 8, loadShedAt: 0.8, load: () => load })
    const jobs = Array.from({ length: 4 }, (_, i) => gated(`t${i}`))
    load = 0.9
    const results = jobs.map((j) => s.submit(j.job))
    await expect(results[2]).rejects.toBeInstanceOf(BusyError)
    await expect(results[3]).rejects.toBeInstanceOf(BusyError)
    expect([s.running, s.queued]).toEqual([1, 1])
    for (const j of jobs) j.release()
    await Promise.allSettled(results)
  })

  it('lets a higher-priority job displace the lowest queued one when the queue is full', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 2 })
    const log: string[] = []
    const [a, b, c, d] = ['run', 'q-low', 'q-mid', 'vip'].map((id, i) => gated(id, { priority: i, log }))
    const results = [a!, b!, c!, d!].map((j) => s.submit(j.job))
    await expect(results[1]).rejects.toThrow(/displaced/)
    for (const j of [a!, c!, d!]) j.release()
    await Promise.all([results[0], results[2], results[3]])
    expect(log).toEqual(['run', 'vip', 'q-mid'])
    expect(s.stats().busy).toBe(1)
  })

  it('counts a job that throws as failed and keeps going', async () => {
    const s = make({ maxConcurrent: 1 })
    const boom: Job<never> = {
      id: 'b',
      peer: 'p',
      deadline: Date.now() + 1000,
      run: () => Promise.reject(new Error('boom')),
    }
    await expect(s.submit(boom)).rejects.toThrow('boom')
    expect(await s.submit({ id: 'ok', peer: 'p', deadline: Date.now() + 1000, run: async () => 1 })).toBe(1)
    expect(s.stats()).toMatchObject({ completed: 1, failed: 1 })
  })

  it('on stop answers queued jobs busy, aborts running ones and refuses new ones', async () => {
    const s = make({ maxConcurrent: 1, maxQueue: 2 })
    const running = gated('running')
    const waiting = gated('waiting')
    const r1 = s.submit(running.job)
    const r2 = s.submit(waiting.job)
    await settle()
    const checks = [
      expect(r1).rejects.toBeInstanceOf(SchedulerStoppedError),
      expect(r2).rejects.toBeInstanceOf(BusyError),
    ]
    const stopping = s.stop()
    await Promise.all(checks)
    expect(running.signal()?.aborted).toBe(true)
    await expect(s.submit(gated('late').job)).rejects.toBeInstanceOf(BusyError)
    running.release()
    await stopping
    expect(s.size).toBe(0)
  })

  it('accounts for every one of 1,000 jobs submitted at once', async () => {
    const s = make({ maxConcurrent: 4, maxQueue: 16 })
    const results = Array.from({ length: 1000 }, (_, i) =>
      s.submit({
        id: `t${i}`,
        peer: `p${i % 4}`,
        deadline: Date.now() + 10_000,
        priority: i % 3,
        run: async () => {
          await new Promise((r) => setTimeout(r, 1))
          if (i % 7 === 0) throw new Error('script error')
          return i
        },
      }),
    )
    const outcomes = Promise.allSettled(results)
    await vi.runAllTimersAsync()
    const settled = await outcomes
    const stats = s.stats()
    expect(stats.completed + stats.busy + stats.failed).toBe(1000)
    expect(stats.submitted).toBe(1000)
    expect(stats.busy).toBe(1000 - 20)
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(stats.completed)
    const busy = settled.filter((r) => r.status === 'rejected' && r.reason instanceof BusyError)
    expect(busy).toHaveLength(stats.busy)
    expect(s.size).toBe(0)
  })
})
