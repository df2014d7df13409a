import { describe, expect, it } from 'vitest'
import { EventBus, type Events } from '../../src/util/event-bus.ts'

interface TestEvents {
  put: { peer: string }
  gone: { peer: string; why: string }
}

describe('EventBus', () => {
  it('calls the listeners of an event in the order they subscribed, with its payload', () => {
    const bus = new EventBus<TestEvents>()
    const heard: string[] = []
    bus.on('put', ({ peer }) => heard.push(`first ${peer}`))
    bus.on('put', ({ peer }) => heard.push(`second ${peer}`))
    bus.on('gone', ({ peer }) => heard.push(`gone ${peer}`))
    bus.emit('put', { peer: 'a' })
    expect(heard).toEqual(['first a', 'second a'])
  })

  it('calls a listener subscribed twice to one event once', () => {
    const bus = new EventBus<TestEvents>()
    let calls = 0
    const listener = () => calls++
    bus.on('put', listener)
    const off = bus.on('put', listener)
    bus.emit('put', { peer: 'a' })
    off()
    bus.emit('put', { peer: 'a' })
    expect(calls).toBe(1)
  })

  it('stops calling a listener once its unsubscribe ran', () => {
    const bus = new EventBus<TestEvents>()
    let calls = 0
    const off = bus.on('put', () => calls++)
    bus.emit('put', { peer: 'a' })
    off()
    off()
    bus.emit('put', { peer: 'a' })
    expect(calls).toBe(1)
    expect(bus.listenerCount()).toBe(0)
  })

  it('removes every listener of an owner on every event, and no one else', () => {
    const bus = new EventBus<TestEvents>()
    const owner = {}
    const heard: string[] = []
    bus.on('put', () => heard.push('owned put'), owner)
    bus.on('gone', () => heard.push('owned gone'), owner)
    bus.on('put', () => heard.push('other put'))
    bus.off(owner)
    bus.emit('put', { peer: 'a' })
    bus.emit('gone', { peer: 'a', why: 'expired' })
    expect(heard).toEqual(['other put'])
    expect(bus.listenerCount('put')).toBe(1)
  })

  it('logs a listener that throws and still calls the others', () => {
    const warned: unknown[] = []
    const bus = new EventBus<TestEvents>({ log: { warn: (fields: unknown) => warned.push(fields) } as never })
    const heard: string[] = []
    bus.on('put', () => {
      throw new Error('a listener bug')
    })
    bus.on('put', () => heard.push('second'))
    bus.emit('put', { peer: 'a' })
    expect(heard).toEqual(['second'])
    expect(warned).toEqual([expect.objectContaining({ event: 'put' })])
  })

  it('without a log, throws the first failure to the emitter once every listener ran', () => {
    const bus = new EventBus<TestEvents>()
    const heard: string[] = []
    bus.on('put', () => {
      throw new Error('first bug')
    })
    bus.on('put', () => {
      throw new Error('second bug')
    })
    bus.on('put', () => heard.push('third'))
    expect(() => bus.emit('put', { peer: 'a' })).toThrow('first bug')
    expect(heard).toEqual(['third'])
  })

  it('lets a listener subscribe or unsubscribe while an event is delivered, from the next event on', () => {
    const bus = new EventBus<TestEvents>()
    const heard: string[] = []
    const offSecond = bus.on('put', () => {
      heard.push('first')
      offSecond()
      bus.on('put', () => heard.push('late'))
    })
    bus.on('put', () => heard.push('second'))
    bus.emit('put', { peer: 'a' })
    expect(heard).toEqual(['first', 'second'])
  })

  it('is handed to a plane typed to the plane’s own events', () => {
    const bus = new EventBus<TestEvents & { other: number }>()
    const plane: Events<TestEvents> = bus
    let heard = ''
    plane.on('gone', ({ why }) => (heard = why))
    bus.emit('gone', { peer: 'a', why: 'evicted' })
    expect(heard).toBe('evicted')
  })
})
