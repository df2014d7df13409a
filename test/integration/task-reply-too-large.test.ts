/**
 * A reply over the task protocol's frame limit (issue 23): a script's output that fits the sandbox's
 * `maxOutputBytes` (JSON) can still grow past MAX_FRAME_BYTES in msgpack, where every float is 9 bytes. It used
 * to reject unhandled in the task server and end the provider's process. Now the provider answers the requester
 * with an error it can act on, counts it, and stays up to serve the next task. The provider is a real
 * `kith start` process (an unhandled rejection ends it), the requester a node in this process, over TCP on
 * 127.0.0.1; the script runs in the real sandbox.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFrame, FrameError, MAX_FRAME_BYTES } from '../../src/execution/task-wire.ts'
import type { KithNode } from '../../src/node/node.ts'
import { type RunningNode, startCli, tempDir, waitFor } from '../helpers.ts'
import { startTestNode, writeNodeDir } from '../nodes.ts'

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

let cleanup: () => Promise<void>
let provider: RunningNode
let requester: KithNode

beforeAll(async () => {
  const t = await tempDir('kith-big-reply-')
  cleanup = t.cleanup
  const config = await writeNodeDir(join(t.dir, 'provider'), {
    files: { 'big.js': BIG, 'small.js': SMALL },
    yaml: [
      'mqtt: { broker: off }',
      `execution: { sandbox: { maxOutputBytes: ${MAX_OUTPUT_BYTES} } }`,
      'capabilities:',
      '  - { id: big, kind: script, title: A large output, script: big.js }',
      '  - { id: small, kind: script, title: Echo the input, script: small.js }',
    ],
  })
  provider = await startCli(config)
  requester = await startTestNode(join(t.dir, 'requester'), {
    bootstrap: [`${provider.ready.listen[0]}`],
    yaml: ['mqtt: { broker: off }'],
  })
  await waitFor(
    'the requester to know the provider',
    () => requester.discovery.store.get(provider.ready.peerId) != null,
  )
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
      attempts: [{ peer: provider.ready.peerId, status: 'error' }],
    })
    expect(big.error?.message).toContain(String(MAX_FRAME_BYTES))

    const small = await requester.execution.delegate({
      target: { capability: 'small' },
      input: { hi: 1 },
      timeoutMs: 30_000,
      budget: 1,
    })
    expect(small).toMatchObject({ ok: true, output: { echo: { hi: 1 } } })
    expect(provider.child.exitCode).toBeNull()
    const metrics = await (await fetch(`${provider.ready.api}/metrics`)).text()
    expect(metrics).toContain('kith_task_requests_refused_total{reason="output_too_large"} 1')
  })
})
