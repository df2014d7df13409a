/**
 * The provider side of `/kith/task/1.0.0`. A requester keeps one long-lived stream to us and multiplexes
 * requests on it by id; each request is checked (sender, expiry, replay, then its signature, see
 * {@link TaskHandler}) and handed to `handle`,
 * and replies are written as they finish, in any order. A stream idle for `idleTimeoutMs` with nothing in
 * flight is closed; a frame that does not arrive in full within `frameTimeoutMs` cuts the stream (slow loris).
 */
import { lpStream } from '@libp2p/utils'
import type { Connection, Stream } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { SignatureVerifier } from '../discovery/descriptor.ts'
import type { Logger } from '../util/logger.ts'
import { NonceCache } from './nonce-cache.ts'
import { lazyWindowUpdates } from './stream-window.ts'
import {
  decodeFrame,
  decodeFrameLength,
  encodeReply,
  FrameError,
  MAX_FRAME_BYTES,
  MAX_REQUEST_WINDOW_MS,
  TASK_PROTOCOL,
  type TaskReply,
  type TaskRequest,
  verifyRequest,
} from './task-wire.ts'
import { KithError } from '../util/errors.ts'

/** A task stream sat idle, with nothing in flight, for the idle timeout. */
export class IdleStreamError extends KithError {
  static override readonly code = 'idle_stream'
  static override readonly status = 408
  constructor(message = 'the task stream was idle') {
    super(message)
    this.name = 'IdleStreamError'
  }
}

export interface TaskServerInit {
  idleTimeoutMs?: number
  /** task streams one connection may hold open (a requester multiplexes over one); default 8 */
  maxStreams?: number
  /**
   * task streams open at once over all connections; default 128. Each may buffer a partial frame of up to
   * MAX_FRAME_BYTES until the idle timeout, so this bounds what slow senders can pin (about 128 MiB)
   */
  maxTotalStreams?: number
  /** requests in flight per stream; more are answered busy */
  maxInflightPerStream?: number
  /**
   * a peer's clock minus ours (ms), as its announce notices show it (discovery/clock-offset.ts), or
   * undefined when unknown. A request's `deadline` and `exp` are times on its sender's clock: beyond
   * CLOCK_TOLERANCE_MS they are read back onto ours, so a requester whose clock is off is still served
   */
  clockOf?: (peer: string) => number | undefined
}

/**
 * A known clock offset smaller than this is left alone: a notice's offset also holds its transit time
 * (milliseconds at home, more on a loaded node), and deadlines carry that much slack anyway.
 */
export const CLOCK_TOLERANCE_MS = 2_000

/**
 * Runs one request and returns the reply's status and payload (never throws for task failures). The
 * request comes from the connection's remote peer (the stream is authenticated), but its signature is not
 * checked yet: `authenticate()` checks it (once; later calls give the same answer). A handler calls it
 * before anything with an effect, and may run side-effect-free work first, so that the check overlaps it;
 * the server checks before it replies in any case, and cuts the stream of a forged request.
 */
export type TaskHandler = (
  request: TaskRequest,
  signal: AbortSignal,
  authenticate: () => boolean,
) => Promise<Omit<TaskReply, 't' | 'id'>>

export interface TaskServerCounters {
  streams: number
  requests: number
  rejected: Record<string, number>
}

export class TaskServer {
  readonly counters: TaskServerCounters = { streams: 0, requests: 0, rejected: {} }
  readonly #host: KithLibp2p
  readonly #handle: TaskHandler
  readonly #verify: SignatureVerifier
  readonly #log: Logger
  readonly #nonces = new NonceCache(MAX_REQUEST_WINDOW_MS)
  readonly #idleTimeoutMs: number
  readonly #maxStreams: number
  readonly #maxTotalStreams: number
  readonly #maxInflight: number
  readonly #clockOf: ((peer: string) => number | undefined) | undefined
  readonly #open = new Set<Stream>()

  constructor(
    host: KithLibp2p,
    handle: TaskHandler,
    verify: SignatureVerifier,
    log: Logger,
    init: TaskServerInit = {},
  ) {
    this.#host = host
    this.#handle = handle
    this.#verify = verify
    this.#log = log
    this.#idleTimeoutMs = init.idleTimeoutMs ?? 60_000
    this.#maxStreams = init.maxStreams ?? 8
    this.#maxTotalStreams = init.maxTotalStreams ?? 128
    this.#maxInflight = init.maxInflightPerStream ?? 64
    this.#clockOf = init.clockOf
  }

