import { describe, expect, it } from 'vitest'
import type { Capability, Descriptor, NodeState } from '../../src/discovery/descriptor.ts'
import type { Intent, Match, RelevanceScorer, ScoredDocs } from '../../src/discovery/matcher/index.ts'
import {
  availability,
  CapabilityIndex,
  createAnalyzer,
  latencyFactor,
  schemaCompatibility,
  tokenize,
} from '../../src/discovery/matcher/index.ts'

const MAINS: NodeState = { load: 0.1, memFree: 1e9, queue: 0 }

function cap(
  id: string,
  title: string,
  description: string,
  tags: string[],
  kind: Capability['kind'] = 'device',
  extra: Partial<Capability> = {},
): Capability {
  return { id, title, description, tags, kind, risk: 'low', input: {}, output: {}, ...extra }
}

function descriptor(peer: string, caps: Capability[], state: NodeState = MAINS, tpm = false): Descriptor {
  return {
    v: 1,
    peer,
    seq: 1,
    iat: 0,
    ttl: 60_000,
    addrs: [],
    state,
    caps,
    attest: { tpm },
    sig: new Uint8Array(64),
  }
}

/** kind id | title | description | tags: one capability per line, schemas and flags added below. */
const HOUSE: Record<string, string[]> = {
  'hub-living': [
    'device light.living-room | Living room light | Switch the living room ceiling light on or off | light switch living-room',
    'device plug.living-room | Living room smart plug | Switch the living room outlet on or off | plug outlet living-room',
    'device tv.living-room | Living room TV | Power the television on or off and change the input | tv media',
    'device blind.living-room | Living room blinds | Open or close the living room window blinds | blind window',
    'sensor motion.living-room | Living room motion | Reports movement in the living room | motion',
    'sensor temperature.living-room | Living room temperature | Reads the living room air temperature in °C | temperature sensor living-room',
  ],
  'hub-kitchen': [
    'device light.kitchen | Kitchen light | Switch the kitchen ceiling light on or off | light switch kitchen',
    'sensor temperature.kitchen | Kitchen temperature | Reads the kitchen air temperature in degrees Celsius | temperature sensor kitchen',
    'sensor humidity.kitchen | Kitchen humidity | Relative humidity in the kitchen | humidity kitchen',
    'device plug.kettle | Kettle plug | Turn the kettle outlet on or off | plug kitchen',
    'sensor leak.kitchen | Sink leak sensor | Detects water under the kitchen sink | leak kitchen',
    'device speaker.kitchen | Kitchen speaker | Play music or announcements in the kitchen | speaker kitchen',
  ],
  'hub-bedroom': [
    'device light.bedroom | Bedroom light | Switch the bedroom light on or off | light bedroom',
    'sensor temperature.bedroom | Bedroom temperature | Reads the bedroom temperature | temperature',
    'sensor humidity.bedroom | Bedroom humidity | Relative humidity in the bedroom | humidity',
    'device blind.bedroom | Bedroom shades | Raise or lower the bedroom window shades | window bedroom',
    'device plug.bedside | Bedside plug | Smart socket next to the bed | plug bedroom',
  ],
  'hub-hall': [
    'device lock.front-door | Front door lock | Lock or unlock the front door deadbolt | lock door',
    'sensor contact.front-door | Front door contact | Reports whether the front door is open | door',
    'sensor motion.hallway | Hallway presence | Occupancy of the hallway | motion hallway',
    'sensor doorbell | Doorbell | Rings when someone presses the button at the entrance | doorbell',
    'device camera.porch | Porch camera | Take a snapshot from the porch camera | camera outdoor',
  ],
  'hub-utility': [
    'device thermostat | Thermostat | Set the target temperature of the central heating | thermostat heating',
    'sensor boiler.status | Boiler status | Whether the boiler is firing and its flow temperature | boiler',
    'sensor energy.meter | Electricity meter | Whole-house power consumption in watts | energy',
    'device light.garden | Garden lights | Switch the garden path lights on or off | light outdoor',
    'device sprinkler | Garden sprinkler | Water the lawn for a number of minutes | garden',
    'sensor temperature.outdoor | Outdoor temperature | Reads the temperature outside | temperature',
  ],
  'compute-box': [
    'script script.summarize | Summarize text | Summarize a text into a few sentences | text nlp',
    'script script.resize-image | Resize image | Resize a PNG or JPEG image to a width | image',
    'script script.translate | Translate text | Translate a text between languages | text language',
    'script script.transcribe | Transcribe audio | Turn speech in an audio file into text | speech',
    'script script.ocr | Read text from image | Extract printed text from a photo | image ocr',
    'script script.units | Convert units | Convert between metric and imperial units | math',
    'script script.weather | Weather forecast | Fetch the weather forecast for tomorrow | weather',
    'script script.sha256 | Hash a file | Compute the SHA-256 digest of a file | crypto',
  ],
}

