/**
 * Conformance against the device software itself: every fixture in test/fixtures/devices/ is a discovery
 * config exactly as Zigbee2MQTT, Tasmota (SetOption19) or ESPHome builds it, cited to its source. Through a
 * real embedded broker each is imported, every action kith offers is driven through the bridge's run path,
 * and what kith publishes is compared with what Home Assistant publishes for the same service call (cited to
 * Home Assistant's own tests); then the device's state reply is played back and the confirmation and the
 * sensor readings are checked. Options kith does not map must be counted with a reason, never dropped.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { comparable, hub, importedSpec, loadFixtures, text } from '../conformance.ts'
import { waitFor } from '../helpers.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function client(url: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: `conformance-${Math.random().toString(36).slice(2)}` })
  cleanups.push(() => c.endAsync())
  return c
}

const fixtures = loadFixtures()

describe('conformance fixtures', () => {
  it('has at least 40 fixtures: 15 Zigbee2MQTT, 10 Tasmota, 10 ESPHome, each citing its source', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40)
    const by = (repo: string) => fixtures.filter((f) => f.source.repo === repo).length
    expect(by('Koenkk/zigbee2mqtt')).toBeGreaterThanOrEqual(15)
    expect(by('arendst/Tasmota')).toBeGreaterThanOrEqual(10)
    expect(by('esphome/esphome')).toBeGreaterThanOrEqual(10)
    for (const f of fixtures) {
      expect(f.source.file, f.name).toBeTruthy()
      expect(f.source.commit ?? f.source.version, f.name).toBeTruthy()
      for (const a of f.actions) expect(a.ha.commit ?? a.ha.version, `${f.name} ${a.part}`).toBeTruthy()
    }
  })
})

// a pending fixture is a known limitation, and checked as one: the import still refuses part of it and counts
// why; once kith takes the whole fixture this fails, and its `pending` note goes
for (const f of fixtures.filter((x) => x.pending != null)) {
  describe(f.name, () => {
    it(`still refuses part of it, as its pending note says: ${f.pending}`, async () => {
      const { broker, bridge } = await hub(cleanups)
      const device = await client(broker.url)
      for (const m of [...(f.availability ?? []), ...f.discovery])
        await device.publishAsync(m.topic, text(m.payload), { retain: true, qos: 1 })
      await waitFor(`${f.name}: a refusal counted`, () => Object.keys(bridge.rejected).length > 0, 10_000)
      for (const reason of Object.keys(bridge.rejected)) expect(f.pending, reason).toContain(reason)
    })
  })
}

const ready = fixtures.filter((f) => f.pending == null)
describe.each(ready.map((f) => [f.name, f] as const))('%s', (_name, f) => {
  it('imports, publishes what Home Assistant publishes, and reads the state reply', async () => {
    const { broker, bridge } = await hub(cleanups)
    const device = await client(broker.url)
    for (const m of f.availability ?? [])
      await device.publishAsync(m.topic, text(m.payload), { retain: true, qos: 1 })
    for (const m of f.discovery) await device.publishAsync(m.topic, text(m.payload), { retain: true, qos: 1 })

    const parts = [...f.actions.map((a) => a.part), ...f.readings.map((r) => r.part)]
    let id = ''
    await waitFor(
      `${f.name}: imported with ${parts.join(', ')}`,
      () => {
        const d = bridge.devices().find((x) => parts.every((p) => x.capabilities.includes(`${x.id}.${p}`)))
        id = d?.id ?? ''
        return d != null
      },
      10_000,
    ).catch((err: Error) => {
      const offered = bridge.devices().flatMap((d) => d.capabilities)
      throw new Error(
        `${err.message}; offered: ${offered.join(', ')}; refused: ${JSON.stringify(bridge.rejected)}`,
      )
    })
    expect(bridge.rejected, 'no config or entity refused').toEqual({})

    const spy = await client(broker.url)
    const seen: { topic: string; payload: string }[] = []
    spy.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }))
    const commandTopics = [
      ...new Set(f.actions.flatMap((a) => [a.expect, ...(a.also ?? [])].map((m) => m.topic))),
    ]
    if (commandTopics.length > 0) await spy.subscribeAsync(commandTopics, { qos: 1 })

    for (const a of f.actions) {
      seen.length = 0
      const ctrl = new AbortController()
      const run = bridge.run(`${id}.${a.part}`, a.input, { task: `t-${a.part}` }, ctrl.signal)
      let failed: Error | undefined
      run.catch((err: Error) => {
        failed = err
      })
      const wanted = [a.expect, ...(a.also ?? [])]
      const published = () => wanted.every((w) => seen.some((m) => m.topic === w.topic))
      await waitFor(
        `${f.name}: ${a.part} publishes on ${wanted.map((w) => w.topic).join(', ')}`,
        () => failed != null || published(),
      )
      if (failed != null && !published())
        throw new Error(`${f.name}: ${a.part} ${JSON.stringify(a.input)} failed: ${failed.message}`)
      for (const w of wanted) {
        const sent = seen.find((m) => m.topic === w.topic) as { topic: string; payload: string }
        expect(
          comparable(sent.payload),
          `${f.name}: ${a.part} ${JSON.stringify(a.input)} on ${w.topic} (HA: ${a.ha.service})`,
        ).toEqual(comparable(text(w.payload)))
      }
      for (const m of a.reply ?? []) await device.publishAsync(m.topic, text(m.payload), { qos: 1 })
      const result = (await run) as { confirmed: boolean }
      expect(result.confirmed, `${f.name}: ${a.part} confirmed`).toBe(a.confirmed)
    }

    for (const r of f.readings) {
      for (const m of r.reply ?? []) await device.publishAsync(m.topic, text(m.payload), { qos: 1 })
      await waitFor(
        `${f.name}: ${r.part} reads ${JSON.stringify(r.value)}`,
        () => {
          const reading = bridge.read(`${id}.${r.part}`)
          return reading != null && JSON.stringify(reading.value) === JSON.stringify(r.value)
        },
        5_000,
      ).catch(() => undefined)
      expect(bridge.read(`${id}.${r.part}`)?.value, `${f.name}: ${r.part}`).toEqual(r.value)
    }

    // every action kith offers for the device is driven above
    const spec = importedSpec(f)
    const driven = new Set(f.actions.map((a) => a.part))
    expect(
      spec.actions.map((a) => a.id).filter((a) => !driven.has(a)),
      `${f.name}: actions not driven`,
    ).toEqual([])

    // what the import could not map is counted with a reason, never dropped: the same configs through an
    // importer of their own give the device's report, which must list the options the fixture names
    const report = spec.unmapped
    const reasons = ['not_supported', 'partly', 'display_only', 'not_mapped', 'bad_value']
    for (const o of report?.options ?? []) {
      expect(reasons, `${f.name}: ${o.option}`).toContain(o.reason)
      expect(o.detail.length, `${f.name}: ${o.option} says why`).toBeGreaterThan(0)
    }
    const counted = Object.values(report?.counts ?? {}).reduce((a, b) => a + b, 0)
    expect(counted).toBeGreaterThanOrEqual(report?.options.length ?? 0)
    for (const [option, reason] of Object.entries(f.unmapped ?? {})) {
      const found = report?.options.find((o) => o.option === option)
      expect(found?.reason, `${f.name}: ${option} counted as ${reason}`).toBe(reason)
    }
  }, 30_000)
})
