/**
 * `kith start --demo` (what `npm start` runs): the default household around a freshly started node. Virtual
 * devices on its embedded broker (devices/virtual/household.ts) and a second kith node in this process with
 * script capabilities (demo-peer.ts), so `kith find`, `kith call`, the MCP tools and the agent card have real
 * entries at once; then, when both are visible to the first node, a "try this" block on stderr. Stdout keeps
 * only the ready line.
 */
import { dirname, join } from 'node:path'
import type { DemoHousehold } from '../devices/virtual/household.ts'
import { type Config, loadConfig, parseHostPort } from '../config/index.ts'
import type { KithNode, ReadyInfo } from '../node/node.ts'
import { componentLogger, type Logger } from '../util/logger.ts'
import { DEFAULT_CONFIG } from './client.ts'
import { type ClientHints, commandDir, invocation, tryThis } from './demo-hints.ts'
import { DEMO_CAPABILITIES, DEMO_PEER_DIR, startDemoPeer } from './demo-peer.ts'
import { shortPeer, styleFor } from './format.ts'

/** How long the household may take to become visible before the wait says what is missing. */
export const DEMO_LIVE_TIMEOUT_MS = 15_000
const POLL_MS = 100

export interface Demo {
  readonly peer: KithNode
  readonly household: DemoHousehold | undefined
  /** what is not yet visible to the first node; empty once the household is live */
  missing(): string[]
  /**
   * Waits until the household is live and writes the "try this" block to stderr; after `timeoutMs` it says
   * what is missing and goes on waiting. Ends without a word when the demo stops first.
   */
  announce(options?: { timeoutMs?: number }): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts the devices and the demo peer around a started node; the node's stop stops them first.
 *
 * @example
 * const demo = await startDemo({ node, ready, config: node.config, logger: root })
 * void demo.announce()
 */
export async function startDemo(init: {
  node: KithNode
  ready: ReadyInfo
  config: Config
  logger: Logger
}): Promise<Demo> {
  const { node, ready, config } = init
  const log = componentLogger(init.logger, 'kith:cli:demo')
  const brokerUrl = node.devices.brokerUrl()
  let household: DemoHousehold | undefined
  if (brokerUrl != null) {
    const { startDemoHousehold } = await import('../devices/virtual/household.ts')
    household = await startDemoHousehold(brokerUrl)
    log.info({ devices: household.ids }, 'demo household running')
  }
  let peer: KithNode
  try {
    peer = await startDemoPeer({
      dir: join(dirname(config.paths.file), DEMO_PEER_DIR),
      bootstrap: dialable(ready),
      ttl: config.discovery.ttl,
      logger: init.logger,
    })
  } catch (err) {
    await household?.stop()
    throw err
  }
  const peerId = peer.host.peerId.toString()
  log.info({ peerId, capabilities: DEMO_CAPABILITIES.map((c) => c.id) }, 'demo peer running')

  const stopped = new AbortController()
  const stop = async () => {
    if (stopped.signal.aborted) return
    stopped.abort()
    await peer.stop().catch((err: unknown) => log.warn({ err }, 'demo peer stop failed'))
    await household?.stop().catch((err: unknown) => log.warn({ err }, 'demo devices stop failed'))
    log.info('demo household stopped')
  }
  node.onStop(stop)

  const missing = (): string[] => {
    const store = node.discovery.store
    const out: string[] = []
    const remote = store.get(peerId)?.descriptor.caps ?? []
    for (const cap of DEMO_CAPABILITIES)
      if (!remote.some((c) => c.id === cap.id)) out.push(`${cap.id} from the demo peer ${shortPeer(peerId)}`)
    const own = store.get(ready.peerId)?.descriptor.caps ?? []
    const online = new Set(
      node.devices.bridge
        .devices()
        .filter((d) => d.online)
        .map((d) => d.id),
    )
    for (const d of household?.devices ?? [])
      if (!online.has(d.bridgeId) || !own.some((c) => c.id.startsWith(`${d.bridgeId}.`)))
        out.push(`device ${d.id}`)
    return out
  }

  const announce = async (options: { timeoutMs?: number } = {}) => {
    const deadline = Date.now() + (options.timeoutMs ?? DEMO_LIVE_TIMEOUT_MS)
    let warned = false
    let left = missing()
    while (left.length > 0) {
      if (stopped.signal.aborted) return
      if (!warned && Date.now() > deadline) {
        warned = true
        log.warn({ missing: left }, 'demo household not live yet')
        process.stderr.write(
          `kith: the demo household is not live after ${Math.round((options.timeoutMs ?? DEMO_LIVE_TIMEOUT_MS) / 1000)} s; ` +
            `still missing: ${left.join(', ')}. The "try this" hints follow once it is.\n`,
        )
      }
      await sleep(POLL_MS, stopped.signal)
      left = missing()
    }
    if (stopped.signal.aborted) return
    const plug = household?.devices.find((d) => d.kind === 'plug')
    const plugAction = node.devices.bridge
      .devices()
      .find((d) => d.id === plug?.bridgeId)
      ?.capabilities.find((c) => c.endsWith('.switch'))
    const how = invocation()
    process.stderr.write(
      tryThis(
        {
          how,
          client: await clientHints(config, ready, commandDir(how)),
          api: clientUrl(ready.api),
          peerId: ready.peerId,
          demoPeerId: peerId,
          demoCapabilities: DEMO_CAPABILITIES.map((c) => c.id),
          devices: household?.devices.length ?? 0,
          ...(plugAction != null ? { plugAction } : {}),
          ...(how.kind === 'checkout' ? { workflow: 'examples/evening.yaml' } : {}),
        },
        styleFor(process.stderr),
      ),
    )
  }

  return { peer, household, missing, announce, stop }
}

/** The first node's address the demo peer dials: a loopback one, with the peer id. */
function dialable(ready: ReadyInfo): string {
  const direct = ready.listen.filter((a) => !a.includes('/p2p-circuit'))
  const addr =
    direct.find((a) => a.startsWith('/ip4/127.')) ??
    direct.find((a) => a.startsWith('/ip6/::1/')) ??
    direct[0]
  if (addr == null) throw new Error('the node has no listen address for the demo peer to dial')
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${ready.peerId}`
}

/** The API as a client on this machine reaches it (a wildcard bind is reached on loopback). */
function clientUrl(api: string): string {
  return api.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:')
}

/**
 * What the hinted commands must add: nothing when the default config where they run leads to this node's
 * API as the file says it (no `KITH_*` overrides, no port 0); `--api` otherwise, and `--config` for a token.
 */
async function clientHints(config: Config, ready: ReadyInfo, dir: string): Promise<ClientHints> {
  const hints: ClientHints = {}
  const asWritten = await loadConfig(config.paths.file, { env: {}, checkFiles: false }).catch(() => undefined)
  const port = new URL(ready.api).port
  const written = asWritten == null ? undefined : parseHostPort(asWritten.api.listen)
  const isDefault = config.paths.file === join(dir, DEFAULT_CONFIG)
  if (!isDefault || written == null || String(written.port) !== port) hints.api = clientUrl(ready.api)
  if (config.apiToken != null && !isDefault) hints.config = config.paths.file
  return hints
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
