import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DelegateResult } from '../../src/execution/delegate.ts'
import {
  BadReferenceError,
  loadWorkflow,
  MAX_STEPS,
  parseReference,
  parseWorkflow,
  resolveValue,
  runWorkflow,
  type StepDelegate,
  type StepRequest,
  WorkflowError,
} from '../../src/execution/workflow/index.ts'

const EXAMPLE = `name: evening
timeoutMs: 30000
steps:
  - id: temp
    capability: sensor.living-temp
    input: { unit: C }
  - id: heat
    capability: thermostat.hall
    input: { target: "\${steps.temp.output.celsius}" }
    needs: [temp]
    timeoutMs: 5000
    budget: 2
    tier: 2
  - id: note
    intent: "say something"
    tags: [speaker]
    optional: true
output: "\${steps.heat.output}"
`

/** The problems a bad workflow text produces, formatted as the CLI prints them. */
function problemsOf(text: string): string[] {
  try {
    parseWorkflow(text, 'wf.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowError)
    return (err as WorkflowError).message.split('\n')
  }
  throw new Error('expected a WorkflowError')
}

function ok(output: unknown, extra: Partial<DelegateResult> & { tier?: 1 | 2 | 3 } = {}): DelegateResult {
  return {
    ok: true,
    status: 'ok',
    output,
    provider: 'peer-b',
    local: false,
    attempts: [{ peer: 'peer-b', local: false, status: 'ok', ms: 1 }],
    fallbacks: 0,
    tier: 1,
    checks: [],
    ...extra,
  }
}

function failed(code = 'error'): DelegateResult {
  return {
    ok: false,
    status: 'error',
    error: { code, message: `${code} from provider` },
    attempts: [
      { peer: 'peer-b', local: false, status: 'busy', ms: 1 },
      { peer: 'peer-c', local: false, status: 'error', ms: 1 },
    ],
    tier: 1,
    checks: [],
    fallbacks: 1,
  }
}

/**
 * An in-memory delegate: each step's answer comes from `answers` (by step id), and every start and end is
 * logged in order. `gates` hold a step until the test (or another step) opens them.
 */
function fakeDelegate(
  answers: Record<string, (req: StepRequest) => DelegateResult | Promise<DelegateResult>>,
) {
  const log: string[] = []
  const requests = new Map<string, StepRequest>()
  const started = new Map<string, PromiseWithResolvers<void>>()
  const startedOf = (id: string) => {
    let entry = started.get(id)
    if (entry == null) started.set(id, (entry = Promise.withResolvers<void>()))
    return entry
  }
  const delegate: StepDelegate = async (req) => {
    log.push(`start:${req.step}`)
    requests.set(req.step, req)
    startedOf(req.step).resolve()
    try {
      const answer = answers[req.step]
      return answer != null ? await answer(req) : ok({ step: req.step })
    } finally {
      log.push(`end:${req.step}`)
    }
  }
  return { delegate, log, requests, whenStarted: (id: string) => startedOf(id).promise }
}

/** A manual clock: time moves only when a test moves it. */
function manualClock() {
  let t = 1000
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

describe('parseWorkflow', () => {
  it('reads steps, defaults and dependencies from references and needs', () => {
    const wf = parseWorkflow(EXAMPLE, 'wf.yaml')
    expect(wf.name).toBe('evening')
    expect(wf.timeoutMs).toBe(30000)
    expect(wf.steps.map((s) => [s.id, s.dependsOn])).toEqual([
      ['temp', []],
      ['heat', ['temp']],
      ['note', []],
    ])
    expect(wf.steps[0]).toMatchObject({
      target: { capability: 'sensor.living-temp' },
      budget: 3,
      tier: 'auto',
    })
    expect(wf.steps[0]?.timeoutMs).toBe(30000)
    expect(wf.steps[1]).toMatchObject({ timeoutMs: 5000, budget: 2, tier: 2, optional: false })
    expect(wf.steps[2]).toMatchObject({
      target: { intent: { text: 'say something', tags: ['speaker'] } },
      optional: true,
    })
    expect(wf.output).toBe('${steps.heat.output}')
  })

  it('makes a step depend on every step its input references, without explicit needs', () => {
    const wf = parseWorkflow(
      `name: w
steps:
  - { id: a, capability: x }
  - { id: b, capability: x }
  - id: c
    capability: x
    input: { both: "\${steps.b.output} and \${steps.a.output.v}", list: ["\${steps.a.output}"] }
`,
      'wf.yaml',
    )
    expect(wf.steps[2]?.dependsOn).toEqual(['a', 'b'])
  })

  it('reports an unknown key at its line', () => {
    expect(problemsOf('name: w\nsteps:\n  - id: a\n    capability: x\n    colour: red\n')).toEqual([
      'wf.yaml:5: steps.0.colour: unknown key',
    ])
    expect(problemsOf('name: w\nstepz: []\nsteps:\n  - { id: a, capability: x }\n')).toEqual([
      'wf.yaml:2: stepz: unknown key',
    ])
  })

  it('reports a duplicate step id at the second use', () => {
    expect(
      problemsOf('name: w\nsteps:\n  - id: a\n    capability: x\n  - id: a\n    capability: y\n'),
    ).toEqual(['wf.yaml:5: steps.1.id: duplicate step id "a" (first used by steps.0)'])
  })

  it('reports a dependency cycle with the steps along it', () => {
    const problems = problemsOf(`name: w
steps:
  - id: a
    capability: x
    needs: [c]
  - id: b
    capability: x
    input: "\${steps.a.output}"
  - id: c
    capability: x
    needs: [b]
`)
    expect(problems).toEqual(['wf.yaml:3: steps.0: dependency cycle: a -> c -> b -> a'])
  })

  it('reports references and needs that name no step, and steps that need themselves', () => {
    const problems = problemsOf(`name: w
steps:
  - id: a
    capability: x
    needs: [a]
  - id: b
    capability: x
    input:
      target: "\${steps.nope.output.celsius}"
    needs: [ghost]
output: "\${steps.gone.output}"
`)
    expect(problems).toEqual([
      'wf.yaml:5: steps.0.needs.0: needs its own step',
      'wf.yaml:10: steps.1.needs.0: needs "ghost", which is not a step of this workflow',
      'wf.yaml:9: steps.1.input.target: ${steps.nope.output.celsius} names "nope", which is not a step of this workflow',
      'wf.yaml:11: output: ${steps.gone.output} names no step of this workflow',
    ])
  })

  it('rejects malformed references, and an unclosed one', () => {
    const problems = problemsOf(`name: w
steps:
  - { id: a, capability: x }
  - id: b
    capability: x
    input: { v: "\${steps.a}", w: "\${env.HOME}", u: "\${input.x" }
`)
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^wf\.yaml:6: steps\.1\.input\.v: "\$\{steps\.a\}" is not a reference/)
    expect(problems[1]).toMatch(/^wf\.yaml:6: steps\.1\.input\.w: "\$\{env\.HOME\}" is not a reference/)
    expect(problems[2]).toMatch(/^wf\.yaml:6: steps\.1\.input\.u: a "\$\{" without its closing "\}"/)
  })

  it('wants exactly one of capability or intent, and tags only with an intent', () => {
    expect(problemsOf('name: w\nsteps:\n  - id: a\n    intent: lights\n    capability: x\n')).toEqual([
      'wf.yaml:3: steps.0: give exactly one of `capability` or `intent`',
    ])
    expect(problemsOf('name: w\nsteps:\n  - id: a\n    capability: x\n    tags: [t]\n')).toEqual([
      'wf.yaml:5: steps.0.tags: `tags` refine an `intent`; this step has none',
    ])
  })

  it('caps the number of steps and the shape of ids and values', () => {
    const many = Array.from({ length: MAX_STEPS + 1 }, (_, i) => `  - { id: s${i}, capability: x }`).join(
      '\n',
    )
    expect(problemsOf(`name: w\nsteps:\n${many}\n`)[0]).toMatch(/^wf\.yaml:2: steps: Too big/)
    const bad = problemsOf('name: w\nsteps:\n  - id: Bad Id\n    capability: x\n    budget: 0\n    tier: 4\n')
    expect(bad[0]).toMatch(/^wf\.yaml:3: steps\.0\.id: use 1-32 lowercase letters/)
    expect(bad[1]).toMatch(/^wf\.yaml:5: steps\.0\.budget: /)
    expect(bad[2]).toMatch(/^wf\.yaml:6: steps\.0\.tier: /)
  })

  it('reports YAML syntax errors and a top level that is not a map with their lines', () => {
    expect(problemsOf('name: w\nsteps:\n  - id: a\n   capability: [x\n')[0]).toMatch(
      /^wf\.yaml:\d+: \(yaml\): /,
    )
    expect(problemsOf('name: w\nname: v\nsteps: []\n')[0]).toMatch(/^wf\.yaml:2: \(yaml\): /)
    expect(problemsOf('- a\n- b\n')).toEqual(['wf.yaml:1: (file): expected a map of keys at the top level'])
  })

  it('loads a workflow from a file, and names the file when it cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kith-wf-'))
    try {
      await writeFile(join(dir, 'evening.yaml'), EXAMPLE)
      const wf = await loadWorkflow(join(dir, 'evening.yaml'))
      expect(wf.file).toBe(join(dir, 'evening.yaml'))
      expect(wf.steps).toHaveLength(3)
      const err = await loadWorkflow(join(dir, 'missing.yaml')).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WorkflowError)
      expect((err as WorkflowError).problems[0]).toMatchObject({
        source: join(dir, 'missing.yaml'),
        path: '(file)',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('references', () => {
  const scope = {
    input: { room: 'hall', n: 2 },
    steps: new Map([['a', { status: 'ok', output: { c: 21.5, items: [{ x: 'first' }], on: true } }]]),
  }

  it('substitute the value itself for a whole-string reference and its text inside longer strings', () => {
    expect(
      resolveValue(
        {
          t: '${steps.a.output.c}',
          first: '${steps.a.output.items[0].x}',
          same: '${steps.a.output.items.0.x}',
          all: '${steps.a.output}',
          s: '${input.room} is ${steps.a.output.c} C, on=${steps.a.output.on} ${steps.a.output.items}',
          n: ['${input.n}'],
          literal: 'costs $${price}',
        },
        scope,
      ),
    ).toEqual({
      t: 21.5,
      first: 'first',
      same: 'first',
      all: { c: 21.5, items: [{ x: 'first' }], on: true },
      s: 'hall is 21.5 C, on=true [{"x":"first"}]',
      n: [2],
      literal: 'costs ${price}',
    })
  })

  it('throw a BadReferenceError for a path the output does not have', () => {
    expect(() => resolveValue('${steps.a.output.missing}', scope)).toThrow(BadReferenceError)
    expect(() => resolveValue('${steps.a.output.items[3]}', scope)).toThrow(/has 1 items, no \[3\]/)
    expect(() => resolveValue('${steps.a.output.constructor}', scope)).toThrow(/has no "constructor"/)
    expect(parseReference('steps.a.output.items[0]')).toEqual({
      text: '${steps.a.output.items[0]}',
      step: 'a',
      path: ['items', 0],
    })
  })
})

describe('runWorkflow', () => {
  it('runs two independent steps at the same time', async () => {
    const fake = fakeDelegate({
      a: async () => (await tick(), ok(1)),
      b: async () => (await tick(), ok(2)),
    })
    const wf = parseWorkflow(
      'name: w\nsteps:\n  - { id: a, capability: x }\n  - { id: b, capability: y }\n',
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result.ok).toBe(true)
    expect(fake.log.slice(0, 2)).toEqual(['start:a', 'start:b'])
  })

  it('starts a step as soon as its own dependencies finish, not when the whole level does', async () => {
    const fake = fakeDelegate({
      slow: async () => {
        await Promise.race([fake.whenStarted('after'), new Promise((r) => setTimeout(r, 2000))])
        return ok('slow')
      },
    })
    const wf = parseWorkflow(
      `name: w
steps:
  - { id: slow, capability: x }
  - { id: fast, capability: x }
  - { id: after, capability: x, needs: [fast] }
`,
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result.ok).toBe(true)
    expect(fake.log.indexOf('start:after')).toBeLessThan(fake.log.indexOf('end:slow'))
    expect(fake.log.indexOf('start:after')).toBeGreaterThan(fake.log.indexOf('end:fast'))
  })

  it('passes earlier outputs and the workflow input into later steps, and reports each step', async () => {
    const fake = fakeDelegate({
      temp: () => ok({ celsius: 17.5 }, { provider: 'peer-a', local: true, tier: 1 }),
      heat: (req) => ok({ set: (req.input as { target: number }).target }, { fallbacks: 1, tier: 2 }),
    })
    const wf = parseWorkflow(
      EXAMPLE.replace(
        'input: { target: "${steps.temp.output.celsius}" }',
        'input: { target: "${steps.temp.output.celsius}", text: "${input.who}: ${steps.temp.output}" }',
      ),
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate, input: { who: 'ann' } })
    expect(fake.requests.get('heat')).toMatchObject({
      target: { capability: 'thermostat.hall' },
      input: { target: 17.5, text: 'ann: {"celsius":17.5}' },
      budget: 2,
      tier: 2,
    })
    expect(fake.requests.get('note')).toMatchObject({
      target: { intent: { text: 'say something', tags: ['speaker'] } },
    })
    expect(result).toMatchObject({ name: 'evening', ok: true, output: { set: 17.5 } })
    expect(result.steps.map((s) => s.id)).toEqual(['temp', 'heat', 'note'])
    expect(result.steps[0]).toMatchObject({
      status: 'ok',
      provider: 'peer-a',
      local: true,
      tier: 1,
      attempts: 1,
    })
    expect(result.steps[1]).toMatchObject({ status: 'ok', provider: 'peer-b', tier: 2, fallbacks: 1 })
  })

  it('skips what depends on a failed step and starts nothing new, while running steps finish', async () => {
    const fake = fakeDelegate({
      bad: async () => (await fake.whenStarted('busy'), failed('busy')),
      busy: async () => (await tick(), await tick(), ok('done')),
    })
    const wf = parseWorkflow(
      `name: w
steps:
  - { id: bad, capability: x }
  - { id: busy, capability: x }
  - { id: child, capability: x, input: "\${steps.bad.output}" }
  - { id: later, capability: x, needs: [busy] }
`,
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result.ok).toBe(false)
    expect(result.error).toEqual({ code: 'step_failed', message: 'step "bad" failed: busy from provider' })
    expect(result.steps.map((s) => s.status)).toEqual(['failed', 'ok', 'skipped', 'skipped'])
    expect(result.steps[0]).toMatchObject({ error: { code: 'busy' }, fallbacks: 1, attempts: 2 })
    expect(result.steps[2]?.error?.message).toBe('not run: it needs "bad", which did not succeed')
    expect(fake.log).not.toContain('start:child')
    expect(fake.log).not.toContain('start:later')
  })

  it('carries on past a failed optional step', async () => {
    const fake = fakeDelegate({ note: () => failed(), heat: () => ok('warm') })
    const wf = parseWorkflow(
      `name: w
steps:
  - { id: note, capability: x, optional: true }
  - { id: heat, capability: x, needs: [note] }
`,
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result.ok).toBe(true)
    expect(result.steps.map((s) => s.status)).toEqual(['failed', 'ok'])
  })

  it('fails a step with bad_reference when the output lacks the referenced path', async () => {
    const fake = fakeDelegate({ temp: () => ok({ fahrenheit: 60 }) })
    const result = await runWorkflow(parseWorkflow(EXAMPLE, 'wf.yaml'), { delegate: fake.delegate })
    expect(result.ok).toBe(false)
    expect(result.steps[1]).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'bad_reference' } })
    expect(result.steps[1]?.error?.message).toMatch(/steps\.temp\.output has no "celsius"/)
    expect(fake.log).not.toContain('start:heat')
  })

  it("gives each step the smaller of its own timeout and what is left of the workflow's", async () => {
    const clock = manualClock()
    const fake = fakeDelegate({
      first: () => (clock.advance(7000), ok(1)),
      second: () => (clock.advance(3000), ok(2)),
    })
    const wf = parseWorkflow(
      `name: w
timeoutMs: 10000
steps:
  - { id: first, capability: x, timeoutMs: 8000 }
  - { id: second, capability: x, timeoutMs: 5000, needs: [first] }
  - { id: third, capability: x, needs: [second] }
`,
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate, now: clock.now })
    expect(fake.requests.get('first')?.timeoutMs).toBe(8000)
    expect(fake.requests.get('second')?.timeoutMs).toBe(3000)
    expect(fake.requests.has('third')).toBe(false)
    expect(result.steps.map((s) => [s.status, s.ms])).toEqual([
      ['ok', 7000],
      ['ok', 3000],
      ['skipped', 0],
    ])
    expect(result).toMatchObject({ ok: false, ms: 10000, error: { code: 'timeout' } })
  })

  it('stops waiting for a step at the deadline and aborts its signal', async () => {
    let seen: AbortSignal | undefined
    const fake = fakeDelegate({
      hang: (req) => {
        seen = req.signal
        return new Promise(() => {})
      },
    })
    const wf = parseWorkflow('name: w\ntimeoutMs: 20\nsteps:\n  - { id: hang, capability: x }\n', 'wf.yaml')
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout' } })
    expect(result.steps[0]).toMatchObject({ status: 'failed', error: { code: 'timeout' } })
    expect(seen?.aborted).toBe(true)
  })

  it("ends the run when the caller's signal aborts", async () => {
    const controller = new AbortController()
    const fake = fakeDelegate({ a: () => (controller.abort(), new Promise(() => {})) })
    const wf = parseWorkflow(
      'name: w\nsteps:\n  - { id: a, capability: x }\n  - { id: b, capability: x, needs: [a] }\n',
      'wf.yaml',
    )
    const result = await runWorkflow(wf, { delegate: fake.delegate, signal: controller.signal })
    expect(result.error?.code).toBe('aborted')
    expect(result.steps.map((s) => s.status)).toEqual(['failed', 'skipped'])
  })

  it('reports a delegate that throws as a failed step', async () => {
    const fake = fakeDelegate({
      a: () => {
        throw Object.assign(new Error('stream reset'), { code: 'ERR_STREAM_RESET' })
      },
    })
    const wf = parseWorkflow('name: w\nsteps:\n  - { id: a, capability: x }\n', 'wf.yaml')
    const result = await runWorkflow(wf, { delegate: fake.delegate })
    expect(result.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'ERR_STREAM_RESET', message: 'stream reset' },
    })
  })

  it('resolves the output expression, and fails the run when it cannot', async () => {
    const wf = parseWorkflow(
      `name: w
steps:
  - { id: a, capability: x }
  - { id: b, capability: x }
output: { sum: "\${steps.a.output.v} + \${steps.b.output.v}", b: "\${steps.b.output}" }
`,
      'wf.yaml',
    )
    const good = await runWorkflow(wf, {
      delegate: fakeDelegate({ a: () => ok({ v: 1 }), b: () => ok({ v: 2 }) }).delegate,
    })
    expect(good).toMatchObject({ ok: true, output: { sum: '1 + 2', b: { v: 2 } } })
    const bad = await runWorkflow(wf, {
      delegate: fakeDelegate({ a: () => ok({}), b: () => ok({ v: 2 }) }).delegate,
    })
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_reference' } })
    expect(bad.output).toBeUndefined()
  })
})
