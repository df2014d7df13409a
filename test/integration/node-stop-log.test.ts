/**
 * A real node (libp2p on 127.0.0.1, its embedded broker, node:sqlite) whose stop meets failures: a task
 * registered with `onStop` that throws, and a device bridge that does not stop cleanly. The node still stops,
 * and each failure leaves a warning that names the error (without a stack trace at the info level).
 */
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { createNode } from '../../src/node/node.ts'
import { createLogger } from '../../src/util/logger.ts'
import { tempDir } from '../helpers.ts'
import { writeNodeDir } from '../nodes.ts'

let root: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-stop-log-'))
})
afterAll(() => cleanup())

interface Line {
  component?: string
  level: number
  msg: string
  err?: { type?: string; message?: string; stack?: string }
}

describe('stopping a node whose parts fail to stop', () => {
  it('stops, and logs each failure instead of dropping it', async () => {
    const lines: Line[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n'))
          if (line.length > 0) lines.push(JSON.parse(line) as Line)
        done()
      },
    })
    const config = await loadConfig(await writeNodeDir(join(root, 'a')), { env: {} })
    const node = await createNode(config, createLogger('info', sink))
    await node.start()
    node.onStop(async () => {
      throw new Error('the demo plug would not stop')
    })
    node.devices.bridge.stop = async () => {
      throw new Error('a retained message could not be cleared')
    }
    await node.stop()
    const warned = lines.filter((l) => l.level === 40)
    expect(warned).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          component: 'kith:node',
          err: expect.objectContaining({ type: 'Error', message: 'the demo plug would not stop' }),
        }),
        expect.objectContaining({
          component: 'kith:devices',
          err: expect.objectContaining({ message: 'a retained message could not be cleared' }),
        }),
      ]),
    )
    expect(warned.every((l) => l.err?.stack === undefined)).toBe(true)
    expect(lines.at(-1)?.msg).toBe('node stopped')
  })
})