  async start(): Promise<void> {
    await this.#host.handle(TASK_PROTOCOL, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: this.#maxStreams,
      maxOutboundStreams: this.#maxStreams,
    })
  }

  async stop(): Promise<void> {
    await this.#host.unhandle(TASK_PROTOCOL)
    for (const stream of this.#open) stream.abort(new Error('node stopping'))
    this.#open.clear()
  }

  #reject(code: string): void {
    this.counters.rejected[code] = (this.counters.rejected[code] ?? 0) + 1
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    if (this.#open.size >= this.#maxTotalStreams) {
      this.#reject('too_many_streams')
      stream.abort(new Error(`this node has ${this.#maxTotalStreams} task streams open`))
      return
    }
    this.counters.streams++
    this.#open.add(stream)
    const remote = connection.remotePeer.toString()
    // one frame per request and per reply, not two (see stream-window.ts)
    lazyWindowUpdates(stream)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, lengthDecoder: decodeFrameLength })
    const inflight = new Map<string, AbortController>()
    // never rejects: an unsendable reply goes out as an error (counted), and a failed write means the stream
    // is gone, which the read loop below finds out for itself
    const reply = (frame: TaskReply): Promise<void> => {
      const { bytes, unsent } = encodeReply(frame)
      if (unsent !== undefined) {
        this.#reject(unsent)
        this.#log.warn({ peer: remote, id: frame.id, reason: unsent }, 'task reply sent as an error')
      }
      return lp.write(bytes).catch((err: unknown) => {
        this.#log.debug({ peer: remote, id: frame.id, err }, 'task reply not written')
      })
    }
    const replyLater = (frame: TaskReply): void => {
      reply(frame).catch((err: unknown) => {
        this.#log.error({ peer: remote, id: frame.id, err }, 'task reply failed')
      })
    }
    // one timer per stream, pushed back by every frame (a fresh AbortSignal.timeout per read would keep a
    // timer and a signal alive for the whole idle timeout after each request); idle with work in flight
    // is fine: the requester is waiting for us, not the other way round
    const idle = new AbortController()
    const onIdle = () => {
      if (inflight.size > 0) idleTimer.refresh()
      else idle.abort(new IdleStreamError())
    }
    const idleTimer = setTimeout(onIdle, this.#idleTimeoutMs).unref()
    try {
      for (;;) {
        const data = (await lp.read({ signal: idle.signal })).subarray()
        idleTimer.refresh()
        let signed: TaskRequest
        try {
          const frame = decodeFrame(data)
          if (frame.t !== 'req') throw new FrameError('malformed', 'expected a request')
          signed = frame
        } catch (err) {
          this.#reject((err as FrameError).code ?? 'malformed')
          throw err
        }
        this.counters.requests++
        // the signature covers the sender's times; everything after it reads them on this node's clock
        const authenticate = this.#authenticator(signed)
        const request = this.#onOurClock(signed, remote)
        const refusal = this.#check(request, remote, inflight.size)
        if (refusal != null) {
          if (!authenticate()) throw this.#forged()
          this.#reject(refusal.code)
          replyLater({
            t: 'res',
            id: request.id,
            status: refusal.status,
            error: { code: refusal.code, message: refusal.message },
          })
          continue
        }
        const controller = new AbortController()
        inflight.set(request.id, controller)
        const timer = setTimeout(() => controller.abort(), Math.max(0, request.deadline - Date.now()))
        this.#handle(request, controller.signal, authenticate)
          .catch((err: Error) => {
            this.#log.error({ err, id: request.id }, 'task handler failed')
            return { status: 'error' as const, error: { code: 'internal', message: 'the provider failed' } }
          })
          .then((result) => {
            // nothing is answered before the request's signature is checked (the handler may have done it)
            if (!authenticate()) return stream.abort(this.#forged())
            // past its deadline the requester has given up: whatever the handler returned, it is a timeout
            return reply(
              Date.now() >= request.deadline && result.status === 'ok'
                ? {
                    t: 'res',
                    id: request.id,
                    status: 'timeout',
                    error: { code: 'timeout', message: 'the deadline passed' },
                  }
                : { t: 'res', id: request.id, ...result },
            )
          })
          .finally(() => {
            clearTimeout(timer)
            inflight.delete(request.id)
          })
          // a throw here would end the node as an unhandled rejection: it costs this request its reply only
          .catch((err: unknown) => {
            this.#log.error({ peer: remote, id: request.id, err }, 'task reply failed')
          })
      }
    } catch (err) {
      this.#log.debug({ peer: remote, err }, 'task stream ended')
      for (const c of inflight.values()) c.abort()
      stream.abort(err as Error)
    } finally {
      clearTimeout(idleTimer)
      this.#open.delete(stream)
    }
  }

  /** `request` with its deadline and expiry moved from its sender's clock onto ours, where that is known to differ. */
  #onOurClock(request: TaskRequest, remote: string): TaskRequest {
    const offset = this.#clockOf?.(remote)
    if (offset === undefined || !Number.isFinite(offset) || Math.abs(offset) < CLOCK_TOLERANCE_MS)
      return request
    return { ...request, deadline: request.deadline - offset, exp: request.exp - offset }
  }

  /** The request's signature check, done once, when first asked for. */
  #authenticator(request: TaskRequest): () => boolean {
    let verdict: boolean | undefined
    return () => (verdict ??= verifyRequest(request, this.#verify))
  }

  #forged(): FrameError {
    this.#reject('bad_signature')
    return new FrameError('bad_signature', 'request signature does not match its sender')
  }

  #check(
    request: TaskRequest,
    remote: string,
    inflight: number,
  ): { status: TaskReply['status']; code: string; message: string } | undefined {
    const now = Date.now()
    if (request.from !== remote)
      return { status: 'denied', code: 'wrong_sender', message: 'the request is signed by another peer' }
    if (request.exp <= now || request.deadline <= now)
      return { status: 'denied', code: 'expired', message: 'the request has expired' }
    if (request.exp > now + MAX_REQUEST_WINDOW_MS)
      return {
        status: 'denied',
        code: 'expiry_too_far',
        message: 'the request expires too far in the future',
      }
    if (!this.#nonces.add(Buffer.from(request.nonce).toString('hex'), request.exp))
      return { status: 'denied', code: 'replay', message: 'this request was seen before' }
    if (inflight >= this.#maxInflight)
      return { status: 'busy', code: 'stream_full', message: 'too many requests in flight on this stream' }
    return undefined
  }
}
