/**
 * Tasks through the real CLI and a real node process: a script capability run in the QuickJS sandbox by
 * `kith call` and `kith run`, and the task journal across a crash (SIGKILL) and restart.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiJson, runCli, startCli, tempDir, waitFor } from '../helpers.ts'

let dir: string
let config: string
let cleanup: () => Promise<void>

beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-tasks-'))
  const init = await runCli([
    'init',
    '--dir',
    dir,
    '--api',
    '127.0.0.1:0',
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
  ])
  expect(init.code).toBe(0)
  config = join(dir, 'kith.yaml')
  await writeFile(
    join(dir, 'double.js'),
    'function run(input) { return { value: input.x * 2, now: Date.now() } }\n',
  )
  await writeFile(
    join(dir, 'spin.js'),
    'function run(input) { const end = Date.now() + input.ms; while (Date.now() < end) {} return "done" }\n',
  )
  await writeFile(
    config,
    [
      'api: 127.0.0.1:0',
      'network:',
      '  listen: [/ip4/127.0.0.1/tcp/0]',
      'execution: { maxTaskTimeout: 60000 }',
      'capabilities:',
      '  - { id: double, kind: script, title: Double a number, script: double.js, deterministic: true }',
      '  - { id: spin, kind: script, title: Spin for a while, script: spin.js }',
      '',
    ].join('\n'),
  )
})

afterAll(() => cleanup())

describe('tasks end to end', () => {
  it('kith call runs a script capability in the sandbox, deterministically', async () => {
    const node = await startCli(config)
    try {
      const res = await runCli(['call', 'double', '--input', '{"x":21}', '--api', node.ready.api, '--json'])
      expect(res.stderr).toBe('')
      expect(res.code).toBe(0)
      const task = JSON.parse(res.stdout) as {
        ok: boolean
        output: { value: number; now: number }
        local: boolean
      }
      expect(task).toMatchObject({ ok: true, local: true, output: { value: 42, now: 0 } })

      const bad = await runCli(['call', 'double', '--input', '{nope', '--api', node.ready.api])
      expect(bad.code).toBe(2)

      await writeFile(
        join(dir, 'wf.yaml'),
        'name: twice\nsteps:\n  - id: a\n    capability: double\n    input: { x: 2 }\n  - id: b\n    capability: double\n    input: { x: "${steps.a.output.value}" }\noutput: "${steps.b.output.value}"\n',
      )
      const run = await runCli(['run', join(dir, 'wf.yaml'), '--api', node.ready.api])
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/workflow twice: ok/)
      expect(run.stdout.trim().split('\n').at(-1)).toBe('8')

      await writeFile(
        join(dir, 'broken.yaml'),
        'name: broken\nsteps:\n  - id: a\n    capability: double\n    inputs: {}\n',
      )
      const broken = await runCli(['run', join(dir, 'broken.yaml'), '--api', node.ready.api])
      expect(broken.code).toBe(78)
      expect(broken.stderr).toMatch(/broken.yaml:5: steps.0.inputs: unknown key/)
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })

  it('marks a task in flight at a crash as interrupted after the restart, never reruns it', async () => {
    const node = await startCli(config)
    const pending = fetch(`${node.ready.api}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capability: 'spin', input: { ms: 20_000 }, timeoutMs: 30_000 }),
    }).catch(() => undefined)
    // the script spins in a sandbox worker; once the journal lists it in flight (queued or running), crash
    await waitFor('the spin to be journalled in flight', async () => {
      const { tasks } = await apiJson<{ tasks: Array<{ status: string; cap: string }> }>(
        node.ready.api,
        '/v1/tasks?limit=10',
      )
      return tasks.some((t) => t.cap === 'spin' && (t.status === 'queued' || t.status === 'running'))
    })
    await node.stop('SIGKILL')
    await pending

    const again = await startCli(config)
    try {
      const res = (await (await fetch(`${again.ready.api}/v1/tasks?limit=10`)).json()) as {
        tasks: Array<{ status: string; cap: string; direction: string }>
      }
      const spins = res.tasks.filter((t) => t.cap === 'spin' || t.cap === '(intent)')
      expect(spins.length).toBeGreaterThan(0)
      expect(spins.every((t) => t.status === 'interrupted')).toBe(true)
      expect(again.stderr()).toMatch(/marked interrupted/)
    } finally {
      await again.stop()
    }
  })
})
