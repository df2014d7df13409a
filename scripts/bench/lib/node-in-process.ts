/**
 * Child program of the node-start benchmark: starts the node from its modules rather than through the CLI,
 * timing each phase from inside, then starts a second node in the same process to see the warm cost.
 * Usage: node scripts/bench/lib/node-in-process.ts CONFIG; prints one JSON line of timings on stdout.
 *
 * The src modules are imported dynamically so that their import can be timed.
 */

/** Node's own boot until this file's first statement: performance.now() counts from process start. */
const boot = performance.now()
const rssBefore = process.memoryUsage.rss()

const file = process.argv[2]
if (file == null) throw new Error('usage: node-in-process.ts CONFIG')

const t0 = performance.now()
const { loadConfig } = await import('../../../src/config/index.ts')
const { createNode } = await import('../../../src/node/node.ts')
const { createLogger } = await import('../../../src/util/logger.ts')
const t1 = performance.now()
const rssImported = process.memoryUsage.rss()

const config = await loadConfig(file)
const logger = createLogger(config.log.level)
const t2 = performance.now()
const node = await createNode(config, logger)
const t3 = performance.now()
await node.start()
const t4 = performance.now()
const rssReady = process.memoryUsage.rss()
await node.stop()

// the same again in this process: modules loaded, code warm
const t5 = performance.now()
const warm = await createNode(config, logger)
await warm.start()
const t6 = performance.now()
await warm.stop()

const timings = {
  boot,
  import: t1 - t0,
  loadConfig: t2 - t1,
  createNode: t3 - t2,
  start: t4 - t3,
  ready: t4 - t2,
  readyWarm: t6 - t5,
  rssBefore,
  rssImported,
  rssReady,
}
process.stdout.write(`${JSON.stringify(timings)}\n`)
// libp2p may leave timers behind after stop; the numbers are out, so do not wait for them
process.exit(0)
