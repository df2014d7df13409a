/**
 * Fuzzing what devices and people hand a node: Home Assistant and Homie discovery messages (in hostile
 * sequences, against the importers' device limits), the payload templates of the devices they yield, and
 * the YAML of node configs, fleet files and workflows. Importers never throw; the YAML readers return a
 * value or throw their own error listing the problems.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { ConfigError } from '../../src/config/errors.ts'
import { parseFleet } from '../../src/fleet/fleet.ts'
import { loadNodeConfig } from '../../src/node/config.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { HomieImporter } from '../../src/devices/homie.ts'
import { compileTemplate, TemplateError } from '../../src/devices/template.ts'
import type { DiscoveryImporter } from '../../src/devices/types.ts'
import { WorkflowError } from '../../src/execution/workflow/errors.ts'
import { parseWorkflow } from '../../src/execution/workflow/parse.ts'
import { tempDir } from '../helpers.ts'
import { fuzz, fuzzRuns, Tally } from './harness.ts'

const ROOT = join(import.meta.dirname, '../..')
const FIXTURES = join(ROOT, 'firmware-bridge/fixtures')

interface Message {
  topic: string
  payload: unknown
}

function messages(dir: string): Message[] {
  return readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(readFileSync(join(FIXTURES, dir, f), 'utf8')) as Message[])
}

const text = (payload: unknown) => (typeof payload === 'string' ? payload : JSON.stringify(payload))
const encoder = new TextEncoder()

/** JSON text like `sample`, with one field replaced or removed, cut short, or replaced by junk. */
function hostileJson(sample: unknown): fc.Arbitrary<string> {
  const keys =
    sample != null && typeof sample === 'object' && !Array.isArray(sample) ? Object.keys(sample) : []
  const field = fc
    .tuple(fc.constantFrom(...keys, 'extra'), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
    .map(([key, value]) => {
      const copy = { ...(sample as Record<string, unknown>) }
      if (value === undefined) delete copy[key]
      else copy[key] = value
      return JSON.stringify(copy)
    })
  const whole = text(sample)
  return fc.oneof(
    ...(keys.length > 0 ? [field, field] : []),
    fc.nat().map((n) => whole.slice(0, n % (whole.length + 1))),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ''),
    fc.constantFrom('['.repeat(5000), `{"name":"${'x'.repeat(40_000)}"}`, '\u0000', '{"__proto__":{"x":1}}'),
  )
}

/** A topic like `topic`: itself, a level replaced by junk or wildcards, or a long one. */
function hostileTopic(topic: string): fc.Arbitrary<string> {
  const levels = topic.split('/')
  return fc.oneof(
    fc.constant(topic),
    fc.constant(topic),
    fc
      .tuple(fc.nat(), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('+', '#', '', '..', '$state')))
      .map(([at, junk]) => levels.map((l, i) => (i === at % levels.length ? junk : l)).join('/')),
    fc.constant(`${topic}/${'a/'.repeat(300)}`),
  )
}

function hostileMessages(samples: Message[]): fc.Arbitrary<Message[]> {
  const one = fc
    .constantFrom(...samples)
    .chain((m) => fc.record({ topic: hostileTopic(m.topic), payload: hostileJson(m.payload) }))
  return fc.array(fc.oneof(fc.constantFrom(...samples), one), { minLength: 1, maxLength: 24 })
}

/**
 * Feeds `sequence` to the importer: it must never throw, every rejection must carry a reason and a
 * message, the devices alive stay within `maxDevices`, and every command template it yields renders or
 * refuses with a TemplateError on hostile input.
 */
function feed(importer: DiscoveryImporter, sequence: Message[], maxDevices: number, tally: Tally): void {
  const alive = new Set<string>()
  for (const m of sequence) {
    tally.check(
      m,
      () => {
        const payload = encoder.encode(text(m.payload))
        const { events, rejections } = importer.handle(m.topic, payload)
        for (const r of rejections) {
          if (r.reason === '' || r.message === '')
            throw new Error(`a rejection without a reason: ${JSON.stringify(r)}`)
        }
        for (const e of events) {
          if (e.type === 'upsert') alive.add(e.device.id)
          else alive.delete(e.deviceId)
          if (e.type !== 'upsert') continue
          for (const a of e.device.actions) {
            try {
              compileTemplate(a.payload).render({
                input: { on: '{{7*7}}', x: [null, {}] },
                task: 't',
                device: 'd',
              })
            } catch (err) {
              if (!(err instanceof TemplateError)) throw err
            }
          }
        }
        if (alive.size > maxDevices)
          throw new Error(`${alive.size} devices alive; the limit is ${maxDevices}`)
        if (rejections.length > 0) throw new Refusal(rejections[0]!.reason)
      },
      Refusal,
    )
  }
}

