/**
 * The node's one MQTT connection (mqtt.js), the only place that talks to the broker. It owns the socket
 * options (TCP_NODELAY: Nagle's algorithm turns a 0.15 ms command round trip into 88 ms), the protocol
 * choice (MQTT 5 where the broker speaks it, else 3.1.1), a persistent session, reconnects with back-off, a
 * bounded outbox, and inbound limits: a message over the size cap or beyond a topic's rate is dropped and
 * counted before any handler sees it. Publishing to a wildcard topic is refused.
 *
 * One broker subscription serves every handler of a filter. A broker sends a topic's retained message only
 * when a subscription is made, so a handler that joins a filter already subscribed would never see it (every
 * Zigbee2MQTT entity names the one retained `zigbee2mqtt/bridge/state`): the link keeps the last retained
 * message of each topic in a byte-bounded cache ({@link RetainedCache}) and hands the new handler those its
 * filter matches. Re-subscribing instead would replay them to every handler already there, a burst that grows
 * with the square of the devices sharing the topic.
 */
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { type IClientOptions, MqttClient } from 'mqtt'
import type { Events } from '../util/event-bus.ts'
import type { Logger } from '../util/logger.ts'
import type { DeviceEvents } from './events.ts'
import { RetainedCache } from './retained-cache.ts'
import { TopicRouter, topicMatches } from './topics.ts'
import { TokenBuckets } from '../util/token-bucket.ts'
import { KithError } from '../util/errors.ts'

/** The TLS settings of an `mqtts:` link. */
export interface MqttTls {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  rejectUnauthorized: boolean
}

export interface MqttLinkInit {
  /** the broker; a function is read at start (an embedded broker's port is known once it listens) */
  url: string | (() => string)
  clientId: string
  username?: string
  password?: string
  /** a function is called once at start (e.g. to read the certificate files) */
  tls?: MqttTls | (() => Promise<MqttTls>)
  protocol: 'auto' | '5' | '3.1.1'
  /** publishes waiting for the broker at once (while offline or unacknowledged); beyond it publish fails */
  outbox: number
  maxPayloadBytes: number
  /** messages per second per topic, burst 4× */
  maxRatePerTopic: number
  log: Logger
  /** where received messages and connection changes are published (`GET /v1/events` names them `devices`) */
  events?: Events<Pick<DeviceEvents, 'mqtt'>>
  /** a Last Will the broker publishes if the node vanishes */
  will?: { topic: string; payload: string; retain: boolean }
  /** bytes of retained messages kept for handlers that join a filter later (default 4 MiB) */
  retainedCacheBytes?: number
}

/** The MQTT link refused or failed an operation; `code` says which (`bad_topic`, `stopped`, `refused`, …). */
export class MqttLinkError extends KithError {
  static override readonly code = 'mqtt_failed'
  static override readonly status = 502
  static override readonly codeVaries = true
  constructor(code: string, message: string) {
    super(message, { code })
    this.name = 'MqttLinkError'
  }
}

export type MessageHandler = (topic: string, payload: Buffer) => void

const RECONNECT_MIN_MS = 250
const RECONNECT_MAX_MS = 30_000
/** topics whose rate is tracked at once; the oldest bucket is forgotten first */
const MAX_RATE_BUCKETS = 4096

/** True for a topic a message may be published to: no wildcards, no NUL, 1–256 chars. */
export function isPublishTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= 256 && !/[+#\0]/.test(topic)
}

export class MqttLink {
  readonly #init: MqttLinkInit
  #tls: MqttTls | undefined
  #client?: MqttClient
  #version: 4 | 5 = 5
  #pending = 0
  #reconnectDelay = RECONNECT_MIN_MS
  #everConnected = false
  readonly #router = new TopicRouter<MessageHandler>()
  readonly #retained: RetainedCache
  /** per topic: a flooding device loses its own excess messages and nobody else's */
  readonly #buckets: TokenBuckets
  readonly #connectListeners = new Set<(reconnect: boolean) => void>()
  /**
   * Topics whose messages skip the rate limit: the state topics of commands waiting for confirmation, so a
   * burst of our own commands cannot get their confirmations dropped as a flood.
   */
  awaited: (topic: string) => boolean = () => false
  /** inbound drops and link events, for metrics */
  readonly counters = {
    received: 0,
    published: 0,
    oversize: 0,
    rateLimited: 0,
    outboxFull: 0,
    reconnects: 0,
    /** retained messages handed from the cache to a handler that joined a filter already subscribed */
    retainedReplayed: 0,
  }

