/**
 * GET /metrics: Prometheus text that parses by the exposition grammar, from a registry per node, whose task
 * counters move when real nodes delegate and serve a task.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricsRegistry, type MetricsSource } from '../../src/api/metrics.ts'
import type { NodeState } from '../../src/discovery/descriptor.ts'
import { TaskCounts } from '../../src/execution/task-counts.ts'
import type { KithNode } from '../../src/node/node.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

interface Family {
  type: string
  help: string
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
// a float as Go's ParseFloat reads it: NaN and Inf in any case (prom-client writes `Nan`)
const VALUE =
  '[-+]?(?:\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?|[nN][aA][nN]|[iI][nN][fF])'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (${VALUE})(?: -?\\d+)?$`)
const SUFFIXES = ['_bucket', '_sum', '_count']

/**
 * Parses the Prometheus text exposition format 0.0.4, throwing on any line outside its grammar, a sample
 * before its family's TYPE, a family typed twice, or a series given twice.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const seen = new Set<string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta != null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name: ${line}`)
      const family = families.get(name) ?? { type: '', help: '', samples: [] }
      if (kind === 'TYPE') {
        if (family.type !== '') throw new Error(`TYPE given twice: ${line}`)
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`bad type: ${line}`)
        family.type = rest
      } else family.help = rest
      families.set(name, family)
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (m == null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`)
    const [, name, labelText, value] = m as unknown as [string, string, string | undefined, string]
    const base = SUFFIXES.reduce(
      (n, s) => (n.endsWith(s) && !families.has(n) ? n.slice(0, -s.length) : n),
      name,
    )
    const family = families.get(base)
    if (family == null || family.type === '') throw new Error(`sample before its TYPE: ${line}`)
    const labels = Object.fromEntries(
      [...(labelText ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    ) as Record<string, string>
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(series)) throw new Error(`series given twice: ${line}`)
    seen.add(series)
    family.samples.push({ name, labels, value: Number(value.replace(/inf$/i, 'Infinity')) })
  }
  return families
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  families
    .get(name)
    ?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value

function fakeSource(state: NodeState, tasks = new TaskCounts()): MetricsSource {
  const rejected = {
    oversize: 1,
    malformed: 2,
    bad_signature: 3,
    stale_seq: 0,
    expired: 0,
    clock_skew: 0,
    store_full: 0,
  }
  return {
    peers: () => 4,
    liveDescriptors: () => 5,
    discovery: () => ({
      store: {
        accepted: 5,
        replaced: 1,
        duplicate: 9,
        stateUpdates: 2,
        superseded: 0,
        expired: 7,
        evicted: 0,
        rejected,
      },
      gossip: {
        announced: 10,
        heartbeats: 6,
        gossipBytesOut: 100,
        forwardBytesOut: 50,
        gossipBytesIn: 300,
        pullBytesIn: 1000,
        pullBytesOut: 2000,
        pulls: 3,
        pullFailures: 1,
        penalized: 0,
        noticesRejected: { malformed: 0, unsigned: 1, foreign: 0, clock_skew: 0, old: 2 },
        intake: { verified: 5, verifySkipped: 4, limited: 1, digestMismatch: 1 },
        capabilitiesLeft: 0,
        signRefused: 0,
        announceFailed: 0,
      },
    }),
    tasks: () => tasks.rows(),
    taskRefusals: () => ({ expired: 2, too_many_streams: 1 }),
    apiRefusals: () => ({ full: 1, reserved: 0, perAddress: 3, firstByteTimeout: 5 }),
    sandbox: () => ({
      counters: {
        tasks: 3,
        ok: 2,
        failed: {
          timeout: 1,
          memory: 0,
          stack: 0,
          thrown: 0,
          output_too_large: 0,
          input_too_large: 0,
          bad_input: 0,
          bad_script: 0,
          bad_output: 0,
          aborted: 0,
          internal: 0,
        },
        hostCalls: 8,
        engineLoads: 1,
        engineDiscards: 0,
        prewarmed: 1,
        workerRestarts: 0,
        workerRecycles: 0,
        workerRetires: 0,
      },
      cpuMs: 1500,
    }),
    mqtt: () => undefined,
    trust: () => ({
      recorded: { success: 3, canary_failure: 2, wrong_answer: 1, invalid_evidence: 0 },
      canaries: { passed: 4, failed: 2 },
    }),
    state: () => state,
    clock: () => ({ offsetMs: -300_000, peers: 3, suspect: true }),
  }
}

describe('metricsRegistry', () => {
  it('writes Prometheus text that parses, with counters named _total', async () => {
    const tasks = new TaskCounts()
    tasks.add('out', 'ok', 2)
    tasks.add('out', 'ok', 2)
    tasks.add('in', 'busy', 'unknown')
    const text = await metricsRegistry(fakeSource({ load: 0.5, memFree: 1e9, queue: 2 }, tasks)).metrics()
    const families = parseExposition(text)
    for (const [name, family] of families) {
      if (family.type === 'counter') expect(name, name).toMatch(/_total$/)
      expect(name.startsWith('kith_'), name).toBe(true)
      expect(family.help, name).not.toBe('')
    }
    expect(value(families, 'kith_peers')).toBe(4)
    expect(value(families, 'kith_descriptors', { state: 'live' })).toBe(5)
    expect(value(families, 'kith_descriptors_expired_total')).toBe(7)
    expect(value(families, 'kith_descriptors_rejected_total', { reason: 'bad_signature' })).toBe(3)
    expect(value(families, 'kith_descriptors_rejected_total', { reason: 'digest_mismatch' })).toBe(1)
    expect(value(families, 'kith_gossip_bytes_total', { direction: 'out' })).toBe(150)
    expect(value(families, 'kith_gossip_bytes_total', { direction: 'in' })).toBe(300)
    expect(value(families, 'kith_announces_total', { kind: 'body' })).toBe(4)
    expect(value(families, 'kith_tasks_total', { direction: 'out', status: 'ok', tier: '2' })).toBe(2)
    expect(value(families, 'kith_tasks_total', { direction: 'in', status: 'busy', tier: 'unknown' })).toBe(1)
    expect(value(families, 'kith_sandbox_tasks_total', { result: 'timeout' })).toBe(1)
    expect(value(families, 'kith_sandbox_cpu_seconds_total')).toBe(1.5)
    expect(value(families, 'kith_task_requests_refused_total', { reason: 'expired' })).toBe(2)
    expect(value(families, 'kith_task_requests_refused_total', { reason: 'too_many_streams' })).toBe(1)
    expect(value(families, 'kith_api_connections_refused_total', { reason: 'per_address' })).toBe(3)
    expect(value(families, 'kith_api_connections_refused_total', { reason: 'first_byte_timeout' })).toBe(5)
    expect(value(families, 'kith_verification_failures_total', { check: 'canary' })).toBe(2)
    expect(value(families, 'kith_verification_failures_total', { check: 'replay' })).toBe(1)
    expect(value(families, 'kith_canary_challenges_total', { result: 'passed' })).toBe(4)
    expect(value(families, 'kith_load_ratio')).toBe(0.5)
    expect(value(families, 'kith_task_queue')).toBe(2)
    expect(value(families, 'kith_clock_offset_seconds')).toBe(-300)
    expect(value(families, 'kith_clock_suspect')).toBe(1)
    expect(value(families, 'kith_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('leaves out readings the node does not have, and shows them once it has', async () => {
    const state: NodeState = { load: 0.1, memFree: 1, queue: 0 }
    const registry = metricsRegistry(fakeSource(state))
    let families = parseExposition(await registry.metrics())
    expect(families.get('kith_battery_percent')?.samples).toEqual([])
    expect(families.get('kith_mqtt_connected')?.samples).toEqual([])
    expect(families.get('kith_mqtt_messages_total')?.samples).toEqual([])
    Object.assign(state, { battery: 42, charging: true, thermal: 51.5 })
    families = parseExposition(await registry.metrics())
    expect(value(families, 'kith_battery_percent')).toBe(42)
    expect(value(families, 'kith_battery_charging')).toBe(1)
    expect(value(families, 'kith_temperature_celsius')).toBe(51.5)
  })

  it('gives each node a registry of its own', async () => {
    const a = metricsRegistry(fakeSource({ load: 0.1, memFree: 1, queue: 0 }))
    const b = metricsRegistry({ ...fakeSource({ load: 0.9, memFree: 1, queue: 0 }), peers: () => 7 })
    expect(value(parseExposition(await a.metrics()), 'kith_peers')).toBe(4)
    expect(value(parseExposition(await b.metrics()), 'kith_peers')).toBe(7)
    expect(value(parseExposition(await a.metrics()), 'kith_load_ratio')).toBe(0.1)
  })

  it('refuses text outside the grammar (the parser itself)', () => {
    expect(() => parseExposition('# TYPE a counter\na{b="c} 1\n')).toThrow(/not an exposition line/)
    expect(() => parseExposition('a 1\n')).toThrow(/before its TYPE/)
    expect(() => parseExposition('# TYPE a gauge\na 1\na 2\n')).toThrow(/twice/)
    expect(parseExposition('# TYPE a gauge\na{x="1",y="q\\"z"} -Inf 123\n').get('a')?.samples[0]).toEqual({
      name: 'a',
      labels: { x: '1', y: 'q\\"z' },
      value: -Infinity,
    })
  })
})

describe('GET /metrics of real nodes', () => {
  let root: string
  let cleanup: () => Promise<void>
  let provider: KithNode
  let requester: KithNode

  beforeAll(async () => {
    ;({ dir: root, cleanup } = await tempDir('kith-metrics-'))
    await mkdir(join(root, 'p'), { recursive: true })
    await writeFile(join(root, 'p', 'double.js'), 'function run(input) { return { value: input.x * 2 } }\n')
    provider = await startTestNode(join(root, 'p'), {
      yaml: [
        'capabilities:',
        '  - { id: double, kind: script, title: Double a number, script: double.js, deterministic: true }',
      ],
    })
    const state: NodeState = { battery: 55, charging: false, load: 0.25, memFree: 1e9, queue: 0 }
    requester = await startTestNode(join(root, 'r'), {
      bootstrap: [provider.host.getMultiaddrs()[0]!.toString()],
      local: { state: () => state, capabilities: () => [] },
    })
    const peer = provider.host.peerId.toString()
    await waitFor(
      'the requester to hold the provider descriptor',
      () => requester.discovery.store.get(peer) != null,
    )
  })

  afterAll(async () => {
    await Promise.all([requester?.stop(), provider?.stop()])
    await cleanup()
  })

  const scrape = async (node: KithNode) => {
    const res = await fetch(`${node.apiUrl}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return parseExposition(await res.text())
  }

  it('counts a delegated task on both sides, and the script in the sandbox', async () => {
    const res = await fetch(`${requester.apiUrl}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capability: 'double', input: { x: 21 } }),
    })
    const task = (await res.json()) as { ok: boolean; output: unknown; provider: string; tier: number }
    expect(task).toMatchObject({ ok: true, output: { value: 42 }, provider: provider.host.peerId.toString() })

    const r = await scrape(requester)
    expect(value(r, 'kith_tasks_total', { direction: 'out', status: 'ok', tier: String(task.tier) })).toBe(1)
    expect(value(r, 'kith_peers')).toBeGreaterThanOrEqual(1)
    expect(value(r, 'kith_descriptors', { state: 'live' })).toBe(2)
    expect(value(r, 'kith_battery_percent')).toBe(55)
    expect(value(r, 'kith_battery_charging')).toBe(0)
    expect(value(r, 'kith_load_ratio')).toBe(0.25)

    const p = await scrape(provider)
    expect(value(p, 'kith_tasks_total', { direction: 'in', status: 'ok' })).toBe(1)
    expect(value(p, 'kith_sandbox_tasks_total', { result: 'ok' })).toBe(1)
    expect(value(p, 'kith_sandbox_cpu_seconds_total')).toBeGreaterThanOrEqual(0)
    // the requester learned of the provider by gossip and a pull of its descriptor
    const heard =
      (value(r, 'kith_gossip_bytes_total', { direction: 'in' }) ?? 0) +
      (value(r, 'kith_descriptor_pull_bytes_total', { direction: 'in' }) ?? 0)
    expect(heard).toBeGreaterThan(0)
  })

  it('counts a task nobody can run under its own status', async () => {
    const before = value(await scrape(requester), 'kith_tasks_total', {
      direction: 'out',
      status: 'no_provider',
    })
    const res = await fetch(`${requester.apiUrl}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capability: 'nobody-offers-this', input: {} }),
    })
    expect(((await res.json()) as { status: string }).status).toBe('no_provider')
    const after = value(await scrape(requester), 'kith_tasks_total', {
      direction: 'out',
      status: 'no_provider',
    })
    expect(after).toBe((before ?? 0) + 1)
  })
})