const EXTRAS: Record<string, Partial<Capability>> = {
  'temperature.kitchen': { output: { type: 'object', properties: { celsius: { type: 'number' } } } },
  'lock.front-door': { risk: 'high' },
  'script.summarize': {
    input: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    output: { type: 'object', properties: { summary: { type: 'string' } } },
  },
  'script.resize-image': {
    input: {
      type: 'object',
      properties: { image: { type: 'string' }, width: { type: 'integer' } },
      required: ['image', 'width'],
    },
    deterministic: true,
  },
  'script.units': { deterministic: true },
  'script.sha256': { deterministic: true },
}

function parseCap(line: string): Capability {
  const [head, title, description, tags] = line.split(' | ') as [string, string, string, string]
  const [kind, id] = head.split(' ') as [Capability['kind'], string]
  return cap(id, title, description, tags.split(' '), kind, EXTRAS[id])
}

/** A house: six hubs (one with a TPM) with a few dozen devices, sensors and scripts between them. */
function household(): Descriptor[] {
  return Object.entries(HOUSE).map(([peer, lines]) =>
    descriptor(peer, lines.map(parseCap), MAINS, peer === 'hub-hall'),
  )
}

function houseIndex(local = 'compute-box'): CapabilityIndex {
  const index = new CapabilityIndex()
  for (const d of household()) index.put(d.peer, d, { local: d.peer === local })
  return index
}

const ids = (matches: Match[]) => matches.map((m) => m.capability.id)

describe('text analysis', () => {
  it('splits on anything but letters and digits, lower-cased', () => {
    expect(tokenize('Living-room LAMP, 60 W')).toEqual(['living', 'room', 'lamp', '60', 'w'])
  })

  it('stems, drops stop words and maps household synonyms to one term', () => {
    const analyzer = createAnalyzer()
    expect(analyzer.terms('Turn on the living room lamps')).toEqual(['on', 'living', 'room', 'light'])
    expect(analyzer.terms('temp')).toEqual(analyzer.terms('temperatures'))
    expect(analyzer.terms('power outlet')).toEqual(['energy', 'plug'])
  })

  it('reads "switch on" as on, but a lone "switch" as a wall switch', () => {
    const analyzer = createAnalyzer()
    expect(analyzer.terms('switch on the fan')).toEqual(['on', 'fan'])
    expect(analyzer.terms('the switch')).toEqual(['plug'])
  })

  it('indexes a word in two groups under both', () => {
    expect(createAnalyzer().tagGroups('heating')).toEqual([['temperature', 'thermostat']])
  })
})

