/**
 * How long `kith call`, `kith run` and `kith mcp` wait for the node: as long as the request's own deadline, plus
 * a margin (issue 23: a fixed 30 s gave up on tasks allowed 60 s and workflows allowed 300 s).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_TASK_TIMEOUT_MS } from '../../src/api/tasks.ts'
import { configSchema } from '../../src/config/schema.ts'
import {
  apiClient,
  clientWaitMs,
  DEADLINE_MARGIN_MS,
  DEFAULT_WAIT_MS,
  taskDeadlineMs,
} from '../../src/cli/client.ts'
import { DEFAULT_WORKFLOW_TIMEOUT_MS, parseWorkflow } from '../../src/execution/workflow/index.ts'

describe('the CLI waits as long as the request may take', () => {
  it('waits past a task deadline of 60 s', () => {
    expect(clientWaitMs({ deadlineMs: taskDeadlineMs({ timeoutMs: 60_000 }) })).toBe(
      60_000 + DEADLINE_MARGIN_MS,
    )
  })

  it('waits past the longest deadline a node may give a task that states none', () => {
    const wait = clientWaitMs({ deadlineMs: taskDeadlineMs({}) })
    expect(wait).toBeGreaterThan(MAX_TASK_TIMEOUT_MS)
    // the node's own default deadline is bounded by the same ceiling
    const fits = (ms: number) =>
      configSchema.safeParse({ execution: { taskTimeout: ms, maxTaskTimeout: ms } }).success
    expect(fits(MAX_TASK_TIMEOUT_MS)).toBe(true)
    expect(fits(MAX_TASK_TIMEOUT_MS + 1)).toBe(false)
  })

  it("waits past a workflow's deadline: 300 s by default, or the one the file states", () => {
    const plain = parseWorkflow('name: w\nsteps:\n  - id: a\n    capability: echo\n', 'w.yaml')
    expect(plain.timeoutMs).toBe(DEFAULT_WORKFLOW_TIMEOUT_MS)
    expect(clientWaitMs({ deadlineMs: plain.timeoutMs })).toBe(300_000 + DEADLINE_MARGIN_MS)
    const long = parseWorkflow(
      'name: w\ntimeoutMs: 900000\nsteps:\n  - id: a\n    capability: echo\n',
      'w.yaml',
    )
    expect(clientWaitMs({ deadlineMs: long.timeoutMs })).toBe(900_000 + DEADLINE_MARGIN_MS)
  })

  it('keeps 30 s for a request without a deadline, or with one that is no number', () => {
    expect(clientWaitMs()).toBe(DEFAULT_WAIT_MS)
    expect(clientWaitMs({ deadlineMs: Number('abc') })).toBe(DEFAULT_WAIT_MS)
    expect(DEFAULT_WAIT_MS).toBe(30_000)
  })
})

describe('the API client', () => {
  afterEach(() => vi.restoreAllMocks())

  // no socket: fetch answers at once, and what matters is the deadline the client gave its request
  async function waitOf(send: (client: Awaited<ReturnType<typeof apiClient>>) => Promise<unknown>) {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => Response.json({ ok: true }))
    const timeout = vi.spyOn(AbortSignal, 'timeout')
    await send(await apiClient({ api: 'http://127.0.0.1:1', token: 't' }))
    return timeout.mock.calls.map(([ms]) => ms)
  }

  it('gives a task its deadline plus the margin', async () => {
    const waits = await waitOf((c) => c.post('/v1/tasks', { capability: 'x' }, { deadlineMs: 60_000 }))
    expect(waits).toEqual([60_000 + DEADLINE_MARGIN_MS])
  })

  it('gives a status request the default', async () => {
    expect(await waitOf((c) => c.get('/v1/status'))).toEqual([DEFAULT_WAIT_MS])
  })
})
