/**
 * The frames of `/kith/task/1.0.0`, each defined once with its size cap. A request is an envelope
 * `{t: 'req', b, s}`: `b` is the canonical msgpack encoding of every field of the request (`s` excepted), and
 * `s` the requester's Ed25519 signature over exactly those bytes, so neither side encodes a request twice:
 * the sender signs the bytes it sends, the receiver verifies the bytes it got and only then decodes them.
 * Requests carry a nonce and an expiry, and name the evidence they require; replies carry a status and,
 * later, a receipt. Frames are checked field by field here (they are on every task's critical path).
 */
import { randomBytes } from 'node:crypto'
import type { SignatureVerifier } from '../discovery/descriptor.ts'
import { canonicalEncode, decodeMsgpack, encodeMsgpack } from '../util/canonical.ts'
import { KithError } from '../util/errors.ts'

export const TASK_PROTOCOL = '/kith/task/1.0.0'
/** Largest frame either side accepts: the input cap plus room for the envelope. */
export const MAX_FRAME_BYTES = 1024 * 1024 + 4096
/** How far in the future a request may expire; bounds the replay cache. */
export const MAX_REQUEST_WINDOW_MS = 5 * 60_000

export const TASK_STATUSES = ['ok', 'error', 'busy', 'denied', 'timeout'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]
const EVIDENCE = ['none', 'receipt', 'tpm'] as const
const MAX_RECEIPT_BYTES = 8192

/** Every field of a request but its signature. */
export interface TaskRequestBody {
  t: 'req'
  id: string
  from: string
  cap: string
  input?: unknown
  /** absolute ms: the requester stops waiting then */
  deadline: number
  /** absolute ms: refuse the request after this (replay window) */
  exp: number
  nonce: Uint8Array
  evidence: (typeof EVIDENCE)[number]
}

export interface TaskRequest extends TaskRequestBody {
  sig: Uint8Array
  /** the signed bytes: the canonical encoding of the body */
  signed: Uint8Array
}

export interface TaskReply {
  t: 'res'
  id: string
  status: TaskStatus
  output?: unknown
  error?: { code: string; message: string }
  receipt?: Uint8Array
}

export type Frame = TaskRequest | TaskReply

/** Bytes of the varint length prefix of the largest frame. */
export const MAX_LENGTH_BYTES = 3

/**
 * The "not all of the length prefix has arrived" signal of `lpStream`, which reads the prefix a byte at
 * a time and tries the decoder after each: one instance, thrown again and again, because building a new
 * error each time (what the library's varint decoder does) captures a stack trace for every frame.
 */
const PREFIX_INCOMPLETE = new RangeError('the frame length is not complete yet')

/**
 * The length-prefix decoder of the task streams (`lpStream`'s `lengthDecoder`): the frame length from an
 * unsigned LEB128 varint, {@link PREFIX_INCOMPLETE} while it is incomplete, and a {@link FrameError} for a
 * prefix longer than any frame can need (which `lpStream` would otherwise keep reading).
 *
 * @example
 * const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, lengthDecoder: decodeFrameLength })
 */
export function decodeFrameLength(data: { byteLength: number; get(index: number): number }): number {
  let length = 0
  for (let i = 0; i < data.byteLength; i++) {
    if (i >= MAX_LENGTH_BYTES) throw new FrameError('too_large', 'the frame length prefix is too long')
    const byte = data.get(i)
    length += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return length
  }
  throw PREFIX_INCOMPLETE
}

/** A task frame kith refuses; `code` says why (`too_large`, `malformed`, `bad_signature`). */
export class FrameError extends KithError {
  static override readonly code = 'bad_frame'
  static override readonly status = 502
  static override readonly codeVaries = true
  constructor(code: string, message: string) {
    super(message, { code })
    this.name = 'FrameError'
  }
}

/**
 * Builds and signs a request.
 *
 * @example
 * const req = signRequest({ id, from: me, cap: 'echo', input: { x: 1 }, deadline: Date.now() + 5000, evidence: 'none' }, identity.sign)
 */