/** A message the importer refused (counted by the tally under its reason). */
class Refusal extends Error {
  readonly reason: string
  constructor(reason: string) {
    super(`refused: ${reason}`)
    this.reason = reason
  }
}

describe('fuzzing device discovery', () => {
  it('Home Assistant discovery messages', () => {
    const tally = new Tally('homeassistant-discovery')
    const maxDevices = 4
    fuzz(tally, hostileMessages(messages('homeassistant')), (sequence) =>
      feed(new HomeAssistantImporter({ maxDevices }), sequence, maxDevices, tally),
    )
    expect(tally.accepted).toBeGreaterThan(0)
  })

  it('Homie v3/v4 attribute trees and v5 descriptions', () => {
    const tally = new Tally('homie-discovery')
    const maxDevices = 2
    fuzz(tally, hostileMessages(messages('homie')), (sequence) =>
      feed(new HomieImporter({ maxDevices }), sequence, maxDevices, tally),
    )
    expect(tally.accepted).toBeGreaterThan(0)
  })
})

/** YAML like `sample`: characters changed, a value swapped for a hostile one, or a known YAML attack. */
function hostileYaml(sample: string): fc.Arbitrary<string> {
  const value = parse(sample) as Record<string, unknown>
  const paths: string[][] = []
  const walk = (v: unknown, path: string[]) => {
    if (path.length > 0) paths.push(path)
    if (v != null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, k])
  }
  walk(value, [])
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < 9; i++)
    laughs.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${`*${'abcdefghij'[i - 1]}, `.repeat(9)}]`)
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...paths), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(null)))
      .map(([path, v]) => {
        const copy = structuredClone(value)
        let at = copy as Record<string, unknown>
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>
        at[path.at(-1)!] = v
        return stringify(copy)
      }),
    fc
      .tuple(fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 6 }))
      .map(([edits]) =>
        edits.reduce((t, [at, s]) => t.slice(0, at % t.length) + s + t.slice((at % t.length) + 1), sample),
      ),
    fc.nat().map((n) => sample.slice(0, n % sample.length)),
    fc.string({ maxLength: 300 }),
    fc.constantFrom(
      laughs.join('\n'),
      '['.repeat(10_000),
      `x: ${'y'.repeat(2_000_000)}`,
      'a: !!js/function "x"',
      '- - - -',
    ),
  )
}

describe('fuzzing the YAML readers', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({ dir, cleanup } = await tempDir('kith-fuzz-yaml-'))
  })
  afterAll(() => cleanup())

  it('node config (kith.yaml), from a file as the node reads it', async () => {
    const tally = new Tally('config-yaml')
    const sample = readFileSync(join(ROOT, 'test/fixtures/fleet/expected/hub/kith.yaml'), 'utf8')
    const file = join(dir, 'kith.yaml')
    const runs = fuzzRuns(0.2)
    await fc.assert(
      fc.asyncProperty(hostileYaml(sample), async (yaml) => {
        writeFileSync(file, yaml)
        try {
          await loadNodeConfig(file, { env: {} })
          tally.accepted++
        } catch (err) {
          tally.check(
            yaml,
            () => {
              throw err
            },
            ConfigError,
          )
        }
      }),
      { numRuns: runs, endOnFailure: true },
    )
    tally.report(runs)
    expect(tally.refused.size).toBeGreaterThan(0)
  })

  it('fleet file', () => {
    const tally = new Tally('fleet-yaml')
    const sample = readFileSync(join(ROOT, 'test/fixtures/fleet/fleet.yaml'), 'utf8')
    fuzz(tally, hostileYaml(sample), (yaml) =>
      tally.check(yaml, () => parseFleet(yaml, 'fleet.yaml'), ConfigError),
    )
  })

  it('workflow file', () => {
    const tally = new Tally('workflow-yaml')
    const sample = readFileSync(join(ROOT, 'examples/evening.yaml'), 'utf8')
    fuzz(tally, hostileYaml(sample), (yaml) =>
      tally.check(yaml, () => parseWorkflow(yaml, 'w.yaml'), WorkflowError),
    )
  })
})
