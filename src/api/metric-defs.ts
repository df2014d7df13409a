/**
 * The kith metrics of `GET /metrics` (metrics.ts): each a name, a help text and a function from the node's
 * counters to labelled values. Names follow Prometheus conventions: `_total` for counters, base units
 * (seconds, bytes, percent and ratio spelled out).
 */
import type { MetricsSource } from './metrics.ts'

type Labels = Record<string, string>
type Rows = Iterable<readonly [Labels, number]>

export interface MetricDef {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labels?: string[]
  rows(source: MetricsSource): Rows
}

const one = (value: number | undefined): Rows => (value === undefined ? [] : [[{}, value]])
const by = (label: string, values: Record<string, number>): Rows =>
  Object.entries(values).map(([key, value]) => [{ [label]: key }, value])

const counter = (name: string, help: string, rows: MetricDef['rows'], labels?: string[]): MetricDef => ({
  name,
  help,
  type: 'counter',
  rows,
  ...(labels != null ? { labels } : {}),
})
const gauge = (name: string, help: string, rows: MetricDef['rows'], labels?: string[]): MetricDef => ({
  ...counter(name, help, rows, labels),
  type: 'gauge',
})

const DISCOVERY: MetricDef[] = [
  gauge('kith_peers', 'Peers connected now', (s) => one(s.peers())),
  gauge('kith_descriptors', 'Descriptors held, by state', (s) => by('state', { live: s.liveDescriptors() }), [
    'state',
  ]),
  counter(
    'kith_descriptors_received_total',
    'Descriptors taken into the store, by result',
    (s) => {
      const c = s.discovery().store
      return by('result', {
        new: c.accepted,
        replaced: c.replaced,
        duplicate: c.duplicate,
        state: c.stateUpdates,
      })
    },
    ['result'],
  ),
  counter('kith_descriptors_expired_total', 'Descriptors that expired in the store', (s) =>
    one(s.discovery().store.expired),
  ),
  counter('kith_descriptors_evicted_total', 'Descriptors evicted from a full store', (s) =>
    one(s.discovery().store.evicted),
  ),
  counter(
    'kith_descriptors_rejected_total',
    'Descriptors refused, by reason',
    (s) => {
      const { store, gossip } = s.discovery()
      const { digestMismatch, limited } = gossip.intake
      return by('reason', { ...store.rejected, digest_mismatch: digestMismatch, rate_limited: limited })
    },
    ['reason'],
  ),
  counter(
    'kith_descriptor_signature_checks_total',
    'Descriptor bodies taken in, by whether their Ed25519 signature was checked or known already',
    (s) => {
      const { verified, verifySkipped } = s.discovery().gossip.intake
      return by('result', { verified, skipped: verifySkipped })
    },
    ['result'],
  ),
  counter(
    'kith_gossip_bytes_total',
    'Announce payload bytes on the gossip topic (out: own notices and forwards, times recipients)',
    (s) => {
      const g = s.discovery().gossip
      return by('direction', { in: g.gossipBytesIn, out: g.gossipBytesOut + g.forwardBytesOut })
    },
    ['direction'],
  ),
  counter(
    'kith_descriptor_pull_bytes_total',
    'Descriptor bodies pulled by or from this node, in bytes',
    (s) => {
      const g = s.discovery().gossip
      return by('direction', { in: g.pullBytesIn, out: g.pullBytesOut })
    },
    ['direction'],
  ),
  counter(
    'kith_descriptor_pulls_total',
    'Descriptor pulls from peers, by result',
    (s) => {
      const g = s.discovery().gossip
      return by('result', { ok: g.pulls - g.pullFailures, failed: g.pullFailures })
    },
    ['result'],
  ),
  counter(
    'kith_announces_total',
    "This node's announces: a new signed body, or a heartbeat of an unchanged one",
    (s) => {
      const g = s.discovery().gossip
      return by('kind', { body: g.announced - g.heartbeats, heartbeat: g.heartbeats })
    },
    ['kind'],
  ),
  counter(
    'kith_gossip_notices_rejected_total',
    'Announce notices refused, by reason',
    (s) => by('reason', { ...s.discovery().gossip.noticesRejected }),
    ['reason'],
  ),
]