export function signRequest(
  body: Omit<TaskRequestBody, 't' | 'nonce' | 'exp'> & { exp?: number; nonce?: Uint8Array },
  sign: (data: Uint8Array) => Uint8Array,
): TaskRequest {
  const full: TaskRequestBody = {
    t: 'req',
    ...body,
    exp: body.exp ?? body.deadline,
    nonce: body.nonce ?? new Uint8Array(randomBytes(16)),
  }
  const signed = canonicalEncode(full)
  return { ...full, sig: sign(signed), signed }
}

/**
 * The bytes of a frame. Throws {@link FrameError} when they would be over {@link MAX_FRAME_BYTES}.
 *
 * @example
 * await lp.write(encodeFrame({ t: 'res', id, status: 'ok', output }))
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const out =
    frame.t === 'req' ? encodeMsgpack({ t: 'req', b: frame.signed, s: frame.sig }) : encodeMsgpack(frame)
  if (out.byteLength > MAX_FRAME_BYTES)
    throw new FrameError('too_large', `frame is ${out.byteLength} bytes; the limit is ${MAX_FRAME_BYTES}`)
  return out
}

/** Why {@link encodeReply} sent an error in place of a reply: the code the requester gets and the server counts. */
export type UnsentReason = 'output_too_large' | 'bad_output'

/**
 * The bytes of a reply; never throws. A reply that cannot be sent as it is (its output over
 * {@link MAX_FRAME_BYTES}: a JSON output within the sandbox's limit can grow in msgpack, where every float
 * takes 9 bytes; or an output msgpack cannot encode) becomes an error reply to the same request, so the
 * requester hears why instead of waiting out its deadline; `unsent` says why, for the caller to count.
 *
 * @example
 * const { bytes, unsent } = encodeReply({ t: 'res', id, status: 'ok', output })
 */
export function encodeReply(frame: TaskReply): { bytes: Uint8Array; unsent?: UnsentReason } {
  try {
    return { bytes: encodeFrame(frame) }
  } catch (err) {
    const tooLarge = err instanceof FrameError && err.code === 'too_large'
    const unsent: UnsentReason = tooLarge ? 'output_too_large' : 'bad_output'
    const message = tooLarge
      ? `the reply is too large to send (${err.message}): ask the capability for a smaller output`
      : `the output cannot be encoded (${(err as Error).message.slice(0, 200)}): return plain JSON values`
    const error = { code: unsent, message }
    return { bytes: encodeFrame({ t: 'res', id: frame.id, status: 'error', error }), unsent }
  }
}

/**
 * Decodes one frame. With `verify`, a request has its signature checked against `from`; without, the
 * caller checks it later ({@link verifyRequest}). Throws {@link FrameError}.
 */
export function decodeFrame(data: Uint8Array, verify?: SignatureVerifier): Frame {
  if (data.byteLength > MAX_FRAME_BYTES)
    throw new FrameError('too_large', `frame is ${data.byteLength} bytes`)
  const raw = unpack(data, 'frame')
  if (!isRecord(raw)) throw new FrameError('malformed', 'a frame is a map')
  if (raw.t === 'res') return checkReply(raw)
  if (raw.t !== 'req') throw new FrameError('malformed', 'frame: t must be req or res')
  only(raw, ENVELOPE_KEYS, 'request')
  const { b: signed, s: sig } = raw
  if (!(signed instanceof Uint8Array)) throw malformed('request', 'b', 'expected bytes')
  if (!(sig instanceof Uint8Array) || sig.byteLength !== 64)
    throw malformed('request', 's', 'expected 64 bytes')
  const body = checkBody(unpack(signed, 'request body'))
  const request = { ...body, sig, signed }
  if (verify !== undefined && !verifyRequest(request, verify))
    throw new FrameError('bad_signature', 'request signature does not match its sender')
  return request
}

