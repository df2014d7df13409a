/**
 * Intent matcher query latency (discovery issue): a CapabilityIndex holding 1,000 and then 10,000 live
 * descriptors of 5 household capabilities each, queried in-process with a mix of 20 intents (some with tags,
 * constraints or schemas) and the trust and latency hooks wired, each query timed on its own. Also times
 * building the index and a state-only refresh put(), which every peer sends every ttl/3.
 *
 * KITH_BENCH_QUERY_REPS sets how often each intent is timed per run (default 25).
 */
import { inOrder } from './lib/stats.ts'
import type { Capability, Descriptor, NodeState } from '../../src/discovery/descriptor.ts'
import type { Intent, QueryOptions } from '../../src/discovery/matcher/index.ts'
import { CapabilityIndex } from '../../src/discovery/matcher/index.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'
import { seededRandom } from './lib/random.ts'
import { SampleSet } from './lib/samples.ts'

export const name = 'query'
export const description =
  'CapabilityIndex.query() in-process over 1,000 and 10,000 live descriptors (5 capabilities each, household ' +
  'devices and scripts from a seeded generator), 20 intents with trust and latency hooks, each query timed ' +
  'alone after a warm-up; query-10k-p99 is each run’s p99 (goal: at most 2 ms); build and refresh time put().'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'query-10k-p99': { max: 2 },
}

const SIZES = [1_000, 10_000] as const
const CAPS_PER_DESCRIPTOR = 5
const WARMUP_ROUNDS = 20
const REFRESHES = 2_000

const ROOMS = ['living room', 'kitchen', 'bedroom', 'kids room', 'bathroom', 'hallway', 'office'].concat([
  'garage',
  'basement',
  'attic',
  'garden',
  'dining room',
  'porch',
  'laundry room',
])

/** kind id | title | description | tags, with `$` for the room and `@` for its slug */
const DEVICES = [
  'device light.@ | $ light | Switch the $ ceiling light on or off | light switch @',
  'device dimmer.@ | $ lamp dimmer | Dim the $ lamp between 0 and 100 % | light dimmer',
  'device plug.@ | $ smart plug | Turn the $ outlet on or off and read its power | plug @',
  'sensor temperature.@ | $ temperature | Reads the $ air temperature in °C | temperature sensor @',
  'sensor humidity.@ | $ humidity | Relative humidity in the $ | humidity sensor',
  'sensor motion.@ | $ motion | Reports movement and occupancy in the $ | motion @',
  'sensor contact.@ | $ door contact | Whether the $ door is open or closed | door sensor',
  'device lock.@ | $ door lock | Lock or unlock the $ door | lock door',
  'device blind.@ | $ blinds | Open or close the $ window blinds | blind window @',
  'device radiator.@ | $ radiator valve | Set the $ heating target temperature | thermostat heating',
  'device camera.@ | $ camera | Take a snapshot from the $ camera | camera',
  'device speaker.@ | $ speaker | Play music or announcements in the $ | speaker audio',
  'device tv.@ | $ TV | Power the $ television on or off | tv media',
  'sensor smoke.@ | $ smoke detector | Smoke alarm state in the $ | smoke safety',
  'sensor leak.@ | $ leak sensor | Detects water on the $ floor | leak water',
  'device fan.@ | $ fan | Switch the $ ventilation fan on or off | fan',
]
const SCRIPTS = [
  'script script.summarize | Summarize text | Summarize a text into a few sentences | text nlp',
  'script script.resize-image | Resize image | Resize a PNG or JPEG image to a given width | image',
  'script script.translate | Translate text | Translate a text between languages | text language',
  'script script.transcribe | Transcribe audio | Turn speech in an audio file into text | speech audio',
  'script script.ocr | Read text from image | Extract printed text from a photo | image ocr',
  'script script.units | Convert units | Convert between metric and imperial units | math',
  'script script.weather | Weather forecast | Fetch the weather forecast for tomorrow | weather',
  'script script.hash | Hash a file | Compute the SHA-256 digest of a file | crypto',
  'script script.detect | Detect objects | Find people, pets and cars in a camera image | image vision',
  "script script.agenda | Today's agenda | List calendar events for today | calendar",
]
const TEXT_IN = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }
/** schemas and flags by id prefix */
const EXTRAS: Record<string, Partial<Capability>> = {
  temperature: { output: { type: 'object', properties: { celsius: { type: 'number' } } } },
  lock: { risk: 'high' },
  'script.summarize': { input: TEXT_IN },
  'script.translate': { input: TEXT_IN },
  'script.resize-image': { deterministic: true },
  'script.units': { deterministic: true },
  'script.hash': { deterministic: true },
}

function capability(line: string, room: string, n: number): Capability {
  const slug = room.replace(/ /g, '-')
  const fill = (text: string) => text.replaceAll('$', room).replaceAll('@', slug)
  const [head, title, description, tags] = line.split(' | ') as [string, string, string, string]
  const [kind, id] = head.split(' ') as [Capability['kind'], string]
  const extra = EXTRAS[id] ?? EXTRAS[id.split('.')[0]!] ?? {}
  return {
    id: `${fill(id)}.${n}`,
    title: fill(title),
    description: fill(description),
    tags: fill(tags).split(' '),
    kind,
    risk: 'low',
    input: {},
    output: {},
    ...extra,
  }
}