const EXECUTION: MetricDef[] = [
  counter(
    'kith_tasks_total',
    'Tasks ended: in = run here for a peer, out = delegated from here; by status and verification tier',
    (s) => [...s.tasks()].map((t) => [{ direction: t.direction, status: t.status, tier: t.tier }, t.count]),
    ['direction', 'status', 'tier'],
  ),
  counter(
    'kith_task_requests_refused_total',
    'Task requests and streams refused before any task ran (malformed, forged, expired, replayed, too many streams), and replies sent as an error because their output could not be sent, by reason',
    (s) => by('reason', { ...s.taskRefusals() }),
    ['reason'],
  ),
  counter(
    'kith_sandbox_tasks_total',
    'Scripts run in the QuickJS sandbox, by result (ok or the failure code)',
    (s) => {
      const c = s.sandbox().counters
      return by('result', { ok: c.ok, ...c.failed })
    },
    ['result'],
  ),
  counter('kith_sandbox_cpu_seconds_total', 'CPU time scripts spent inside the sandbox VM', (s) =>
    one(s.sandbox().cpuMs / 1000),
  ),
  counter('kith_sandbox_host_calls_total', 'Host function calls made by scripts', (s) =>
    one(s.sandbox().counters.hostCalls),
  ),
  counter(
    'kith_sandbox_worker_restarts_total',
    'Sandbox worker threads replaced after a crash or hang',
    (s) => one(s.sandbox().counters.workerRestarts),
  ),
]

const DEVICES: MetricDef[] = [
  gauge('kith_mqtt_connected', '1 while the MQTT link is up (absent without MQTT)', (s) => {
    const m = s.mqtt()
    return one(m === undefined ? undefined : m.connected ? 1 : 0)
  }),
  counter(
    'kith_mqtt_messages_total',
    'MQTT messages received and published',
    (s) => {
      const c = s.mqtt()?.counters
      return c === undefined ? [] : by('direction', { in: c.received, out: c.published })
    },
    ['direction'],
  ),
  counter(
    'kith_mqtt_messages_dropped_total',
    'MQTT messages dropped, by reason',
    (s) => {
      const c = s.mqtt()?.counters
      return c === undefined
        ? []
        : by('reason', { oversize: c.oversize, rate_limited: c.rateLimited, outbox_full: c.outboxFull })
    },
    ['reason'],
  ),
  counter('kith_mqtt_reconnects_total', 'MQTT reconnections', (s) => one(s.mqtt()?.counters.reconnects)),
  counter(
    'kith_mqtt_retained_replayed_total',
    'Retained MQTT messages handed from the cache to a device that joined a topic already subscribed',
    (s) => one(s.mqtt()?.counters.retainedReplayed),
  ),
  counter(
    'kith_device_commands_total',
    'Device commands ended, by result',
    (s) => {
      const c = s.mqtt()?.commands
      return c === undefined
        ? []
        : by('result', { confirmed: c.confirmed, timed_out: c.timedOut, failed: c.failed })
    },
    ['result'],
  ),
]

const TRUST: MetricDef[] = [
  counter(
    'kith_verification_failures_total',
    "Providers' answers refused by a verification check: canary (Tier 2), replay (Tier 2), evidence (Tier 3)",
    (s) => {
      const r = s.trust().recorded
      return by('check', {
        canary: r.canary_failure ?? 0,
        replay: r.wrong_answer ?? 0,
        evidence: r.invalid_evidence ?? 0,
      })
    },
    ['check'],
  ),
  counter(
    'kith_canary_challenges_total',
    'Canary challenges answered by providers, by result',
    (s) => by('result', { ...s.trust().canaries }),
    ['result'],
  ),
]

const STATE: MetricDef[] = [
  gauge('kith_battery_percent', 'Battery charge (absent on mains power)', (s) => one(s.state().battery)),
  gauge('kith_battery_charging', '1 while the battery charges (absent on mains power)', (s) => {
    const c = s.state().charging
    return one(c === undefined ? undefined : c ? 1 : 0)
  }),
  gauge('kith_load_ratio', '1-minute load average divided by the number of cores', (s) =>
    one(s.state().load),
  ),
  gauge('kith_memory_free_bytes', 'Free memory', (s) => one(s.state().memFree)),
  gauge('kith_temperature_celsius', 'CPU temperature, where the machine reports one', (s) =>
    one(s.state().thermal),
  ),
  gauge('kith_task_queue', 'Tasks waiting or running here', (s) => one(s.state().queue)),
  gauge(
    'kith_clock_offset_seconds',
    "Median over peers of their clock minus this node's, from their notices (absent without peers)",
    (s) => {
      const c = s.clock()
      return one(c.peers > 0 ? c.offsetMs / 1000 : undefined)
    },
  ),
  gauge('kith_clock_suspect', "1 when peers agree that this node's clock is off", (s) =>
    one(s.clock().suspect ? 1 : 0),
  ),
]

const API: MetricDef[] = [
  counter(
    'kith_api_connections_refused_total',
    'Connections to this API closed before an answer (cap full, share kept for this machine, per-address cap, no byte in time), by reason',
    (s) => {
      const r = s.apiRefusals()
      return by('reason', {
        full: r.full,
        reserved: r.reserved,
        per_address: r.perAddress,
        first_byte_timeout: r.firstByteTimeout,
      })
    },
    ['reason'],
  ),
]

export const METRIC_DEFS: readonly MetricDef[] = [
  ...DISCOVERY,
  ...EXECUTION,
  ...DEVICES,
  ...TRUST,
  ...STATE,
  ...API,
]