describe('CapabilityIndex relevance', () => {
  it('ranks the living room light first for "turn on the living room lamp"', () => {
    const matches = houseIndex().query({ text: 'turn on the living room lamp' })
    expect(matches[0]?.capability.id).toBe('light.living-room')
    expect(matches[0]?.peer).toBe('hub-living')
    expect(ids(matches).indexOf('light.bedroom')).toBeGreaterThan(0)
  })

  it('finds the kitchen temperature sensor first for "temp in the kitchen"', () => {
    const matches = houseIndex().query({ text: 'temp in the kitchen' })
    expect(matches[0]?.capability.id).toBe('temperature.kitchen')
  })

  it.each([
    ['lock the front door', 'lock.front-door'],
    ['is someone in the hallway', 'motion.hallway'],
    ['summarise this article', 'script.summarize'],
    ['make a thumbnail of a photo', 'script.resize-image'],
    ['heating', 'thermostat'],
    ['switch off the television', 'tv.living-room'],
    ['close the bedroom blinds', 'blind.bedroom'],
  ])('ranks the obvious capability first for "%s"', (intent, expected) => {
    expect(houseIndex().query({ text: intent })[0]?.capability.id).toBe(expected)
  })

  it('reports the parts of each score, whose product is the score', () => {
    const matches = houseIndex().query({ text: 'kitchen light' })
    expect(matches[0]?.parts.relevance).toBe(1)
    for (const m of matches) {
      const { relevance, schema, availability, trust, latency } = m.parts
      expect(m.score).toBeCloseTo(relevance * schema * availability * trust * latency, 12)
      expect(relevance).toBeGreaterThan(0)
      expect(relevance).toBeLessThanOrEqual(1)
    }
    expect(matches.map((m) => m.score)).toEqual([...matches.map((m) => m.score)].sort((a, b) => b - a))
  })

  it('returns nothing for words no capability uses, and honours the limit', () => {
    const index = houseIndex()
    expect(index.query({ text: 'quantum chromodynamics' })).toEqual([])
    expect(index.query({ text: 'light' }, { limit: 2 })).toHaveLength(2)
    expect(index.query({ text: 'light' }, { limit: 0 })).toEqual([])
  })

  it('matches everything, by availability, when the intent has neither text nor tags', () => {
    const index = houseIndex()
    expect(index.query({ text: '' }, { limit: 100 })).toHaveLength(index.size)
    expect(index.query({ text: '', constraints: { kind: 'script' } }, { limit: 100 })).toHaveLength(8)
  })
})

describe('CapabilityIndex filters', () => {
  it('narrows to capabilities carrying every tag, synonyms included', () => {
    const index = houseIndex()
    const kitchen = index.query({ text: 'light', tags: ['kitchen'] }, { limit: 50 })
    expect(kitchen.length).toBeGreaterThan(0)
    expect(ids(kitchen)).not.toContain('light.living-room')
    for (const m of kitchen) expect(m.capability.tags).toContain('kitchen')
    const lamps = index.query({ text: '', tags: ['lamp', 'outdoor'] }, { limit: 50 })
    expect(ids(lamps)).toEqual(['light.garden'])
  })

  it('filters by kind and by local', () => {
    const index = houseIndex()
    const sensors = index.query({ text: 'temperature', constraints: { kind: 'sensor' } }, { limit: 50 })
    expect(sensors.length).toBeGreaterThan(3)
    for (const m of sensors) expect(m.capability.kind).toBe('sensor')
    expect(ids(sensors)).not.toContain('thermostat')
    const local = index.query({ text: 'text', constraints: { local: true } }, { limit: 50 })
    expect(local.length).toBeGreaterThan(0)
    for (const m of local) expect([m.peer, m.local]).toEqual(['compute-box', true])
    const remote = index.query({ text: 'text', constraints: { local: false } }, { limit: 50 })
    for (const m of remote) expect(m.local).toBe(false)
  })

  it('filters by tier: 3 with a TPM, 2 when deterministic, or what tierOf says', () => {
    const index = houseIndex()
    const tier3 = index.query({ text: '', constraints: { minTier: 3 } }, { limit: 50 })
    expect(new Set(tier3.map((m) => m.peer))).toEqual(new Set(['hub-hall']))
    const tier2 = index.query({ text: '', constraints: { minTier: 2, kind: 'script' } }, { limit: 50 })
    expect(ids(tier2).sort()).toEqual(['script.resize-image', 'script.sha256', 'script.units'])
    const none = index.query({ text: 'door', constraints: { minTier: 2 } }, { tierOf: () => 1 })
    expect(none).toEqual([])
  })

  it('drops providers whose known latency exceeds maxLatencyMs and keeps unmeasured ones', () => {
    const index = houseIndex()
    const latencyOf = (peer: string) =>
      peer === 'hub-kitchen' ? 120 : peer === 'hub-bedroom' ? 5 : undefined
    const matches = index.query(
      { text: 'light', constraints: { maxLatencyMs: 50 } },
      { latencyOf, limit: 50 },
    )
    expect(ids(matches)).not.toContain('light.kitchen')
    expect(ids(matches)).toContain('light.bedroom')
    expect(ids(matches)).toContain('light.living-room')
  })

  it('drops capabilities whose input needs what the intent does not offer, or whose types conflict', () => {
    const index = houseIndex()
    const offered = { type: 'object', properties: { text: { type: 'string' } } }
    const matches = index.query({ text: 'text image', input: offered }, { limit: 50 })
    expect(ids(matches)).toContain('script.summarize')
    expect(ids(matches)).not.toContain('script.resize-image')
    expect(matches.find((m) => m.capability.id === 'script.summarize')?.parts.schema).toBe(1)
    expect(matches.find((m) => m.capability.id === 'script.ocr')?.parts.schema).toBe(0.95)
    const wrongType = { type: 'object', properties: { text: { type: 'number' } } }
    expect(ids(index.query({ text: 'summarize', input: wrongType }))).not.toContain('script.summarize')
  })

  it('requires the output properties the intent wants', () => {
    const index = houseIndex()
    const want = { type: 'object', properties: { celsius: { type: 'number' } } }
    const matches = index.query({ text: 'kitchen temperature', output: want }, { limit: 50 })
    expect(matches[0]?.capability.id).toBe('temperature.kitchen')
    expect(matches[0]?.parts.schema).toBe(1)
    expect(ids(matches)).not.toContain('script.summarize')
    expect(ids(index.query({ text: 'summarize', output: want }))).not.toContain('script.summarize')
  })
})

