/**
 * Fleet files: the merge rules, the golden rendering of test/fixtures/fleet/fleet.yaml (byte for byte;
 * `UPDATE_GOLDEN=1` rewrites the expected files), and problems located at the fleet line that caused them.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Fleet, parseFleet, renderedPath, renderFleet } from '../../src/fleet/fleet.ts'
import { mergeLayer, type MergeProblem, originOf } from '../../src/fleet/merge.ts'
import { ConfigError, formatProblem, loadConfig } from '../../src/config/index.ts'
import { ROOT } from '../helpers.ts'

const FIXTURES = join(ROOT, 'test/fixtures/fleet')
const EXPECTED = join(FIXTURES, 'expected')
const HUB = '12D3KooWRpMLTTuro1jeoWLcMgFyUqP2hJGitnrZXR22yQhTTbDP'
const KITCHEN = '12D3KooWBPyX95HnhQEaQDzuwZM6rm8uXERTx4r2hphDUfZvTK4m'
const PHONE = '12D3KooWLK5dMUGuTBHALfeCPz163PFYbFH7P6twPe6bYhFjHGEu'

async function fixture(): Promise<Fleet> {
  return parseFleet(await readFile(join(FIXTURES, 'fleet.yaml'), 'utf8'), join(FIXTURES, 'fleet.yaml'))
}

/** The problems of rendering `text`, formatted; fails when it renders. */
async function problems(text: string, file = '/fleet.yaml'): Promise<string[]> {
  try {
    await renderFleet(parseFleet(text, file))
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
  throw new Error('expected the fleet to be rejected')
}

function merge(...layers: unknown[]): { value: unknown; problems: MergeProblem[] } {
  const problems: MergeProblem[] = []
  let merged
  for (const [i, layer] of layers.entries()) merged = mergeLayer(merged, layer, [`l${i}`], problems)
  return { value: merged?.value, problems }
}

describe('fleet merge rules', () => {
  it('merges maps deeply, replaces scalars and removes a key set to null', () => {
    expect(merge({ a: { b: 1, c: 2 }, d: 'x' }, { a: { c: 3 }, d: null }).value).toEqual({
      a: { b: 1, c: 3 },
    })
  })

  it('merges lists of maps with ids by id: same id merged, new id appended, removal dropped', () => {
    const { value, problems } = merge(
      { caps: [{ id: 'x', risk: 'low', tags: ['a'] }, { id: 'y' }, { id: 'z' }] },
      {
        caps: [
          { id: 'x', risk: 'high' },
          { id: 'y', remove: true },
          { id: 'w' },
          { id: 'gone', remove: true },
        ],
      },
    )
    expect(problems).toEqual([])
    expect(value).toEqual({ caps: [{ id: 'x', risk: 'high', tags: ['a'] }, { id: 'z' }, { id: 'w' }] })
  })

  it('replaces other lists, and an empty list empties an id list', () => {
    expect(merge({ l: ['a', 'b'] }, { l: ['c'] }).value).toEqual({ l: ['c'] })
    expect(merge({ l: [{ id: 'a' }] }, { l: [] }).value).toEqual({ l: [] })
    expect(merge({ l: [{ id: 'a' }] }, { l: [{ name: 'no id' }] }).value).toEqual({ l: [{ name: 'no id' }] })
  })

  it('reports a malformed removal entry and an id listed twice in one list', () => {
    const { problems } = merge(
      { l: [{ id: 'a' }] },
      { l: [{ id: 'a', remove: true, risk: 'low' }, { id: 'b' }, { id: 'b' }] },
    )
    expect(problems).toEqual([
      { at: ['l1', 'l', 0], message: 'a removal entry is exactly {id: <id>, remove: true}' },
      { at: ['l1', 'l', 2, 'id'], message: 'id "b" is listed twice in this list' },
    ])
  })

  it('remembers which layer set each part, through merges by id', () => {
    const problems: MergeProblem[] = []
    const a = mergeLayer(undefined, { caps: [{ id: 'x', risk: 'low' }, { id: 'y' }] }, ['defaults'], problems)
    const b = mergeLayer(
      a,
      {
        caps: [
          { id: 'x', tags: [] },
          { id: 'y', risk: 'high' },
        ],
      },
      ['labels', 'k'],
      problems,
    )
    expect(originOf(b.origin, ['caps', 0, 'risk'])).toEqual(['defaults', 'caps', 0, 'risk'])
    expect(originOf(b.origin, ['caps', 1, 'risk'])).toEqual(['labels', 'k', 'caps', 1, 'risk'])
    // a key no layer set: the deepest map that exists, and the rest of the path
    expect(originOf(b.origin, ['caps', 1, 'title'])).toEqual(['labels', 'k', 'caps', 1, 'title'])
  })
})

describe('fleet render', () => {
  it('renders every node of the fixture byte for byte as the golden files', async () => {
    const nodes = await renderFleet(await fixture(), { outDir: EXPECTED })
    expect(nodes.map((n) => n.name)).toEqual(['hub', 'kitchen', 'garage'])
    for (const node of nodes) {
      const file = renderedPath(EXPECTED, node.name)
      if (process.env.UPDATE_GOLDEN === '1') {
        await mkdir(dirname(file), { recursive: true })
        await writeFile(file, node.yaml)
      }
      expect(node.yaml, file).toBe(await readFile(file, 'utf8'))
    }
  })

  it('renders the same bytes twice, whatever order the fleet file writes keys in', async () => {
    const fleet = await fixture()
    const again = (await renderFleet(fleet)).map((n) => n.yaml)
    expect((await renderFleet(fleet)).map((n) => n.yaml)).toEqual(again)
    const shuffled = parseFleet(
      'nodes:\n  - config: { trust: { pretrusted: [] }, api: 127.0.0.1:1 }\n    name: a\nfleet: 1\n',
      '/f.yaml',
    )
    const plain = parseFleet('fleet: 1\nnodes:\n  - name: a\n    config: { api: 127.0.0.1:1 }\n', '/f.yaml')
    const body = async (f: Fleet) => (await renderFleet(f))[0]!.yaml.replace(/^#.*\n/gm, '')
    expect(await body(shuffled)).toBe('version: 1\nname: a\napi: 127.0.0.1:1\ntrust:\n  pretrusted: []\n')
    expect(await body(plain)).toBe('version: 1\nname: a\napi: 127.0.0.1:1\n')
  })

  it('overrides a capability by id, removes a device and applies labels in the node’s order', async () => {
    const [, kitchen, garage] = await renderFleet(await fixture())
    const caps = kitchen!.config.capabilities as Array<Record<string, unknown>>
    expect(caps.map((c) => c.id)).toEqual(['summarize', 'weather', 'recipes'])
    expect(caps[0]).toMatchObject({ risk: 'low', tags: ['text', 'kitchen'], minBattery: 40 })
    expect((kitchen!.config.devices as Array<{ id: string }>).map((d) => d.id)).toEqual(['kitchen-plug'])
    expect(kitchen!.config.discovery).toEqual({ ttl: 30000 })
    expect(garage!.config.name).toBe('garage-pi')
    expect(garage!.config.discovery).toEqual({})
    expect((garage!.config.capabilities as Array<{ id: string }>).map((c) => c.id)).toEqual(['summarize'])
  })

  it('puts every other known peer id into trust.pretrusted, after the listed ones, never the node itself', async () => {
    const [hub, kitchen, garage] = await renderFleet(await fixture())
    const pretrusted = (n: typeof hub) => (n!.config.trust as { pretrusted: string[] }).pretrusted
    expect(pretrusted(hub)).toEqual([PHONE, KITCHEN])
    expect(pretrusted(kitchen)).toEqual([PHONE, HUB])
    expect(pretrusted(garage)).toEqual([PHONE, HUB, KITCHEN])
    const self = parseFleet(
      `fleet: 1\nnodes:\n  - name: a\n    peerId: ${HUB}\n    config: { trust: { pretrusted: [${HUB}, ${PHONE}] } }\n`,
      '/f.yaml',
    )
    expect((await renderFleet(self))[0]!.config.trust).toEqual({ pretrusted: [PHONE] })
  })

  it('writes the fleet owner into every node, right after the format version', async () => {
    const fleet = parseFleet(`fleet: 1\nowner: ${PHONE}\nnodes:\n  - name: a\n  - name: b\n`, '/f.yaml')
    const nodes = await renderFleet(fleet)
    expect(nodes.map((n) => n.config.owner)).toEqual([PHONE, PHONE])
    for (const node of nodes) expect(node.yaml).toMatch(new RegExp(`\nversion: 1\nowner: ${PHONE}\nname: `))
    const none = await renderFleet(parseFleet('fleet: 1\nnodes:\n  - name: a\n', '/f.yaml'))
    expect(none[0]!.yaml).not.toMatch(/owner:/)
  })

  it('renders only the nodes asked for', async () => {
    expect((await renderFleet(await fixture(), { nodes: ['kitchen'] })).map((n) => n.name)).toEqual([
      'kitchen',
    ])
  })

  it('writes configs the node loads, with relative paths resolved against the rendered file', async () => {
    const file = renderedPath(EXPECTED, 'kitchen')
    const config = await loadConfig(file, { env: {}, checkFiles: false })
    expect(config.name).toBe('kitchen')
    expect(config.capabilities[2]?.script).toBe(join(dirname(file), 'scripts/recipes.js'))
    expect(config.paths.identity).toBe(join(dirname(file), 'identity.key'))
  })
})

describe('fleet problems', () => {
  it('reports an unknown key in the defaults at its line', async () => {
    expect(
      await problems('fleet: 1\ndefaults:\n  log: { level: info }\n  netwrk: {}\nnodes:\n  - name: a\n'),
    ).toEqual(['/fleet.yaml:4: defaults.netwrk: unknown key'])
  })

  it('reports an unknown key in a label no node carries', async () => {
    expect(
      await problems('fleet: 1\nlabels:\n  spare:\n    discovery:\n      tll: 3000\nnodes:\n  - name: a\n'),
    ).toEqual(['/fleet.yaml:5: labels.spare.discovery.tll: unknown key'])
  })

  it('reports a duplicate node name, also differing only in case', async () => {
    expect(await problems('fleet: 1\nnodes:\n  - name: hub\n  - name: den\n  - name: Hub\n')).toEqual([
      '/fleet.yaml:5: nodes.2.name: duplicate node name "Hub" (also nodes.0)',
    ])
  })

  it('reports a label a node carries that is not defined', async () => {
    expect(
      await problems(
        'fleet: 1\nlabels:\n  kitchen: {}\nnodes:\n  - name: a\n    labels: [kitchen, garden]\n',
      ),
    ).toEqual(['/fleet.yaml:6: nodes.0.labels.1: label "garden" is not defined under labels'])
  })

  it('reports the format version and a fleet without nodes', async () => {
    expect(await problems('fleet: 2\nnodes: []\n')).toEqual([
      '/fleet.yaml:1: fleet: the fleet format version; write fleet: 1',
      '/fleet.yaml:2: nodes: a fleet lists at least one node',
    ])
  })

  it('reports a rendered config that fails the node schema at the label line, once for every node', async () => {
    const text = [
      'fleet: 1',
      'labels:',
      '  kitchen:',
      '    capabilities:',
      '      - id: a',
      '        kind: script',
      '        title: A',
      '        script: a.js',
      '        risk: extreme',
      'nodes:',
      '  - name: hub',
      '    labels: [kitchen]',
      '  - name: den',
      '    labels: [kitchen]',
      '    config:',
      '      execution: { maxQueue: -1 }',
      '',
    ].join('\n')
    expect(await problems(text)).toEqual([
      '/fleet.yaml:9: labels.kitchen.capabilities.0.risk: Invalid option: expected one of "low"|"medium"|"high" (nodes hub, den)',
      '/fleet.yaml:16: nodes.1.config.execution.maxQueue: Too small: expected number to be >=0 (node den)',
    ])
  })

  it('reports a rule across keys at the layer that set the value', async () => {
    const text =
      'fleet: 1\ndefaults:\n  api: 0.0.0.0:7700\nnodes:\n  - name: a\n  - name: b\n    config:\n      api: { token: a-long-enough-token }\n'
    expect(await problems(text)).toEqual([
      '/fleet.yaml:3: defaults.api: the API listens beyond loopback, so api.token or api.tokenFile is required (node a)',
    ])
  })

  it('checks devices against the built-in profiles, at the line of the override', async () => {
    const text =
      'fleet: 1\ndefaults:\n  devices:\n    - id: plug\n      profile: smart-plug\n      actions:\n        power: { risk: high }\nnodes:\n  - name: a\n'
    expect(await problems(text)).toEqual([
      '/fleet.yaml:7: defaults.devices.0.actions.power: profile smart-plug has no action "power" (actions: set) (node a)',
    ])
  })

  it('refuses an owner that is not a peer id, and an owner set by a layer', async () => {
    expect(await problems('fleet: 1\nowner: someone\nnodes:\n  - name: a\n')).toEqual([
      '/fleet.yaml:2: owner: not a valid libp2p peer id',
    ])
    expect(await problems(`fleet: 1\nnodes:\n  - name: a\n    config:\n      owner: ${PHONE}\n`)).toEqual([
      '/fleet.yaml:5: nodes.0.config.owner: every node of a fleet has the same owner; write owner: once, at the top of the fleet file',
    ])
  })

  it('refuses an include of another file inside the fleet', async () => {
    expect(await problems('fleet: 1\ndefaults:\n  fleet: shared.yaml\nnodes:\n  - name: a\n')).toEqual([
      '/fleet.yaml:3: defaults.fleet: a rendered config includes no other file; put shared keys under defaults or a label',
    ])
  })
})
