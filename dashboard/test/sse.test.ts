import { describe, expect, it } from 'vitest'
import { SseParser } from '../src/sse.ts'

describe('SseParser', () => {
  it('returns a named event once the blank line ends it', () => {
    const parser = new SseParser()
    expect(parser.push('event: peers\ndata: {"at":1}\n')).toEqual([])
    expect(parser.push('\n')).toEqual([{ event: 'peers', data: '{"at":1}' }])
  })

  it('joins an event split anywhere across chunks, CRLF included', () => {
    const parser = new SseParser()
    const text = 'event: tasks\r\ndata: {"at":2}\r\n\r\nevent: trust\r\ndata: {"at":3}\r\n\r\n'
    const events = [...text].flatMap((c) => parser.push(c))
    expect(events).toEqual([
      { event: 'tasks', data: '{"at":2}' },
      { event: 'trust', data: '{"at":3}' },
    ])
  })

  it('skips comments (the heartbeat) and fields it does not use', () => {
    const parser = new SseParser()
    expect(parser.push(': ping\n\nretry: 2000\nevent: hello\ndata: {}\n\n')).toEqual([
      { event: 'hello', data: '{}' },
    ])
  })

  it('joins data lines with a newline and names an unnamed event "message"', () => {
    expect(new SseParser().push('data: a\ndata:b\n\n')).toEqual([{ event: 'message', data: 'a\nb' }])
  })
})
