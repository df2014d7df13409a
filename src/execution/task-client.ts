/**
 * The requester side of `/kith/task/1.0.0`: one long-lived stream per provider, requests multiplexed on it
 * by id (a new stream per request costs a protocol negotiation each time: 0.86 ms against 0.11 ms on an
 * open stream). A lost stream fails every request in flight on it with {@link ConnectionLostError}, and the
 * next request opens a fresh one.
 */
import { randomUUID } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { KithLibp2p } from '../connectivity/host.ts'
import type { SignatureVerifier } from '../discovery/descriptor.ts'
import type { Logger } from '../util/logger.ts'
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  signRequest,
  TASK_PROTOCOL,
  type TaskReply,
  type TaskRequestBody,
} from './task-wire.ts'

export class ConnectionLostError extends Error {
  constructor(message = 'the connection to the provider was lost') {
    super(message)
    this.name = 'ConnectionLostError'
  }
}

export class RequestTimeoutError extends Error {
  constructor(message = 'the provider did not answer before the deadline') {
    super(message)
    this.name = 'RequestTimeoutError'
  }
}

export interface TaskCall {
  cap: string
  input: unknown
  /** ms from now */
  timeoutMs: number
  evidence?: TaskRequestBody['evidence']
  /** a task id chosen by the caller (e.g. to journal it first); random when omitted */
  id?: string
  signal?: AbortSignal
}

interface Pending {
  resolve(reply: TaskReply): void
  reject(err: Error): void
}

interface Channel {
  stream: Stream
  write(data: Uint8Array): Promise<void>
  pending: Map<string, Pending>
}

export class TaskClient {
  readonly #host: KithLibp2p
  readonly #sign: (data: Uint8Array) => Uint8Array
  readonly #verify: SignatureVerifier
  readonly #log: Logger
  readonly #channels = new Map<string, Promise<Channel>>()

  constructor(
    host: KithLibp2p,
    sign: (data: Uint8Array) => Uint8Array,
    verify: SignatureVerifier,
    log: Logger,
  ) {
    this.#host = host
    this.#sign = sign
    this.#verify = verify
    this.#log = log
  }

  /**
   * Sends one task to `peer` and waits for its reply.
   *
   * @example
   * const reply = await client.call(peerId, { cap: 'echo', input: { x: 1 }, timeoutMs: 5000 })
   * reply.status // 'ok'
   */
  async call(peer: PeerId, call: TaskCall): Promise<TaskReply> {
    const deadline = Date.now() + call.timeoutMs
    const request = signRequest(
      {
        id: call.id ?? randomUUID(),
        from: this.#host.peerId.toString(),
        cap: call.cap,
        input: call.input,
        deadline,
        evidence: call.evidence ?? 'none',
      },
      this.#sign,
    )
    const signal =
      call.signal != null
        ? AbortSignal.any([call.signal, AbortSignal.timeout(call.timeoutMs)])
        : AbortSignal.timeout(call.timeoutMs)
    const channel = await this.#channel(peer, signal)
    return new Promise<TaskReply>((resolve, reject) => {
      const done = () => {
        channel.pending.delete(request.id)
        signal.removeEventListener('abort', onAbort)
      }
      const onAbort = () => {
        done()
        reject(call.signal?.aborted === true ? new Error('aborted') : new RequestTimeoutError())
      }
      signal.addEventListener('abort', onAbort, { once: true })
      channel.pending.set(request.id, {
        resolve: (reply) => {
          done()
          // a reply that lands after the deadline lost the race with our own timer: the caller has one
          // answer for "too late", however the race went
          if (Date.now() >= deadline) reject(new RequestTimeoutError())
          else resolve(reply)
        },
        reject: (err) => {
          done()
          reject(err)
        },
      })
      channel
        .write(encodeFrame(request))
        .catch((err: Error) => channel.pending.get(request.id)?.reject(new ConnectionLostError(err.message)))
    })
  }

  /** Closes every channel; requests in flight fail with {@link ConnectionLostError}. */
  async stop(): Promise<void> {
    const channels = await Promise.allSettled(this.#channels.values())
    this.#channels.clear()
    for (const c of channels)
      if (c.status === 'fulfilled') c.value.stream.abort(new ConnectionLostError('node stopping'))
  }

  #channel(peer: PeerId, signal: AbortSignal): Promise<Channel> {
    const key = peer.toString()
    const existing = this.#channels.get(key)
    if (existing != null) return existing
    const forget = () => {
      if (this.#channels.get(key) === channel) this.#channels.delete(key)
    }
    const channel: Promise<Channel> = this.#open(peer, signal, forget)
    this.#channels.set(key, channel)
    channel.catch(forget)
    return channel
  }

  async #open(peer: PeerId, signal: AbortSignal, forget: () => void): Promise<Channel> {
    const stream = await this.#host.dialProtocol(peer, TASK_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const channel: Channel = { stream, write: (data) => lp.write(data), pending: new Map() }
    void (async () => {
      try {
        for (;;) {
          const frame = decodeFrame((await lp.read()).subarray(), this.#verify)
          if (frame.t !== 'res') throw new Error('provider sent a request on a task stream')
          channel.pending.get(frame.id)?.resolve(frame)
        }
      } catch (err) {
        this.#log.debug({ peer: peer.toString(), err: (err as Error).message }, 'task channel closed')
        stream.abort(err as Error)
      } finally {
        forget()
        for (const p of [...channel.pending.values()]) p.reject(new ConnectionLostError())
      }
    })()
    return channel
  }
}