  constructor(init: MqttLinkInit) {
    this.#init = init
    this.#buckets = new TokenBuckets({
      ratePerSec: init.maxRatePerTopic,
      burst: init.maxRatePerTopic * 4,
      maxKeys: MAX_RATE_BUCKETS,
      now: () => performance.now(),
    })
    this.#retained = new RetainedCache({ maxBytes: init.retainedCacheBytes ?? 4 * 1024 * 1024 })
    if (init.protocol === '3.1.1') this.#version = 4
  }

  get connected(): boolean {
    return this.#client?.connected === true
  }

  /** MQTT protocol level in use: 5 or 4 (3.1.1). */
  get protocolVersion(): 4 | 5 {
    return this.#version
  }

  /** Connects; resolves once the first session is up, rejects if the broker refuses us. */
  async start(signal?: AbortSignal): Promise<void> {
    const { tls } = this.#init
    this.#tls = typeof tls === 'function' ? await tls() : tls
    for (;;) {
      try {
        await this.#open(signal)
        return
      } catch (err) {
        // a 3.1.1-only broker (aedes) refuses an MQTT 5 CONNECT: fall back once
        if (this.#init.protocol === 'auto' && this.#version === 5 && isProtocolRefusal(err)) {
          this.#init.log.info('the broker does not speak MQTT 5, using 3.1.1')
          this.#version = 4
          continue
        }
        throw err
      }
    }
  }

  async stop(): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client != null) await client.endAsync(true).catch(() => undefined)
  }

  /** Calls `listener` after each (re)connection, once subscriptions are restored; `reconnect` is false the first time. */
  onConnect(listener: (reconnect: boolean) => void): () => void {
    this.#connectListeners.add(listener)
    return () => this.#connectListeners.delete(listener)
  }

  /**
   * Routes messages matching `filter` to `handler`. The first handler of a filter subscribes (QoS 1) and the
   * broker sends it the filter's retained messages; a later one is handed them from the cache.
   */
  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.#router.add(filter, handler)) {
      await this.#client?.subscribeAsync(filter, { qos: 1 })
      return
    }
    for (const [topic, payload] of this.#retained.matching(filter)) {
      this.counters.retainedReplayed += 1
      this.#call(handler, topic, payload)
    }
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (!this.#router.remove(filter, handler)) return
    // only the topics this filter covered can have lost their last reader
    this.#retained.prune((topic) => !topicMatches(filter, topic) || this.#router.match(topic).length > 0)
    if (this.connected) await this.#client?.unsubscribeAsync(filter).catch(() => undefined)
  }

  /**
   * Publishes with QoS 1 by default; resolves at the broker's acknowledgement (QoS 0: once written). While
   * the broker is unreachable mqtt.js holds the message and sends it after reconnecting; at most
   * `outbox` messages wait so, beyond that publish fails at once.
   */
  async publish(
    topic: string,
    payload: string | Buffer,
    opts: { qos?: 0 | 1; retain?: boolean } = {},
  ): Promise<void> {
    if (!isPublishTopic(topic)) throw new MqttLinkError('bad_topic', `cannot publish to "${topic}"`)
    const client = this.#client
    if (client == null) throw new MqttLinkError('stopped', 'the MQTT link is stopped')
    if (this.#pending >= this.#init.outbox) {
      this.counters.outboxFull += 1
      throw new MqttLinkError('outbox_full', `${this.#pending} MQTT messages are waiting for the broker`)
    }
    this.#pending += 1
    try {
      await client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false })
      this.counters.published += 1
    } finally {
      this.#pending -= 1
    }
  }

  #options(): IClientOptions {
    const { clientId, username, password, will } = this.#init
    return {
      clientId,
      protocolVersion: this.#version,
      clean: false,
      ...(this.#version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: RECONNECT_MIN_MS,
      // we subscribe again ourselves after every reconnect (see #connected)
      resubscribe: false,
      // mqtt-packet would otherwise pre-build a Buffer for each of the 65,536 packet ids and lengths it may write:
      // 6.5 MiB of heap kept for the life of the process (this switch is process-wide, the embedded broker too)
      writeCache: false,
      ...(username != null ? { username } : {}),
      ...(password != null ? { password } : {}),
      ...(will != null ? { will: { ...will, qos: 1 } } : {}),
    }
  }

  #open(signal?: AbortSignal): Promise<void> {
    const url = new URL(this.#url())
    const port = Number(url.port || (url.protocol === 'mqtts:' ? 8883 : 1883))
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const tls = this.#tls
    const build = () => {
      if (url.protocol !== 'mqtts:') return netConnect({ host, port, noDelay: true })
      const socket = tlsConnect({
        host,
        port,
        servername: host,
        ...(tls?.ca != null ? { ca: tls.ca } : {}),
        ...(tls?.cert != null ? { cert: tls.cert } : {}),
        ...(tls?.key != null ? { key: tls.key } : {}),
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      })
      socket.setNoDelay(true)
      return socket
    }
    const client = new MqttClient(build, this.#options())
    const { log } = this.#init
    client.on('message', (topic, payload, packet) => this.#deliver(topic, payload, packet.retain))
    log.debug({ url: this.#url(), version: this.#version }, 'connecting to the MQTT broker')
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        client.removeListener('connect', first)
        client.removeListener('error', failed)
        signal?.removeEventListener('abort', aborted)
      }
      const first = () => {
        settle()
        this.#client = client
        this.#wire(client)
        this.#connected(false)
        resolve()
      }
      const failed = (err: Error) => {
        if (isProtocolRefusal(err) || isAuthRefusal(err)) {
          settle()
          void client.endAsync(true).catch(() => undefined)
          reject(
            isAuthRefusal(err)
              ? new MqttLinkError('refused', `the MQTT broker refused kith's credentials: ${err.message}`)
              : err,
          )
          return
        }
        // unreachable for now (the broker may start after us): keep reconnecting in the background
        settle()
        log.warn({ url: this.#url(), err }, 'MQTT broker unreachable, will keep trying')
        this.#client = client
        this.#wire(client)
        resolve()
      }
      const aborted = () => {
        settle()
        void client.endAsync(true).catch(() => undefined)
        reject(new MqttLinkError('aborted', 'stopped while connecting to the MQTT broker'))
      }
      signal?.addEventListener('abort', aborted, { once: true })
      client.once('connect', first)
      client.once('error', failed)
    })
  }

  #url(): string {
    const { url } = this.#init
    return typeof url === 'function' ? url() : url
  }

  #wire(client: MqttClient): void {
    const { log } = this.#init
    client.on('error', (err) => log.warn({ err }, 'MQTT error'))
    client.on('connect', () => this.#connected(this.#everConnected))
    client.on('close', () => {
      if (this.#client !== client) return
      this.#init.events?.emit('mqtt', { type: 'close' })
      // back off: 250 ms, doubling to 30 s, with jitter so many nodes do not reconnect in step
      this.#reconnectDelay = Math.min(RECONNECT_MAX_MS, this.#reconnectDelay * 2)
      client.options.reconnectPeriod = Math.round(this.#reconnectDelay * (0.75 + Math.random() * 0.5))
    })
    client.on('reconnect', () => {
      this.counters.reconnects += 1
    })
    client.on('offline', () => log.warn('MQTT broker unreachable, reconnecting'))
  }

  #connected(reconnect: boolean): void {
    this.#reconnectDelay = RECONNECT_MIN_MS
    if (this.#client != null) this.#client.options.reconnectPeriod = RECONNECT_MIN_MS
    this.#everConnected = true
    this.#init.events?.emit('mqtt', { type: 'connect' })
    const notify = () => {
      for (const l of this.#connectListeners) l(reconnect)
    }
    const filters = this.#router.filters
    if (!reconnect || filters.length === 0 || this.#client == null) return notify()
    this.#init.log.info('MQTT broker reachable again')
    // a restarted broker may come back without our session (or claim one it lost): subscribe again to every
    // filter, which also brings the retained state and availability of every device up to date; listeners
    // (e.g. the bridge re-sending unconfirmed commands) run once the subscriptions are back
    this.#client
      .subscribeAsync(filters, { qos: 1 })
      .catch((err: Error) => this.#init.log.warn({ err }, 'MQTT resubscribe failed'))
      .finally(notify)
  }

  #deliver(topic: string, payload: Buffer, retain: boolean): void {
    this.counters.received += 1
    this.#init.events?.emit('mqtt', { type: 'message' })
    if (payload.byteLength > this.#init.maxPayloadBytes) {
      this.counters.oversize += 1
      return
    }
    if (!this.awaited(topic) && !this.#buckets.take(topic)) {
      this.counters.rateLimited += 1
      return
    }
    this.#retained.note(topic, payload, retain)
    for (const handler of this.#router.match(topic)) this.#call(handler, topic, payload)
  }

  #call(handler: MessageHandler, topic: string, payload: Buffer): void {
    try {
      handler(topic, payload)
    } catch (err) {
      this.#init.log.error({ err, topic }, 'MQTT handler failed')
    }
  }
}

/** CONNACK 3.1.1 return code 1 or MQTT 5 reason 0x84: Unsupported Protocol Version. */
function isProtocolRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 1 || code === 0x84
}

/** CONNACK 3.1.1 codes 4/5, MQTT 5 reasons 0x86/0x87/0x8C: bad credentials or not authorised. */
function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 4 || code === 5 || code === 0x86 || code === 0x87 || code === 0x8c
}
