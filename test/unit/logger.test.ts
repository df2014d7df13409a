/** The root logger: an error logged as `{ err }` keeps type and message, and its stack only at debug. */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { componentLogger, createLogger } from '../../src/util/logger.ts'

/** A stream that keeps each JSON line written to it, parsed. */
function capture(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.length > 0) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { stream, lines }
}

describe('createLogger', () => {
  it('writes an error’s type, message and code without its stack at info', () => {
    const { stream, lines } = capture()
    const log = componentLogger(createLogger('info', stream), 'kith:test')
    const err = Object.assign(new Error('disk full'), { code: 'ENOSPC' })
    log.warn({ err }, 'could not write the peer cache')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      component: 'kith:test',
      msg: 'could not write the peer cache',
      err: { type: 'Error', message: 'disk full', code: 'ENOSPC' },
    })
    expect(lines[0]?.err).not.toHaveProperty('stack')
  })

  it('keeps the stack once the level is debug, set at start or by a reload', () => {
    const { stream, lines } = capture()
    const root = createLogger('info', stream)
    const log = componentLogger(root, 'kith:test')
    root.level = 'debug'
    log.warn({ err: new Error('boom') }, 'failed')
    const { stream: debugStream, lines: debugLines } = capture()
    componentLogger(createLogger('debug', debugStream), 'kith:test').debug({ err: new Error('bang') }, 'x')
    for (const line of [lines[0], debugLines[0]])
      expect((line?.err as { stack?: string }).stack).toMatch(/^Error: (boom|bang)\n\s+at /)
  })
})
