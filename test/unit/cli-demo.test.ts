/** The default household's pieces that need no running node: its scripts, its canary, its "try this" hints. */
import { describe, expect, it } from 'vitest'
import { invocation, mcpConfigs, tryThis, type TryThisFacts } from '../../src/cli/demo-hints.ts'
import { DEMO_CANARY, DEMO_CAPABILITIES, DEMO_SCRIPTS } from '../../src/cli/demo-peer.ts'
import { createStyle } from '../../src/cli/format.ts'

/** The script's `run`, evaluated by V8 (the node runs it in QuickJS; both compute IEEE doubles alike). */
function load(file: string): (input: unknown) => unknown {
  return new Function(`${DEMO_SCRIPTS[file]}\nreturn run`)() as (input: unknown) => unknown
}

describe('the demo peer’s scripts', () => {
  it('answers the demo canary exactly, so an honest demo peer passes it', () => {
    expect(load('math-stats.js')(DEMO_CANARY.input)).toEqual(DEMO_CANARY.output)
    expect(JSON.stringify(load('math-stats.js')(DEMO_CANARY.input))).toBe(JSON.stringify(DEMO_CANARY.output))
  })

  it('computes the statistics of an odd-length list', () => {
    expect(load('math-stats.js')({ values: [3, 1, 2] })).toEqual({
      count: 3,
      sum: 6,
      min: 1,
      max: 3,
      mean: 2,
      median: 2,
      stdev: Math.sqrt(2 / 3),
    })
  })

  it('summarizes by keeping the sentences with the most frequent words, in their order', () => {
    const summarize = load('text-summarize.js')
    const text =
      'The garden pump runs at dawn. The lamp in the living room dims at night. ' +
      'The pump waters the garden beds for ten minutes. Nothing else happens.'
    const out = summarize({ text }) as { summary: string; keywords: string[]; sentences: number }
    expect(out.summary).toBe('The garden pump runs at dawn. The pump waters the garden beds for ten minutes.')
    expect(out.keywords.slice(0, 2)).toEqual(['garden', 'pump'])
    expect(out.sentences).toBe(4)
    expect(summarize({ text })).toEqual(out)
    // words that are also Object.prototype's keys count like any other
    expect(
      (summarize({ text: 'constructor constructor. toString.', sentences: 1 }) as { summary: string })
        .summary,
    ).toBe('constructor constructor.')
  })

  it('offers only deterministic capabilities with a script for each', () => {
    for (const cap of DEMO_CAPABILITIES) {
      expect(cap.deterministic).toBe(true)
      expect(DEMO_SCRIPTS[cap.script]).toContain('function run(input)')
    }
  })
})

const facts: TryThisFacts = {
  how: { kind: 'checkout', root: '/home/me/kith' },
  client: {},
  api: 'http://127.0.0.1:7700',
  peerId: '12D3KooWGEnQnTHFFDSsBtmuKrzs1erQykeYytk352DP4gCnbsdn',
  demoPeerId: '12D3KooWEgpi4DhYhR8aPVDrGsz88QupqqHp3JrR7RygyLLYr6rb',
  demoCapabilities: ['math.stats', 'text.summarize'],
  devices: 4,
  plugAction: 'kith_desk_plug.switch',
  workflow: 'examples/evening.yaml',
}

describe('the try-this block', () => {
  it('lists 3 to 5 commands for a checkout and both MCP configs with the real paths', () => {
    const text = tryThis(facts, createStyle(false))
    const commands = text.split('\n').filter((l) => l.startsWith('  npm run --silent kith -- '))
    expect(commands).toEqual([
      '  npm run --silent kith -- find "average of some numbers"',
      `  npm run --silent kith -- call math.stats --input '{"values":[3,1,4,1,5,9,2,6]}' --tier 2`,
      `  npm run --silent kith -- call kith_desk_plug.switch --input '{"on":true}'`,
      '  npm run --silent kith -- run examples/evening.yaml',
      '  npm run --silent kith -- peers',
    ])
    expect(text).toContain(
      '{"mcpServers":{"kith":{"command":"npm","args":["run","--silent","--prefix","/home/me/kith","kith","--","mcp"]}}}',
    )
    expect(text).toContain(
      '{"mcpServers":{"kith":{"command":"/usr/local/bin/kith","args":["mcp","--api","http://127.0.0.1:7700"]}}}',
    )
    expect(text).toContain('…yLLYr6rb  math.stats, text.summarize')
    expect(text).toContain('Dashboard, in a browser: http://127.0.0.1:7700/')
    expect(text).not.toContain('\x1b[')
  })

  it('names the API (and the config, for its token) when the default config would not find the node', () => {
    const text = tryThis(
      { ...facts, client: { api: 'http://127.0.0.1:40001', config: '/tmp/my dir/kith.yaml' } },
      createStyle(false),
    )
    expect(text).toContain(
      `  npm run --silent kith -- peers --api http://127.0.0.1:40001 --config '/tmp/my dir/kith.yaml'`,
    )
    const [checkout] = mcpConfigs(facts.how, { api: 'http://127.0.0.1:40001' }, 'http://127.0.0.1:40001')
    expect(JSON.parse(checkout!.json).mcpServers.kith.args.slice(-3)).toEqual([
      'mcp',
      '--api',
      'http://127.0.0.1:40001',
    ])
  })

  it('speaks of the binary itself when kith runs as one, without the example file it does not carry', () => {
    const how = { kind: 'binary' as const, path: '/opt/kith/kith-linux-arm64' }
    const { workflow: _, ...rest } = facts
    const text = tryThis({ ...rest, how }, createStyle(false))
    expect(text).toContain('  /opt/kith/kith-linux-arm64 find "average of some numbers"')
    expect(text).not.toContain('examples/')
    expect(mcpConfigs(how, {}, facts.api)).toEqual([
      {
        label: 'with this binary',
        json: '{"mcpServers":{"kith":{"command":"/opt/kith/kith-linux-arm64","args":["mcp","--api","http://127.0.0.1:7700"]}}}',
      },
    ])
    expect(
      tryThis({ ...rest, how: { kind: 'binary', path: '/usr/local/bin/kith' } }, createStyle(false)),
    ).toContain('  kith peers')
  })

  it('recognises a checkout from the script it runs', () => {
    expect(invocation(['/usr/bin/node', '/home/me/kith/src/cli/main.ts'], false)).toEqual({
      kind: 'checkout',
      root: '/home/me/kith',
    })
    expect(invocation(['/usr/bin/node', '/srv/kith.cjs'], false)).toMatchObject({
      kind: 'node',
      script: '/srv/kith.cjs',
    })
    expect(invocation(['/usr/local/bin/kith', 'start'], true)).toMatchObject({ kind: 'binary' })
  })
})