/**
 * True when `request` is signed by its `from`.
 *
 * @example
 * if (!verifyRequest(decodeFrame(data) as TaskRequest, verify)) stream.abort(new Error('forged'))
 */
export function verifyRequest(request: TaskRequest, verify: SignatureVerifier): boolean {
  return verify(request.from, request.signed, request.sig)
}

const ENVELOPE_KEYS = new Set(['t', 'b', 's'])
const BODY_KEYS = new Set(['t', 'id', 'from', 'cap', 'input', 'deadline', 'exp', 'nonce', 'evidence'])
const REPLY_KEYS = new Set(['t', 'id', 'status', 'output', 'error', 'receipt'])
const ERROR_KEYS = new Set(['code', 'message'])
const STATUS_SET: ReadonlySet<unknown> = new Set(TASK_STATUSES)
const EVIDENCE_SET: ReadonlySet<unknown> = new Set(EVIDENCE)

function unpack(data: Uint8Array, what: string): unknown {
  try {
    return decodeMsgpack(data)
  } catch (err) {
    throw new FrameError('malformed', `${what}: not msgpack: ${(err as Error).message}`)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}

function malformed(what: string, field: string, message: string): FrameError {
  return new FrameError('malformed', `${what}: ${field}: ${message}`)
}

function only(value: Record<string, unknown>, keys: ReadonlySet<string>, what: string): void {
  for (const key in value) if (!keys.has(key)) throw malformed(what, key, 'unknown field')
}

function text(value: unknown, min: number, max: number, what: string, field: string): string {
  if (typeof value !== 'string' || value.length < min || value.length > max)
    throw malformed(what, field, `expected a string of ${min} to ${max} characters`)
  return value
}

function time(value: unknown, what: string, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw malformed(what, field, 'expected a non-negative integer')
  return value as number
}

function checkBody(raw: unknown): TaskRequestBody {
  const what = 'request'
  if (!isRecord(raw)) throw new FrameError('malformed', 'request: the body is a map')
  only(raw, BODY_KEYS, what)
  if (raw.t !== 'req') throw malformed(what, 't', 'expected req')
  const nonce = raw.nonce
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== 16)
    throw malformed(what, 'nonce', 'expected 16 bytes')
  if (!EVIDENCE_SET.has(raw.evidence)) throw malformed(what, 'evidence', 'expected none, receipt or tpm')
  const body: TaskRequestBody = {
    t: 'req',
    id: text(raw.id, 8, 64, what, 'id'),
    from: text(raw.from, 1, 128, what, 'from'),
    cap: text(raw.cap, 1, 64, what, 'cap'),
    deadline: time(raw.deadline, what, 'deadline'),
    exp: time(raw.exp, what, 'exp'),
    nonce,
    evidence: raw.evidence as TaskRequestBody['evidence'],
  }
  if ('input' in raw) body.input = raw.input
  return body
}

function checkReply(raw: Record<string, unknown>): TaskReply {
  const what = 'reply'
  only(raw, REPLY_KEYS, what)
  if (!STATUS_SET.has(raw.status)) throw malformed(what, 'status', 'unknown status')
  const reply: TaskReply = { t: 'res', id: text(raw.id, 1, 64, what, 'id'), status: raw.status as TaskStatus }
  if ('output' in raw) reply.output = raw.output
  if (raw.error !== undefined) {
    const error = raw.error
    if (!isRecord(error)) throw malformed(what, 'error', 'expected a map')
    only(error, ERROR_KEYS, what)
    reply.error = {
      code: text(error.code, 0, 64, what, 'error.code'),
      message: text(error.message, 0, 2000, what, 'error.message'),
    }
  }
  if (raw.receipt !== undefined) {
    if (!(raw.receipt instanceof Uint8Array) || raw.receipt.byteLength > MAX_RECEIPT_BYTES)
      throw malformed(what, 'receipt', `expected at most ${MAX_RECEIPT_BYTES} bytes`)
    reply.receipt = raw.receipt
  }
  return reply
}
