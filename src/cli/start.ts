/**
 * `kith start`: runs the node until SIGTERM or SIGINT. Logs go to stderr as JSON lines; stdout carries one
 * line, the ready event, for scripts and supervisors to wait on. While it runs, a change to the config file
 * (or to a file it names), or SIGHUP, reloads the config: what can change live does, the rest is logged as
 * needing a restart. `--demo` adds the default household around the node (demo.ts).
 */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Config } from '../config/index.ts'
import { ConfigWatcher, watchedFiles } from '../config/watch.ts'
import { loadNodeConfig } from '../node/config.ts'
import { createNode, type KithNode } from '../node/node.ts'
import { componentLogger, createLogger, type Logger } from '../util/logger.ts'
import { initNode } from './init.ts'
import { stopOnSignals } from './signals.ts'

export async function startNode(options: { config: string; init?: boolean; demo?: boolean }): Promise<void> {
  if (options.init === true && !existsSync(options.config)) {
    const { peerId, config } = await initNode({ dir: dirname(options.config) })
    process.stderr.write(`kith: created ${config} and a new identity ${peerId}\n`)
  }
  // the demo's canary lives in memory only, so it is added to every load, reloads included
  const withDemo = options.demo === true ? (await import('./demo-peer.ts')).withDemoCanary : undefined
  const load = async () => {
    const loaded = await loadNodeConfig(options.config)
    return withDemo != null ? withDemo(loaded) : loaded
  }
  const config = await load()
  const root = createLogger(config.log.level)
  const log = componentLogger(root, 'kith:cli')
  const node = await createNode(config, root)

  stopOnSignals(node, log)

  const ready = await node.start().catch((err: unknown) => {
    // the CLI prints one line; under log.level debug the log keeps the whole error, stack and cause
    log.debug({ err }, 'start failed')
    throw err
  })
  let announce: (() => Promise<void>) | undefined
  if (options.demo === true) {
    const { startDemo } = await import('./demo.ts')
    try {
      const demo = await startDemo({ node, ready, config, logger: root })
      announce = () => demo.announce()
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  await watchConfig(load, node, log)
  process.stdout.write(`${JSON.stringify(ready)}\n`)
  // the hints go to stderr once the household is live; stdout has said all it will
  announce?.().catch((err: unknown) => log.warn({ err }, 'demo hints failed'))
}

/** Reloads the config when it (or a file it names) changes, or on SIGHUP; the node's stop ends both. */
async function watchConfig(load: () => Promise<Config>, node: KithNode, log: Logger): Promise<void> {
  const watcher = new ConfigWatcher({
    files: watchedFiles(node.config),
    onChange: async (reason) => {
      await node.reload(load, reason)
      await watcher.setFiles(watchedFiles(node.config))
    },
    onError: (err) => log.warn({ err }, 'config watch failed'),
  })
  await watcher.start()
  const onHangup = () => {
    watcher.reload('SIGHUP').catch((err: Error) => log.warn({ err }, 'config reload failed'))
  }
  process.on('SIGHUP', onHangup)
  node.onStop(async () => {
    process.off('SIGHUP', onHangup)
    watcher.stop()
  })
}
