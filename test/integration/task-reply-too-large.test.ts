/**
 * A reply over the task protocol's frame limit (issue 23): a script's output that fits the sandbox's
 * `maxOutputBytes` (JSON) can still grow past MAX_FRAME_BYTES in msgpack, where every float is 9 bytes. The
 * provider answers the requester with an error it can act on, counts it, and stays up to serve the next task.
 * Two real nodes over TCP on 127.0.0.1, the script run by the real sandbox.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFrame, FrameError, MAX_FRAME_BYTES } from '../../src/execution/task-wire.ts'
import type { KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

/** Elements of the script's output array: `0.1,` is 4 bytes of JSON and 9 of msgpack (a float64). */
const FLOATS = 250_000
const MAX_OUTPUT_BYTES = 1024 * 1024

const BIG = `function run(input) {
  var out = []
  for (var i = 0; i < ${FLOATS}; i++) out.push(0.1)
  return out
}
`
const SMALL = 'function run(input) { return { echo: input } }\n'

let root: string
let cleanup: () => Promise<void>
let provider: KithNode
let requester: KithNode

beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-big-reply-'))
  const dir = join(root, 'provider')
  await mkdir(dir, { recursive: true })
  await writeText(dir, 'big.js', BIG)
  await writeText(dir, 'small.js', SMALL)
  provider = await startTestNode(dir, {
    yaml: [
      'mqtt: { broker: off }',
      `execution: { maxTaskTimeout: 60000, sandbox: { maxOutputBytes: ${MAX_OUTPUT_BYTES} } }`,
      'capabilities:',
      '  - { id: big, kind: script, title: A large output, script: big.js }',
      '  - { id: small, kind: script, title: Echo the input, script: small.js }',
    ],
  })
  requester = await startTestNode(join(root, 'requester'), {
    bootstrap: [provider.host.getMultiaddrs()[0]!.toString()],
    yaml: ['mqtt: { broker: off }'],
  })
  const peer = provider.host.peerId.toString()
  await waitFor('the requester to know the provider', () => requester.discovery.store.get(peer) != null)
}, 60_000)

afterAll(async () => {
  await requester?.stop().catch(() => {})
  await provider?.stop().catch(() => {})
  await cleanup?.()
})

describe('a reply over the frame limit', () => {
  it('is over the limit in msgpack while its JSON fits the sandbox', () => {
    const output = Array.from({ length: FLOATS }, () => 0.1)
    expect(JSON.stringify(output).length).toBeLessThanOrEqual(MAX_OUTPUT_BYTES)
    expect(() => encodeFrame({ t: 'res', id: 'x', status: 'ok', output })).toThrow(FrameError)
  })

  it('reaches the requester as output_too_large, is counted, and the provider serves the next task', async () => {
    const big = await requester.execution.delegate({
      target: { capability: 'big' },
      input: {},
      timeoutMs: 30_000,
      budget: 1,
    })
    expect(big).toMatchObject({
      ok: false,
      status: 'error',
      error: { code: 'output_too_large' },
      attempts: [{ peer: provider.host.peerId.toString(), status: 'error' }],
    })
    expect(big.error?.message).toContain(String(MAX_FRAME_BYTES))
    expect(provider.execution.refused().output_too_large).toBe(1)

    const small = await requester.execution.delegate({
      target: { capability: 'small' },
      input: { hi: 1 },
      timeoutMs: 30_000,
      budget: 1,
    })
    expect(small).toMatchObject({ ok: true, output: { echo: { hi: 1 } } })
  })
})