describe('CapabilityIndex ranking', () => {
  const light = cap('light.hall', 'Hall light', 'Switch the hall light on or off', ['light'])

  it('ranks a low-battery provider below an identical mains-powered one', () => {
    const index = new CapabilityIndex()
    index.put('battery-pi', descriptor('battery-pi', [light], { ...MAINS, battery: 12, charging: false }), {
      local: false,
    })
    index.put('mains-pi', descriptor('mains-pi', [light]), { local: false })
    index.put('charging-pi', descriptor('charging-pi', [light], { ...MAINS, battery: 12, charging: true }), {
      local: false,
    })
    const matches = index.query({ text: 'hall lamp' })
    expect(matches.map((m) => m.peer)).toEqual(['charging-pi', 'mains-pi', 'battery-pi'])
    expect(matches[2]!.parts.availability).toBeLessThan(matches[1]!.parts.availability / 2)
  })

  it('ranks a loaded or queued provider below an idle one, smoothly', () => {
    const idle = availability(MAINS)
    const busy = availability({ ...MAINS, load: 1.5 })
    const queued = availability({ ...MAINS, queue: 8 })
    expect(busy).toBeLessThan(idle)
    expect(queued).toBeLessThan(idle)
    expect(availability({ ...MAINS, load: 0.11 })).toBeCloseTo(idle, 2)
    expect(latencyFactor(undefined)).toBe(1)
    expect(latencyFactor(10)).toBeGreaterThan(latencyFactor(200))
  })

  it('multiplies the score by the trust hook, clamped to [0, 1], and drops untrusted providers', () => {
    const index = new CapabilityIndex()
    index.put('a', descriptor('a', [light]), { local: false })
    index.put('b', descriptor('b', [light]), { local: false })
    const intent: Intent = { text: 'hall light' }
    const plain = index.query(intent)
    const trusted = index.query(intent, { trust: (peer) => (peer === 'a' ? 0.5 : 3) })
    expect(trusted.map((m) => m.peer)).toEqual(['b', 'a'])
    expect(trusted[1]!.score).toBeCloseTo(plain[0]!.score * 0.5, 12)
    expect(trusted[0]!.parts.trust).toBe(1)
    expect(index.query(intent, { trust: (peer) => (peer === 'a' ? 0 : 1) }).map((m) => m.peer)).toEqual(['b'])
  })

  it('ranks a slow provider below a fast one and treats its own capabilities as instant', () => {
    const index = new CapabilityIndex()
    index.put('near', descriptor('near', [light]), { local: false })
    index.put('far', descriptor('far', [light]), { local: false })
    index.put('self', descriptor('self', [light]), { local: true })
    const matches = index.query({ text: 'hall light' }, { latencyOf: (p) => (p === 'far' ? 400 : 8) })
    expect(matches.map((m) => m.peer)).toEqual(['self', 'near', 'far'])
    expect(matches[0]!.parts.latency).toBe(1)
  })
})

