import { afterEach, describe, expect, it, vi } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import {
  availableCapabilities,
  BAND_DEFAULTS,
  type Bands,
  NO_BANDS,
  nextBands,
} from '../../src/discovery/bands.ts'
import { type NodeState, stateSchema } from '../../src/discovery/descriptor.ts'
import { type Reading, StateSampler, type StateSource } from '../../src/discovery/sampler.ts'
import { type SystemInfo, SystemStateSource } from '../../src/discovery/system-source.ts'

const GB = 1024 ** 3
const mains: Reading = { load: 0.1, memFree: 4 * GB }
const onBattery = (battery: number, extra: Partial<Reading> = {}): Reading => ({
  ...mains,
  battery,
  charging: false,
  ...extra,
})
const state = (s: Partial<NodeState>): NodeState => ({ load: 0.1, memFree: GB, queue: 0, ...s })

/** A source that returns whatever the test puts in `next`, counting reads. */
function scripted(first: Reading = mains) {
  const source = { reads: 0, next: (): Promise<Reading> => Promise.resolve(first) }
  const asSource: StateSource = {
    read: () => {
      source.reads++
      return source.next()
    },
  }
  return { source, asSource }
}

/** A sampler whose first reading (the silent baseline) is taken; `feed` samples one more reading. */
async function sampled(first: Reading = mains) {
  const { source, asSource } = scripted(first)
  const sampler = new StateSampler(asSource, { queue: () => 0 })
  const changes: { bands: Bands; state: NodeState; previous: Bands }[] = []
  sampler.onBandChange((bands, state, previous) => changes.push({ bands, state, previous }))
  await sampler.sampleNow()
  const feed = async (reading: Reading) => {
    source.next = () => Promise.resolve(reading)
    return sampler.sampleNow()
  }
  return { sampler, source, changes, feed }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('nextBands', () => {
  it('enters batteryLow below 20 % on battery power and leaves it at 25 % or when charging starts', () => {
    const low = nextBands(NO_BANDS, state({ battery: 19, charging: false }))
    expect(low.batteryLow).toBe(true)
    expect(nextBands(NO_BANDS, state({ battery: 20, charging: false })).batteryLow).toBe(false)
    expect(nextBands(low, state({ battery: 24, charging: false })).batteryLow).toBe(true)
    expect(nextBands(low, state({ battery: 25, charging: false })).batteryLow).toBe(false)
    expect(nextBands(low, state({ battery: 12, charging: true })).batteryLow).toBe(false)
  })

  it('never puts a node on mains power (no battery) in batteryLow', () => {
    expect(nextBands({ ...NO_BANDS, batteryLow: true }, state({})).batteryLow).toBe(false)
  })

  it('enters loadHigh above 0.8 and leaves below 0.65; thermalThrottled at 80 °C and at or below 72 °C', () => {
    const busy = nextBands(NO_BANDS, state({ load: 0.81 }))
    expect(busy.loadHigh).toBe(true)
    expect(nextBands(NO_BANDS, state({ load: 0.8 })).loadHigh).toBe(false)
    expect(nextBands(busy, state({ load: 0.65 })).loadHigh).toBe(true)
    expect(nextBands(busy, state({ load: 0.64 })).loadHigh).toBe(false)

    const hot = nextBands(NO_BANDS, state({ thermal: 80 }))
    expect(hot.thermalThrottled).toBe(true)
    expect(nextBands(NO_BANDS, state({ thermal: 79.9 })).thermalThrottled).toBe(false)
    expect(nextBands(hot, state({ thermal: 73 })).thermalThrottled).toBe(true)
    expect(nextBands(hot, state({ thermal: 72 })).thermalThrottled).toBe(false)
  })

  it('takes its thresholds as options', () => {
    const t = { ...BAND_DEFAULTS, loadHighEnter: 2, loadHighLeave: 1.5 }
    expect(nextBands(NO_BANDS, state({ load: 1.9 }), t).loadHigh).toBe(false)
    expect(nextBands(NO_BANDS, state({ load: 2.1 }), t).loadHigh).toBe(true)
  })
})

describe('StateSampler', () => {
  it('reports no battery on mains power: the fields are absent, not 0', async () => {
    const { sampler } = await sampled(mains)
    const now = sampler.current()
    expect(now).not.toHaveProperty('battery')
    expect(now).not.toHaveProperty('charging')
    expect(stateSchema.parse(now)).toEqual(now)
  })

  it('rounds load to two decimals and battery to an integer, and reads the queue when asked', async () => {
    let queue = 3
    const { asSource } = scripted({
      battery: 56.6,
      charging: false,
      load: 0.12345,
      memFree: 1e9 + 0.5,
      thermal: 51.26,
    })
    const sampler = new StateSampler(asSource, { queue: () => queue })
    expect(await sampler.sampleNow()).toEqual({
      battery: 57,
      charging: false,
      load: 0.12,
      memFree: 1e9,
      thermal: 51.3,
      queue: 3,
    })
    queue = 5
    expect(sampler.current().queue).toBe(5)
  })

  it('fires once per crossing while the battery oscillates around 20 %', async () => {
    const { changes, feed } = await sampled(onBattery(40))
    for (const level of [19, 21, 19, 22, 19.6, 24, 18]) await feed(onBattery(level))
    expect(changes).toHaveLength(1)
    expect(changes[0]?.bands.batteryLow).toBe(true)
    expect(changes[0]?.previous.batteryLow).toBe(false)
    expect(changes[0]?.state.battery).toBe(19)

    await feed(onBattery(25))
    for (const level of [24, 21, 20, 22]) await feed(onBattery(level))
    expect(changes.map((c) => c.bands.batteryLow)).toEqual([true, false])

    await feed(onBattery(19))
    await feed(onBattery(19, { charging: true }))
    expect(changes.map((c) => c.bands.batteryLow)).toEqual([true, false, true, false])
  })

  it('fires for load and thermal crossings with the bands, the state and the previous bands', async () => {
    const { changes, feed, sampler } = await sampled(mains)
    await feed({ ...mains, load: 0.9 })
    await feed({ ...mains, load: 0.7 })
    await feed({ ...mains, load: 0.6, thermal: 85 })
    expect(changes.map((c) => c.bands)).toEqual([
      { batteryLow: false, loadHigh: true, thermalThrottled: false },
      { batteryLow: false, loadHigh: false, thermalThrottled: true },
    ])
    expect(changes[1]?.state).toMatchObject({ load: 0.6, thermal: 85 })
    expect(sampler.bands()).toEqual({ batteryLow: false, loadHigh: false, thermalThrottled: true })
  })

  it('takes the first reading as the baseline without an event', async () => {
    const { changes, sampler } = await sampled(onBattery(10))
    expect(changes).toEqual([])
    expect(sampler.bands().batteryLow).toBe(true)
  })

  it('keys listeners by identity, stops calling a removed one, and survives a throwing one', async () => {
    const { sampler, feed } = await sampled(mains)
    const calls: string[] = []
    const a = () => calls.push('a')
    const offA = sampler.onBandChange(a)
    sampler.onBandChange(a)
    sampler.onBandChange(() => {
      throw new Error('boom')
    })
    const offB = sampler.onBandChange(() => calls.push('b'))
    await feed({ ...mains, load: 0.95 })
    expect(calls).toEqual(['a', 'b'])
    offA()
    offB()
    await feed({ ...mains, load: 0.1 })
    expect(calls).toEqual(['a', 'b'])
  })

  it('keeps the last good state when a read fails or returns nonsense, and never rejects', async () => {
    const { sampler, source, feed } = await sampled(onBattery(60, { load: 0.3, thermal: 50 }))
    const good = sampler.current()
    source.next = () => Promise.reject(new Error('no /proc'))
    await expect(sampler.sampleNow()).resolves.toEqual(good)
    source.next = () => {
      throw new Error('thrown, not rejected')
    }
    await expect(sampler.sampleNow()).resolves.toEqual(good)
    expect(await feed({ load: Number.NaN, memFree: -1, battery: 60, charging: false, thermal: 50 })).toEqual(
      good,
    )
  })

  it('gives up on a hung read after readTimeoutMs, keeps the last good state and does not start a second read', async () => {
    vi.useFakeTimers()
    const { source, asSource } = scripted({ ...mains, load: 0.42 })
    const sampler = new StateSampler(asSource, { queue: () => 0, readTimeoutMs: 1000 })
    const good = await sampler.sampleNow()
    source.next = () => new Promise<Reading>(() => {})
    const hung = sampler.sampleNow()
    await vi.advanceTimersByTimeAsync(1000)
    await expect(hung).resolves.toEqual(good)
    const again = sampler.sampleNow()
    await vi.advanceTimersByTimeAsync(1000)
    await expect(again).resolves.toEqual(good)
    expect(source.reads).toBe(2)
  })

  it('samples every intervalMs after start, and not after stop', async () => {
    vi.useFakeTimers()
    const { source, asSource } = scripted(mains)
    const sampler = new StateSampler(asSource, { queue: () => 0, intervalMs: 5000 })
    await sampler.start()
    expect(source.reads).toBe(1)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(source.reads).toBe(4)
    sampler.stop()
    await vi.advanceTimersByTimeAsync(15_000)
    expect(source.reads).toBe(4)
  })

  it('drops a reading that arrives after stop', async () => {
    const { sampler, source, changes } = await sampled(mains)
    const { promise, resolve } = Promise.withResolvers<Reading>()
    source.next = () => promise
    const late = sampler.sampleNow()
    sampler.stop()
    resolve({ ...mains, load: 0.99 })
    await late
    expect(sampler.current().load).toBe(0.1)
    expect(changes).toEqual([])
  })
})

/** A fake systeminformation whose answers the test sets; counts calls. */
function fakeSi() {
  const calls = { battery: 0, cpuTemperature: 0, mem: 0 }
  const answers = {
    battery: (): ReturnType<SystemInfo['battery']> =>
      Promise.resolve({ hasBattery: false, percent: 0, isCharging: false, acConnected: true }),
    cpuTemperature: (): ReturnType<SystemInfo['cpuTemperature']> => Promise.resolve({ main: null }),
    mem: (): ReturnType<SystemInfo['mem']> => Promise.resolve({ available: 2 * GB }),
  }
  const si: SystemInfo = {
    battery: () => {
      calls.battery++
      return answers.battery()
    },
    cpuTemperature: () => {
      calls.cpuTemperature++
      return answers.cpuTemperature()
    },
    mem: () => {
      calls.mem++
      return answers.mem()
    },
  }
  return { si, calls, answers }
}

describe('SystemStateSource', () => {
  it('reports no battery and no temperature where systeminformation has none (hasBattery false, main null or -1)', async () => {
    const { si, answers } = fakeSi()
    const reading = await new SystemStateSource({ si, batteryEveryMs: 0, thermalEveryMs: 0 }).read()
    expect(reading).not.toHaveProperty('battery')
    expect(reading).not.toHaveProperty('charging')
    expect(reading).not.toHaveProperty('thermal')
    expect(reading.memFree).toBe(2 * GB)
    answers.cpuTemperature = () => Promise.resolve({ main: -1 })
    expect(await new SystemStateSource({ si }).read()).not.toHaveProperty('thermal')
  })

  it('reports the battery level, external power as charging, and the temperature', async () => {
    const { si, answers } = fakeSi()
    answers.battery = () =>
      Promise.resolve({ hasBattery: true, percent: 15, isCharging: false, acConnected: false })
    answers.cpuTemperature = () => Promise.resolve({ main: 61.5 })
    const source = new SystemStateSource({ si, batteryEveryMs: 0 })
    expect(await source.read()).toMatchObject({ battery: 15, charging: false, thermal: 61.5 })
    answers.battery = () =>
      Promise.resolve({ hasBattery: true, percent: 80, isCharging: false, acConnected: true })
    expect(await source.read()).toMatchObject({ battery: 80, charging: true })
  })

  it('reads the battery and the temperature less often than memory', async () => {
    vi.useFakeTimers()
    const { si, calls } = fakeSi()
    const source = new SystemStateSource({ si, batteryEveryMs: 15_000, thermalEveryMs: 30_000 })
    for (let i = 0; i < 12; i++) {
      await source.read()
      await vi.advanceTimersByTimeAsync(5000)
    }
    expect(calls).toEqual({ mem: 12, battery: 4, cpuTemperature: 2 })
  })

  it('keeps the last good values when a call fails or hangs, and does not repeat a call still running', async () => {
    vi.useFakeTimers()
    const { si, calls, answers } = fakeSi()
    answers.battery = () =>
      Promise.resolve({ hasBattery: true, percent: 50, isCharging: false, acConnected: false })
    answers.cpuTemperature = () => Promise.resolve({ main: 70 })
    const source = new SystemStateSource({ si, batteryEveryMs: 0, thermalEveryMs: 0, callTimeoutMs: 500 })
    const good = await source.read()

    answers.battery = () => Promise.reject(new Error('pmset failed'))
    answers.cpuTemperature = () => new Promise(() => {})
    answers.mem = () => new Promise(() => {})
    const slow = source.read()
    await vi.advanceTimersByTimeAsync(500)
    const reading = await slow
    expect(reading).toMatchObject({ battery: 50, charging: false, thermal: 70, memFree: good.memFree })

    await source.read()
    expect(calls.cpuTemperature).toBe(2)
    expect(calls.mem).toBe(2)
    expect(calls.battery).toBe(3)
  })

  it('reads a sane state from this machine through systeminformation', async () => {
    const sampler = new StateSampler(new SystemStateSource(), { queue: () => 0 })
    const now = await sampler.sampleNow()
    expect(stateSchema.parse(now)).toEqual(now)
    expect(now.load).toBeGreaterThanOrEqual(0)
    expect(now.memFree).toBeGreaterThan(0)
    if (now.battery !== undefined) expect(now.battery).toBeGreaterThan(0)
  })
})

describe('availableCapabilities', () => {
  const heavy = { id: 'llm.summarize', minBattery: 30, maxLoad: 0.7 }
  const sensor = { id: 'sensor.temperature' }
  const caps = [heavy, sensor]
  const ids = (gate: { offered: { id: string }[] }) => gate.offered.map((c) => c.id)

  it('withdraws a heavy capability at 15 % on battery power and keeps the sensor', () => {
    const gate = availableCapabilities(caps, state({ battery: 15, charging: false }))
    expect(ids(gate)).toEqual(['sensor.temperature'])
    expect([...gate.withdrawn]).toEqual(['llm.summarize'])
    expect(gate.changed).toBe(true)
  })

  it('restores it only once the battery is back above the margin, without flapping in between', () => {
    let gate = availableCapabilities(caps, state({ battery: 15, charging: false }))
    const seen: boolean[] = []
    for (const battery of [30, 31, 29, 34]) {
      gate = availableCapabilities(caps, state({ battery, charging: false }), gate)
      expect(ids(gate)).toEqual(['sensor.temperature'])
      seen.push(gate.changed)
    }
    expect(seen).toEqual([false, false, false, false])
    gate = availableCapabilities(caps, state({ battery: 35, charging: false }), gate)
    expect(ids(gate)).toEqual(['llm.summarize', 'sensor.temperature'])
    expect(gate.changed).toBe(true)
    // offered again: it stays down to minBattery itself
    gate = availableCapabilities(caps, state({ battery: 30, charging: false }), gate)
    expect(ids(gate)).toEqual(['llm.summarize', 'sensor.temperature'])
    expect(gate.changed).toBe(false)
  })

  it('ignores minBattery while charging and on mains power', () => {
    const gate = availableCapabilities(caps, state({ battery: 15, charging: false }))
    expect(ids(availableCapabilities(caps, state({ battery: 15, charging: true }), gate))).toHaveLength(2)
    expect(ids(availableCapabilities(caps, state({}), gate))).toHaveLength(2)
  })

  it('withdraws above maxLoad and restores at maxLoad - 0.1', () => {
    let gate = availableCapabilities(caps, state({ load: 0.71 }))
    expect(ids(gate)).toEqual(['sensor.temperature'])
    gate = availableCapabilities(caps, state({ load: 0.61 }), gate)
    expect(ids(gate)).toEqual(['sensor.temperature'])
    gate = availableCapabilities(caps, state({ load: 0.6 }), gate)
    expect(ids(gate)).toEqual(['llm.summarize', 'sensor.temperature'])
    gate = availableCapabilities(caps, state({ load: 0.7 }), gate)
    expect(ids(gate)).toHaveLength(2)
  })

  it('is configured per capability in kith.yaml, within range', () => {
    const cap = { id: 'llm.summarize', kind: 'script', title: 'Summarize', script: 'summarize.js' }
    const parsed = configSchema.parse({ capabilities: [{ ...cap, minBattery: 30, maxLoad: 0.7 }] })
    expect(parsed.capabilities[0]).toMatchObject({ minBattery: 30, maxLoad: 0.7 })
    expect(configSchema.safeParse({ capabilities: [{ ...cap, minBattery: 120 }] }).success).toBe(false)
    expect(configSchema.safeParse({ capabilities: [{ ...cap, maxLoad: 0 }] }).success).toBe(false)
  })
})
