/**
 * `GET /metrics`: Prometheus text from a registry of this node's own (never prom-client's global one:
 * several nodes may share a process). Every kith metric mirrors a counter the planes keep anyway and is
 * read when scraped, so nothing on a hot path changes. Process metrics come from prom-client, prefixed
 * `kith_`. The metrics themselves are listed in metric-defs.ts.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { AnnouncerCounters } from '../discovery/announcer.ts'
import type { NodeState } from '../discovery/descriptor.ts'
import type { StoreCounters } from '../discovery/store.ts'
import type { WorkerSandboxCounters } from '../execution/sandbox/index.ts'
import type { TaskCount } from '../execution/task-counts.ts'
import type { ConnectionRefusals } from './connection-guard.ts'
import { RESPONDED, type Route } from './http.ts'
import { METRIC_DEFS } from './metric-defs.ts'

/** What the metrics read from the node, at each scrape. */
export interface MetricsSource {
  /** peers connected now */
  peers(): number
  liveDescriptors(): number
  discovery(): { store: StoreCounters; gossip: AnnouncerCounters }
  tasks(): Iterable<Readonly<TaskCount>>
  /** task-protocol requests and streams refused before any task ran, by reason */
  taskRefusals(): Readonly<Record<string, number>>
  /** connections to this API closed before they were answered, by reason */
  apiRefusals(): Readonly<ConnectionRefusals>
  /** the sandbox's counters, and the CPU time its scripts took (ms, inside the VM) */
  sandbox(): { counters: WorkerSandboxCounters; cpuMs: number }
  /** undefined when the node has no MQTT */
  mqtt():
    | {
        connected: boolean
        counters: {
          received: number
          published: number
          oversize: number
          rateLimited: number
          outboxFull: number
          reconnects: number
          retainedReplayed: number
        }
        commands: { confirmed: number; timedOut: number; failed: number }
      }
    | undefined
  /** outcomes the reputation service recorded, by kind, and the canary book's answers */
  trust(): { recorded: Readonly<Record<string, number>>; canaries: { passed: number; failed: number } }
  state(): NodeState
  /** this node's clock against its peers' */
  clock(): { offsetMs: number; peers: number; suspect: boolean }
}

/**
 * A registry with every kith metric, read from `source` at each scrape, and the process metrics.
 *
 * @example
 * const registry = metricsRegistry(source)
 * await registry.metrics() // '# HELP kith_peers Peers connected now\n# TYPE kith_peers gauge\nkith_peers 3\n…'
 */
export function metricsRegistry(source: MetricsSource): Registry {
  const registry = new Registry()
  for (const def of METRIC_DEFS) {
    const labelNames = def.labels ?? []
    const config = { name: def.name, help: def.help, labelNames, registers: [registry] }
    if (def.type === 'counter') {
      new Counter({
        ...config,
        collect() {
          // a plane's counter only grows, so its value is the Prometheus counter's value
          this.reset()
          for (const [labels, value] of def.rows(source)) this.inc(labels, value)
        },
      })
    } else {
      new Gauge({
        ...config,
        collect() {
          this.reset()
          let present = false
          for (const [labels, value] of def.rows(source)) {
            this.set(labels, value)
            present = true
          }
          // a reading the node does not have (no battery) is no series, not a 0
          if (!present && labelNames.length === 0) this.remove()
        },
      })
    }
  }
  collectDefaultMetrics({ register: registry, prefix: 'kith_' })
  return registry
}

/** The `/metrics` route: the registry's text in the Prometheus exposition format. */
export function metricsRoute(registry: Registry): Route {
  return {
    method: 'GET',
    path: '/metrics',
    doc: {
      summary: 'Prometheus metrics: peers, descriptors, gossip, tasks, sandbox, MQTT, verification, state',
      response: { contentType: 'text/plain', description: 'Prometheus text exposition format 0.0.4' },
    },
    handle: async (req) => {
      const text = await registry.metrics()
      req.raw.res.writeHead(200, {
        'content-type': registry.contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      })
      req.raw.res.end(text)
      return RESPONDED
    },
  }
}
