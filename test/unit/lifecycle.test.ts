import { describe, expect, it } from 'vitest'
import { Lifecycle, type Startable } from '../../src/util/lifecycle.ts'

/** A part that writes each hook it runs into `calls`, and throws in the hooks listed in `fail`. */
function part(name: string, calls: string[], fail: Array<keyof Startable> = []): Startable {
  const hook = (h: keyof Startable) => async () => {
    await Promise.resolve()
    calls.push(`${h} ${name}`)
    if (fail.includes(h)) throw new Error(`${h} ${name} failed`)
  }
  return {
    start: hook('start'),
    afterStart: hook('afterStart'),
    beforeStop: hook('beforeStop'),
    stop: hook('stop'),
  }
}

describe('Lifecycle', () => {
  it('starts every part in order, then runs afterStart in order', async () => {
    const calls: string[] = []
    const life = new Lifecycle().add('a', part('a', calls)).add('b', part('b', calls))
    await life.start()
    expect(calls).toEqual(['start a', 'start b', 'afterStart a', 'afterStart b'])
  })

  it('stops in reverse: every beforeStop first, then every stop', async () => {
    const calls: string[] = []
    const life = new Lifecycle().add('a', part('a', calls)).add('b', part('b', calls))
    await life.start()
    calls.length = 0
    await life.stop()
    expect(calls).toEqual(['beforeStop b', 'beforeStop a', 'stop b', 'stop a'])
  })

  it('runs sync hooks and parts without hooks', async () => {
    const calls: string[] = []
    const life = new Lifecycle()
      .add('sync', { start: () => void calls.push('start'), stop: () => void calls.push('stop') })
      .add('empty', {})
    await life.start()
    await life.stop()
    expect(calls).toEqual(['start', 'stop'])
  })

  it('unwinds the parts started so far, the failing one included, and throws the cause', async () => {
    const calls: string[] = []
    const life = new Lifecycle()
      .add('a', part('a', calls))
      .add('b', part('b', calls, ['start']))
      .add('c', part('c', calls))
    await expect(life.start()).rejects.toThrow('start b failed')
    expect(calls).toEqual(['start a', 'start b', 'beforeStop b', 'beforeStop a', 'stop b', 'stop a'])
    calls.length = 0
    await life.stop()
    expect(calls).toEqual([])
  })

  it('unwinds every part when an afterStart fails', async () => {
    const calls: string[] = []
    const life = new Lifecycle().add('a', part('a', calls, ['afterStart'])).add('b', part('b', calls))
    await expect(life.start()).rejects.toThrow('afterStart a failed')
    expect(calls.slice(3)).toEqual(['beforeStop b', 'beforeStop a', 'stop b', 'stop a'])
  })

  it('keeps the cause when the clean-up fails too, and logs the clean-up failure at debug', async () => {
    const calls: string[] = []
    const logged: unknown[] = []
    const log = { debug: (fields: unknown) => logged.push(fields) } as never
    const life = new Lifecycle({ log })
      .add('a', part('a', calls, ['stop']))
      .add('b', part('b', calls, ['start', 'stop']))
    await expect(life.start()).rejects.toThrow('start b failed')
    expect(calls).toContain('stop a')
    expect(logged).toHaveLength(2)
  })

  it('stops every part past failures and throws the first failure', async () => {
    const calls: string[] = []
    const life = new Lifecycle()
      .add('a', part('a', calls, ['stop']))
      .add('b', part('b', calls, ['beforeStop']))
      .add('c', part('c', calls, ['stop']))
    await life.start()
    calls.length = 0
    await expect(life.stop()).rejects.toThrow('beforeStop b failed')
    expect(calls).toEqual(['beforeStop c', 'beforeStop b', 'beforeStop a', 'stop c', 'stop b', 'stop a'])
  })

  it('stops every part of a container that never started, and only once', async () => {
    const calls: string[] = []
    const life = new Lifecycle().add('a', part('a', calls)).add('b', part('b', calls))
    await life.stop()
    await life.stop()
    expect(calls).toEqual(['beforeStop b', 'beforeStop a', 'stop b', 'stop a'])
  })

  it('waits for a start under way before it stops', async () => {
    const calls: string[] = []
    const life = new Lifecycle().add('a', part('a', calls)).add('b', part('b', calls))
    const started = life.start()
    await life.stop()
    await started
    expect(calls).toEqual([
      'start a',
      'start b',
      'afterStart a',
      'afterStart b',
      'beforeStop b',
      'beforeStop a',
      'stop b',
      'stop a',
    ])
  })

  it('refuses a second part of the same name, and parts added after start', async () => {
    const life = new Lifecycle().add('a', {})
    expect(() => life.add('a', {})).toThrow('already added')
    await life.start()
    expect(() => life.add('b', {})).toThrow('already started')
    expect(life.names).toEqual(['a'])
  })
})