describe('CapabilityIndex maintenance', () => {
  it("replaces a peer's capabilities on put() and forgets them on remove()", () => {
    const index = houseIndex()
    const before = index.size
    expect(index.query({ text: 'sprinkler' })[0]?.capability.id).toBe('sprinkler')
    const replaced = descriptor('hub-utility', [
      cap('pump', 'Pond pump', 'Circulates the pond water', ['garden']),
    ])
    index.put('hub-utility', replaced, { local: false })
    expect(index.size).toBe(before - 6 + 1)
    expect(ids(index.query({ text: 'sprinkler lawn' }))).not.toContain('sprinkler')
    expect(index.query({ text: 'pond pump' })[0]?.capability.id).toBe('pump')
    expect(index.remove('hub-utility')).toBe(true)
    expect(index.remove('hub-utility')).toBe(false)
    expect(index.size).toBe(before - 6)
    expect(index.query({ text: 'pond pump' })).toEqual([])
  })

  it('updates availability on a state-only refresh, so the drained hub drops in the ranking', () => {
    const index = houseIndex()
    const [hub] = household()
    index.put(hub!.peer, { ...hub!, seq: 2, state: { ...MAINS, battery: 5 } }, { local: false })
    const matches = index.query({ text: 'turn on the living room lamp' }, { limit: 50 })
    const lamp = matches.find((m) => m.capability.id === 'light.living-room')
    expect(lamp?.parts.relevance).toBe(1)
    expect(lamp?.parts.availability).toBeLessThan(0.2)
    expect(matches[0]?.capability.id).not.toBe('light.living-room')
    index.put(hub!.peer, { ...hub!, seq: 3 }, { local: false })
    expect(index.query({ text: 'turn on the living room lamp' })[0]?.capability.id).toBe('light.living-room')
  })

  it('reuses freed slots: many replacements leave the same answers', () => {
    const index = houseIndex()
    for (let round = 0; round < 50; round++) {
      for (const d of household()) {
        const caps = round % 2 === 0 ? d.caps.slice().reverse() : d.caps
        index.put(d.peer, { ...d, caps }, { local: d.peer === 'compute-box' })
      }
    }
    expect(index.size).toBe(houseIndex().size)
    expect(index.query({ text: 'temp in the kitchen' })[0]?.capability.id).toBe('temperature.kitchen')
  })

  it('indexes 50,000 capabilities and answers from them', () => {
    const index = new CapabilityIndex()
    const rooms = ['kitchen', 'bedroom', 'bathroom', 'office', 'garage', 'attic', 'hallway', 'garden']
    for (let p = 0; p < 10_000; p++) {
      const room = rooms[p % rooms.length]!
      const caps = [
        cap(`light.${room}`, `${room} light ${p}`, `Switch the ${room} light on or off`, ['light', room]),
        cap(
          `temperature.${room}`,
          `${room} temperature`,
          `Reads the ${room} temperature`,
          ['temperature'],
          'sensor',
        ),
        cap(`plug.${room}`, `${room} plug`, `Smart outlet in the ${room}`, ['plug', room]),
        cap(`motion.${room}`, `${room} motion`, `Movement in the ${room}`, ['motion'], 'sensor'),
        cap(`script.s${p}`, `Script ${p}`, `Summarize text variant ${p}`, ['text'], 'script'),
      ]
      index.put(`peer-${p}`, descriptor(`peer-${p}`, caps), { local: false })
    }
    expect(index.size).toBe(50_000)
    const matches = index.query({ text: 'bathroom lamp' })
    expect(matches).toHaveLength(10)
    for (const m of matches) expect(m.capability.id).toBe('light.bathroom')
    expect(index.query({ text: 'script 4242' })[0]?.capability.id).toBe('script.s4242')
    for (let p = 0; p < 10_000; p += 2) index.remove(`peer-${p}`)
    expect(index.size).toBe(25_000)
    expect(index.query({ text: 'script 4242' })[0]?.capability.id).not.toBe('script.s4242')
  })
})

