import { describe, expect, it } from 'vitest'
import { ToolCatalog } from '../../src/api/mcp/catalog.ts'
import { confirmAction, type ElicitAnswer } from '../../src/api/mcp/confirm.ts'
import { fixedTools } from '../../src/api/mcp/fixed-tools.ts'
import { annotationsFor, toolInput } from '../../src/api/mcp/tool-shape.ts'
import { ToolListWatcher } from '../../src/api/mcp/watcher.ts'
import { capTimeout } from '../../src/api/mcp/workflow-tool.ts'
import { parseWorkflow } from '../../src/execution/workflow/index.ts'
import type { LiveProvider } from '../../src/api/mcp/backend.ts'
import type { Capability } from '../../src/discovery/descriptor.ts'

const cap = (id: string, extra: Partial<Capability> = {}): Capability => ({
  id,
  title: id,
  description: '',
  tags: [],
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
  ...extra,
})

describe('annotations from kind and risk', () => {
  it('marks sensor reads and low-risk scripts read-only', () => {
    expect(annotationsFor(cap('t', { kind: 'sensor' }))).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    })
    expect(annotationsFor(cap('s'))).toMatchObject({ readOnlyHint: true, openWorldHint: false })
  })

  it('marks device actions and anything high-risk destructive', () => {
    expect(annotationsFor(cap('plug', { kind: 'device', risk: 'medium' }))).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      openWorldHint: true,
    })
    expect(annotationsFor(cap('wipe', { risk: 'high' }))).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    })
    expect(annotationsFor(cap('resize', { risk: 'medium' }))).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
    })
  })
})

describe('tool input schemas', () => {
  it('turns an empty schema into an object and keeps object schemas', () => {
    expect(toolInput({}, false)).toEqual({ inputSchema: { type: 'object', properties: {} }, wrapped: false })
    const schema = { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'] }
    expect(toolInput(schema, false)).toEqual({ inputSchema: schema, wrapped: false })
  })

  it('adds confirm to high-risk tools', () => {
    const { inputSchema } = toolInput({ type: 'object', properties: { on: { type: 'boolean' } } }, true)
    expect(Object.keys(inputSchema.properties ?? {})).toEqual(['on', 'confirm'])
  })

  it('wraps what is not a plain object schema as the input argument', () => {
    expect(toolInput({ type: 'number' }, false)).toEqual({
      inputSchema: { type: 'object', properties: { input: { type: 'number' } }, required: ['input'] },
      wrapped: true,
    })
    expect(toolInput({ type: 'object', properties: { a: true } }, false).wrapped).toBe(true)
    const own = { type: 'object', properties: { confirm: { type: 'string' } } }
    expect(toolInput(own, false).wrapped).toBe(false)
    expect(toolInput(own, true).wrapped).toBe(true)
  })
})

describe('confirmation of high-risk calls', () => {
  const asking = (answer: ElicitAnswer | Error) => async () => {
    if (answer instanceof Error) throw answer
    return answer
  }

  it('without elicitation, needs confirm: true and says how to give it', async () => {
    const refused = await confirmAction({ what: 'door.unlock', confirmArgument: undefined })
    expect(refused).toMatchObject({ ok: false, message: expect.stringMatching(/"confirm": true/) })
    expect(await confirmAction({ what: 'door.unlock', confirmArgument: 'yes' })).toMatchObject({ ok: false })
    expect(await confirmAction({ what: 'door.unlock', confirmArgument: true })).toEqual({
      ok: true,
      by: 'argument',
    })
  })

  it('with elicitation, only the user decides', async () => {
    const yes = asking({ action: 'accept', content: { confirm: true } })
    expect(await confirmAction({ what: 'x', confirmArgument: undefined, elicit: yes })).toEqual({
      ok: true,
      by: 'elicitation',
    })
    for (const answer of [
      { action: 'decline' as const },
      { action: 'cancel' as const },
      { action: 'accept' as const, content: { confirm: false } },
      new Error('timed out'),
    ]) {
      const outcome = await confirmAction({ what: 'x', confirmArgument: true, elicit: asking(answer) })
      expect(outcome.ok).toBe(false)
    }
  })
})

describe('the tool catalog', () => {
  const providers = (n: number): LiveProvider[] => [
    {
      peer: 'peer-a',
      local: false,
      caps: Array.from({ length: n }, (_, i) => cap(`cap.${String(i).padStart(3, '0')}`)),
    },
    { peer: 'peer-self', local: true, caps: [cap('mine', { risk: 'high' })] },
  ]

  it("lists this node's first, cuts at the cap and says how many were left out", async () => {
    const catalog = new ToolCatalog(async () => providers(10), { maxTools: 5 })
    const snapshot = await catalog.snapshot()
    expect(snapshot.tools.map((t) => t.name)).toEqual(['mine', 'cap_000', 'cap_001', 'cap_002', 'cap_003'])
    expect(snapshot.omitted).toBe(6)
    expect(snapshot.offers.get('cap.009')).toHaveLength(1)
    expect(snapshot.byName.get('mine')?.confirm).toBe(true)
    expect(fixedTools(snapshot.omitted)[0]?.description).toMatch(/truncated: 6 live capabilities/)
  })

  it('reuses the snapshot while nothing changed, and remembers tools that went away', async () => {
    let live = providers(2)
    const catalog = new ToolCatalog(async () => live)
    const first = await catalog.snapshot()
    expect(await catalog.snapshot()).toBe(first)
    live = [live[1] as LiveProvider]
    const second = await catalog.snapshot()
    expect(second.key).not.toBe(first.key)
    expect(catalog.retired('cap_000')).toMatchObject({ peer: 'peer-a', capability: { id: 'cap.000' } })
    expect(catalog.retired('mine')).toBeUndefined()
  })

  it('tells subscribers once per change, not when descriptors merely refresh', async () => {
    let live = providers(1)
    const catalog = new ToolCatalog(async () => live)
    const watcher = new ToolListWatcher({ catalog, intervalMs: 60_000 })
    let told = 0
    const off = watcher.subscribe(() => told++)
    await watcher.poll()
    // a refreshed descriptor: new objects, same capabilities
    live = providers(1).map((p) => ({ ...p, caps: p.caps.map((c) => ({ ...c })) }))
    await watcher.poll()
    expect(told).toBe(0)
    live = providers(3)
    await watcher.poll()
    await watcher.poll()
    expect(told).toBe(1)
    off()
  })
})

describe('workflows through MCP', () => {
  it('lowers a workflow timeout beyond what a call may last, in YAML and JSON alike', () => {
    const yaml = 'name: w\ntimeoutMs: 600000\nsteps:\n  - { id: a, capability: echo }\n'
    expect(parseWorkflow(capTimeout(yaml, parseWorkflow(yaml, 'w')), 'w').timeoutMs).toBe(25_000)
    const json = JSON.stringify({ name: 'w', steps: [{ id: 'a', capability: 'echo' }] })
    expect(parseWorkflow(capTimeout(json, parseWorkflow(json, 'w')), 'w').timeoutMs).toBe(25_000)
    const short = 'name: w\ntimeoutMs: 5000\nsteps:\n  - { id: a, capability: echo }\n'
    expect(capTimeout(short, parseWorkflow(short, 'w'))).toBe(short)
  })
})
