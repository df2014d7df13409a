/**
 * The demo household's second node: a kith node in the same process as the first, with two script
 * capabilities of its own, on loopback ports the OS picks, bootstrapped to the first node. Its directory
 * (`<config dir>/demo-peer/`) keeps its identity and database, so its peer id is the same on every run; its
 * config and scripts are written there anew at every start from the sources below (embedded here, not read
 * from files, so the single binary carries them).
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { type Config, CONFIG_VERSION } from '../config/index.ts'
import { createIdentity } from '../connectivity/identity.ts'
import { loadNodeConfig } from '../node/config.ts'
import { createNode, type KithNode } from '../node/node.ts'
import type { Logger } from '../util/logger.ts'

export const DEMO_PEER_DIR = 'demo-peer'

/** `math.stats`: deterministic, so a requester can check it with a canary or a replay. */
const STATS_SCRIPT = `// math.stats, written by \`kith start --demo\`
function run(input) {
  const sorted = input.values.slice().sort((a, b) => a - b)
  const n = sorted.length
  let sum = 0
  for (const v of sorted) sum += v
  const mean = sum / n
  let squares = 0
  for (const v of sorted) squares += (v - mean) * (v - mean)
  const mid = n >> 1
  const median = n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { count: n, sum, min: sorted[0], max: sorted[n - 1], mean, median, stdev: Math.sqrt(squares / n) }
}
`

/** `text.summarize`: extractive, so the same text always gives the same summary. */
const SUMMARIZE_SCRIPT = `// text.summarize, written by \`kith start --demo\`
const STOP = new Set(('a an and are as at be but by for from has have he her his i in is it its of on or our she ' +
  'so that the their them then there these they this to was we were what when which who will with you your').split(' '))

function words(sentence) {
  return (sentence.toLowerCase().match(/[a-z0-9\\u00c0-\\u024f']+/g) || []).filter((w) => w.length > 2 && !STOP.has(w))
}

function run(input) {
  const want = input.sentences ?? 2
  const sentences = (input.text.replace(/\\s+/g, ' ').trim().match(/[^.!?]+[.!?]*/g) || [])
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const freq = new Map()
  for (const s of sentences) for (const w of words(s)) freq.set(w, (freq.get(w) || 0) + 1)
  const scored = sentences.map((s, i) => {
    const ws = words(s)
    let score = 0
    for (const w of ws) score += freq.get(w)
    return { i, s, score: ws.length > 0 ? score / Math.sqrt(ws.length) : 0 }
  })
  const kept = scored
    .slice()
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, want)
    .sort((a, b) => a.i - b.i)
  const keywords = [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map((e) => e[0])
  return { summary: kept.map((k) => k.s).join(' '), keywords, sentences: sentences.length }
}
`

const numbers = { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 10_000 }

/** The demo peer's capabilities, as its kith.yaml lists them. */
export const DEMO_CAPABILITIES = [
  {
    id: 'math.stats',
    kind: 'script',
    title: 'Statistics of a list of numbers',
    description:
      'Count, sum, minimum, maximum, mean (average), median and standard deviation of a list of numbers.',
    tags: ['math', 'statistics', 'average', 'numbers'],
    risk: 'low',
    script: 'math-stats.js',
    deterministic: true,
    input: {
      type: 'object',
      properties: { values: numbers },
      required: ['values'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: Object.fromEntries(
        ['count', 'sum', 'min', 'max', 'mean', 'median', 'stdev'].map((k) => [k, { type: 'number' }]),
      ),
    },
  },
  {
    id: 'text.summarize',
    kind: 'script',
    title: 'Summarize a text',
    description:
      'Picks the most informative sentences of a text (extractive, deterministic) and its keywords.',
    tags: ['text', 'summary', 'summarize', 'keywords'],
    risk: 'low',
    script: 'text-summarize.js',
    deterministic: true,
    input: {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 100_000 },
        sentences: { type: 'integer', minimum: 1, maximum: 20 },
      },
      required: ['text'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        summary: { type: 'string' },
        keywords: { type: 'array', items: { type: 'string' } },
        sentences: { type: 'integer' },
      },
    },
  },
] as const

/** The scripts beside the demo peer's config, by file name. */
export const DEMO_SCRIPTS: Record<string, string> = {
  'math-stats.js': STATS_SCRIPT,
  'text-summarize.js': SUMMARIZE_SCRIPT,
}

/**
 * A known answer of `math.stats` that the first node keeps as a Tier 2 canary (never advertised), so
 * `kith call math.stats --tier 2` checks the demo peer before trusting its answer.
 */
export const DEMO_CANARY = {
  capability: 'math.stats',
  input: { values: [2, 4, 4, 4, 5, 5, 7, 9] },
  output: { count: 8, sum: 40, min: 2, max: 9, mean: 5, median: 4.5, stdev: 2 },
}

/**
 * The first node's config with the demo canary added (in memory only; the file stays as the user wrote it).
 *
 * @example
 * const config = withDemoCanary(await loadNodeConfig('.kith/kith.yaml'))
 */
export function withDemoCanary(config: Config): Config {
  if (config.trust.canaries.some((c) => c.capability === DEMO_CANARY.capability)) return config
  return { ...config, trust: { ...config.trust, canaries: [...config.trust.canaries, DEMO_CANARY] } }
}

const HEADER = `# The demo household's second node, written by \`kith start --demo\` at every start (src/cli/demo-peer.ts).
# Edits here are overwritten; its identity.key and kith.db are kept.
`

/**
 * Writes the demo peer's directory (identity only once) and starts the node, bootstrapped to `bootstrap`.
 *
 * @example
 * const peer = await startDemoPeer({ dir: '.kith/demo-peer', bootstrap: ready.listen[0], ttl: 15000, logger })
 * await peer.stop()
 */
export async function startDemoPeer(init: {
  dir: string
  /** the first node's address, ending in /p2p/<peer id> */
  bootstrap: string
  /** the first node's discovery ttl, so both refresh alike */
  ttl: number
  logger: Logger
}): Promise<KithNode> {
  await mkdir(init.dir, { recursive: true, mode: 0o700 })
  const identity = join(init.dir, 'identity.key')
  if (!existsSync(identity)) await createIdentity(identity)
  for (const [file, source] of Object.entries(DEMO_SCRIPTS))
    await writeIfChanged(join(init.dir, file), source)
  const doc = {
    version: CONFIG_VERSION,
    name: 'demo-peer',
    log: { level: 'warn' },
    api: '127.0.0.1:0',
    network: {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [init.bootstrap],
      mdns: false,
      dht: 'off',
      relay: { client: false },
    },
    mqtt: { broker: 'off' },
    discovery: { ttl: init.ttl },
    capabilities: DEMO_CAPABILITIES,
  }
  const file = join(init.dir, 'kith.yaml')
  await writeIfChanged(file, HEADER + stringify(doc))
  // the first node's KITH_* overrides (its ports, say) are not this node's
  const config = await loadNodeConfig(file, { env: {} })
  const node = await createNode(config, init.logger.child({ node: 'demo-peer' }, { level: config.log.level }))
  await node.start() // stops what it started when it fails
  return node
}

async function writeIfChanged(file: string, text: string): Promise<void> {
  if ((await readFile(file, 'utf8').catch(() => undefined)) !== text) await writeFile(file, text)
}