describe('CapabilityIndex pruning', () => {
  it('returns the same top k as ranking every candidate', () => {
    let seed = 7
    const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
    const index = new CapabilityIndex()
    const trust = new Map<string, number>()
    const rtt = new Map<string, number>()
    for (let copy = 0; copy < 40; copy++) {
      for (const d of household()) {
        const peer = `${d.peer}-${copy}`
        const state = {
          ...MAINS,
          load: rand() * 2,
          queue: Math.floor(rand() * 6),
          battery: Math.round(rand() * 100),
        }
        index.put(peer, { ...d, peer, state }, { local: copy === 0 })
        trust.set(peer, rand())
        if (rand() < 0.8) rtt.set(peer, rand() * 300)
      }
    }
    const options = { trust: (peer: string) => trust.get(peer)!, latencyOf: (peer: string) => rtt.get(peer) }
    const intents: Intent[] = [
      { text: 'turn on the living room lamp' },
      { text: 'temp in the kitchen' },
      { text: 'light', tags: ['outdoor'] },
      { text: 'text', constraints: { kind: 'script', maxLatencyMs: 150 } },
      { text: '' },
    ]
    for (const intent of intents) {
      const all = index.query(intent, { ...options, limit: 100_000 })
      expect(index.query(intent, { ...options, limit: 7 })).toEqual(all.slice(0, 7))
    }
  })
})

describe('RelevanceScorer seam', () => {
  it('lets another relevance model replace BM25 without changing callers', () => {
    const docs = new Map<number, Capability>()
    const scorer: RelevanceScorer = {
      add: (doc, capability) => void docs.set(doc, capability),
      remove: (doc) => void docs.delete(doc),
      score(intent): ScoredDocs {
        const hits = [...docs].filter(([, c]) => c.id.includes(intent.text))
        return {
          count: hits.length,
          docs: Int32Array.from(hits.map(([doc]) => doc)),
          relevance: Float64Array.from(hits.map(() => 1)),
        }
      },
    }
    const index = new CapabilityIndex({ scorer })
    for (const d of household()) index.put(d.peer, d, { local: false })
    expect(ids(index.query({ text: 'script.ocr' }))).toEqual(['script.ocr'])
    index.remove('compute-box')
    expect(index.query({ text: 'script.ocr' })).toEqual([])
  })
})

describe('schemaCompatibility', () => {
  const summarize = household()[5]!.caps[0]!

  it('is 1 without an intent schema, 0 when a required input is missing, neutral-ish when unknown', () => {
    expect(schemaCompatibility({}, summarize)).toBe(1)
    expect(schemaCompatibility({ input: { properties: { image: { type: 'string' } } } }, summarize)).toBe(0)
    expect(schemaCompatibility({ input: { properties: { text: { type: 'string' } } } }, summarize)).toBe(1)
    const unknown = cap('x', 'X', '', [], 'script')
    expect(schemaCompatibility({ input: { properties: { text: { type: 'string' } } } }, unknown)).toBe(0.95)
  })

  it('treats integer as a number and a string as no number', () => {
    const c = cap('n', 'N', '', [], 'script', {
      input: { properties: { n: { type: 'number' } }, required: ['n'] },
    })
    expect(schemaCompatibility({ input: { properties: { n: { type: 'integer' } } } }, c)).toBe(1)
    expect(schemaCompatibility({ input: { properties: { n: { type: 'string' } } } }, c)).toBe(0)
    expect(schemaCompatibility({ input: { type: 'string' } }, { ...c, input: { type: 'object' } })).toBe(0)
  })
})
