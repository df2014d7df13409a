/**
 * Child program of the testbed when it is asked for capability churn (the propagation benchmark): a kith
 * node run as `kith start` runs it (the same config loaded the same way, `createNode`, the ready line on
 * stdout, JSON logs on stderr, SIGTERM or SIGINT stop it and exit 0), except that its descriptor body
 * changes on a schedule: one extra capability, `bench.churn`, is withdrawn and restored in turn every
 * CHURN_MS, the first time after a random part of CHURN_MS so that nodes do not change in step. Each change
 * goes through the node's own path for a capability change (the capability gate's re-announce), so the
 * announcer signs a new body and every other node has to pull it.
 *
 * Usage: node scripts/bench/lib/churn-node.ts CONFIG CHURN_MS
 */
import { loadConfig } from '../../../src/config/index.ts'
import type { Capability } from '../../../src/discovery/descriptor.ts'
import { StateSampler } from '../../../src/discovery/sampler.ts'
import { SystemStateSource } from '../../../src/discovery/system-source.ts'
import { type LocalState, SampledLocalState } from '../../../src/discovery/local-state.ts'
import { createNode } from '../../../src/node/node.ts'
import { stopOnSignals } from '../../../src/cli/signals.ts'
import { componentLogger, createLogger } from '../../../src/util/logger.ts'

const [file, churnArg] = process.argv.slice(2)
const churnMs = Number(churnArg)
if (file == null || !Number.isInteger(churnMs) || churnMs < 100)
  throw new Error('usage: churn-node.ts CONFIG CHURN_MS (at least 100)')

const CHURN_CAPABILITY: Capability = {
  id: 'bench.churn',
  title: 'Churn marker',
  description: 'Withdrawn and restored on a schedule by the propagation benchmark.',
  tags: ['bench'],
  kind: 'script',
  risk: 'low',
  input: { type: 'object' },
  output: { type: 'object' },
}

/** The node's sampled state and configured capabilities, plus the churn capability while it is offered. */
class ChurningLocalState implements LocalState {
  readonly #inner: SampledLocalState
  readonly #listeners = new Set<() => void>()
  #offered = true
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(inner: SampledLocalState) {
    this.#inner = inner
  }

  state() {
    return this.#inner.state()
  }

  capabilities(): Capability[] {
    const caps = this.#inner.capabilities()
    return this.#offered ? [...caps, CHURN_CAPABILITY] : caps
  }

  async start(): Promise<void> {
    await this.#inner.start()
    const toggle = () => {
      this.#offered = !this.#offered
      for (const listener of this.#listeners) listener()
      this.#timer = setTimeout(toggle, churnMs)
    }
    this.#timer = setTimeout(toggle, Math.floor(Math.random() * churnMs))
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#inner.stop()
  }

  watch(onChange: () => void): () => void {
    const off = this.#inner.watch(onChange)
    this.#listeners.add(onChange)
    return () => {
      off()
      this.#listeners.delete(onChange)
    }
  }
}

const config = await loadConfig(file)
const root = createLogger(config.log.level)
const log = componentLogger(root, 'kith:bench:churn')
const samplerLog = componentLogger(root, 'kith:discovery:sampler')
const sampler = new StateSampler(new SystemStateSource({ log: samplerLog }), {
  queue: () => 0,
  intervalMs: config.discovery.sampleInterval,
  log: samplerLog,
})
const local = new ChurningLocalState(new SampledLocalState(sampler, config.capabilities))
const node = await createNode(config, root, { local })
stopOnSignals(node, log)
const ready = await node.start()
process.stdout.write(`${JSON.stringify(ready)}\n`)