const INTENTS: Intent[] = [
  { text: 'turn on the living room lamp' },
  { text: 'temp in the kitchen' },
  { text: 'is the front door locked' },
  { text: 'lock the garage door', constraints: { minTier: 2 } },
  { text: 'humidity in the bathroom', constraints: { kind: 'sensor' } },
  { text: 'is someone in the hallway' },
  { text: 'summarize this text', input: { type: 'object', properties: { text: { type: 'string' } } } },
  { text: 'resize an image to a thumbnail' },
  { text: 'set the heating to 21 degrees' },
  { text: 'switch off the bedroom light' },
  { text: 'snapshot from the porch camera', constraints: { maxLatencyMs: 50 } },
  { text: 'play music in the kitchen' },
  { text: 'close the living room blinds' },
  { text: 'power consumption of the washing machine plug' },
  { text: 'translate text to german', constraints: { local: false } },
  { text: 'water leak in the basement' },
  { text: 'light', tags: ['office'] },
  { text: 'smoke alarm', tags: ['safety'] },
  { text: 'kitchen temperature', output: { type: 'object', properties: { celsius: { type: 'number' } } } },
  { text: 'turn the tv off' },
]

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!
}

function stateOf(rand: () => number): NodeState {
  const onBattery = rand() < 0.2
  return {
    ...(onBattery ? { battery: Math.round(rand() * 100), charging: rand() < 0.3 } : {}),
    load: rand() * 1.5,
    memFree: 512 * 1024 * 1024,
    queue: Math.floor(rand() * 5),
  }
}

function corpus(count: number, seed: number): Descriptor[] {
  const rand = seededRandom(seed)
  const out: Descriptor[] = []
  for (let i = 0; i < count; i++) {
    const caps: Capability[] = []
    for (let c = 0; c < CAPS_PER_DESCRIPTOR; c++) {
      const line = rand() < 0.8 ? pick(rand, DEVICES) : pick(rand, SCRIPTS)
      caps.push(capability(line, pick(rand, ROOMS), c))
    }
    const peer = `peer-${seed}-${i}`
    const attest = { tpm: rand() < 0.1 }
    out.push({
      v: 1,
      peer,
      seq: 1,
      iat: 0,
      ttl: 60_000,
      addrs: [],
      state: stateOf(rand),
      caps,
      attest,
      sig: new Uint8Array(64),
    })
  }
  return out
}

/** Trust and latency as the other planes would answer them: a lookup per peer, some latencies unknown. */
function hooks(descriptors: readonly Descriptor[], seed: number): QueryOptions {
  const rand = seededRandom(seed ^ 0x5eed)
  const rtt = new Map<string, number>()
  const trust = new Map<string, number>()
  for (const d of descriptors) {
    if (rand() < 0.9) rtt.set(d.peer, 1 + rand() * 80)
    trust.set(d.peer, 0.5 + rand() * 0.5)
  }
  return { limit: 10, latencyOf: (peer) => rtt.get(peer), trust: (peer) => trust.get(peer) ?? 0.5 }
}

function percentile99(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil(0.99 * s.length) - 1)]!
}

/**
 * Builds both indexes, times refreshes, warms up, then times every intent `KITH_BENCH_QUERY_REPS` times.
 *
 * @example
 * KITH_BENCH_RUNS=1 npm run bench -- query
 */
export async function run(ctx: BenchContext): Promise<RunOutput> {
  const reps = ctx.envInt('KITH_BENCH_QUERY_REPS', 25)
  const samples = new SampleSet()
  const add = samples.add.bind(samples)

  for (let runNo = 1; runNo <= ctx.runs; runNo++) {
    for (const size of SIZES) {
      const label = size >= 1000 ? `${size / 1000}k` : String(size)
      const descriptors = corpus(size, runNo)
      const options = hooks(descriptors, runNo)
      const index = new CapabilityIndex()
      const built = performance.now()
      for (const d of descriptors) index.put(d.peer, d, { local: false })
      add(`build-${label}`, 'ms', [performance.now() - built])

      const rand = seededRandom(runNo * 7919)
      const refreshed = performance.now()
      for (let i = 0; i < REFRESHES; i++) {
        const d = pick(rand, descriptors)
        index.put(d.peer, { ...d, seq: d.seq + 1, state: stateOf(rand) }, { local: false })
      }
      add(`refresh-${label}`, 'µs', [((performance.now() - refreshed) * 1000) / REFRESHES])

      let found = 0
      for (let w = 0; w < WARMUP_ROUNDS; w++)
        for (const intent of INTENTS) found += index.query(intent, options).length
      if (found === 0) throw new Error(`no intent matched anything among ${size} descriptors`)
      const times: number[] = []
      for (let r = 0; r < reps; r++) {
        for (const intent of INTENTS) {
          const t0 = performance.now()
          index.query(intent, options)
          times.push(performance.now() - t0)
        }
      }
      add(`query-${label}`, 'ms', times)
      if (size === 10_000) add('query-10k-p99', 'ms', [percentile99(times)])
      const sorted = [...times].sort((a, b) => a - b)
      ctx.log(
        `run ${runNo}/${ctx.runs}, ${size} descriptors (${index.size} capabilities): query median ` +
          `${sorted[sorted.length >> 1]!.toFixed(3)} ms, p99 ${percentile99(times).toFixed(3)} ms`,
      )
    }
  }

  const order = [
    'query-1k',
    'query-10k',
    'query-10k-p99',
    'build-1k',
    'build-10k',
    'refresh-1k',
    'refresh-10k',
  ]
  return {
    results: inOrder(samples, order),
    comparisons: [
      { name: 'query at 10,000 vs 1,000 descriptors', numerator: 'query-10k', denominator: 'query-1k' },
      { name: 'build at 10,000 vs 1,000 descriptors', numerator: 'build-10k', denominator: 'build-1k' },
    ],
  }
}
