/**
 * The frames of `/kith/task/1.0.0`, each defined once with its size cap. Requests are signed by the requester
 * (Ed25519 over the canonical encoding of every other field), carry a nonce and an expiry, and name the
 * evidence they require; replies carry a status and, later, a receipt.
 */
import { randomBytes } from 'node:crypto'
import { Packr } from 'msgpackr'
import { z } from 'zod'
import { canonicalEncode, type SignatureVerifier } from '../discovery/descriptor.ts'

export const TASK_PROTOCOL = '/kith/task/1.0.0'
/** Largest frame either side accepts: the input cap plus room for the envelope. */
export const MAX_FRAME_BYTES = 1024 * 1024 + 4096
/** How far in the future a request may expire; bounds the replay cache. */
export const MAX_REQUEST_WINDOW_MS = 5 * 60_000

export const TASK_STATUSES = ['ok', 'error', 'busy', 'denied', 'timeout'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })
const bytes = (n: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength === n, `expected ${n} bytes`)

const requestBody = z.strictObject({
  t: z.literal('req'),
  id: z.string().min(8).max(64),
  from: z.string().min(1).max(128),
  cap: z.string().min(1).max(64),
  input: z.unknown(),
  /** absolute ms: the requester stops waiting then */
  deadline: z.number().int().min(0),
  /** absolute ms: refuse the request after this (replay window) */
  exp: z.number().int().min(0),
  nonce: bytes(16),
  evidence: z.enum(['none', 'receipt', 'tpm']),
})
const requestSchema = requestBody.extend({ sig: bytes(64) })

const replySchema = z.strictObject({
  t: z.literal('res'),
  id: z.string().min(1).max(64),
  status: z.enum(TASK_STATUSES),
  output: z.unknown().optional(),
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
  receipt: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= 8192).optional(),
})

export type TaskRequestBody = z.output<typeof requestBody>
export type TaskRequest = z.output<typeof requestSchema>
export type TaskReply = z.output<typeof replySchema>
export type Frame = TaskRequest | TaskReply

export class FrameError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'FrameError'
    this.code = code
  }
}

/**
 * Builds and signs a request.
 *
 * @example
 * const req = signRequest({ id, from: me, cap: 'echo', input: { x: 1 }, deadline: Date.now() + 5000, evidence: 'none' }, identity.sign)
 */
export function signRequest(
  body: Omit<TaskRequestBody, 't' | 'nonce' | 'exp'> & { exp?: number },
  sign: (data: Uint8Array) => Uint8Array,
): TaskRequest {
  const full: TaskRequestBody = {
    t: 'req',
    ...body,
    exp: body.exp ?? body.deadline,
    nonce: new Uint8Array(randomBytes(16)),
  }
  return { ...full, sig: sign(canonicalEncode(full)) }
}

export function encodeFrame(frame: Frame): Uint8Array {
  const out = frame.t === 'req' ? canonicalEncode(frame) : packr.pack(frame)
  if (out.byteLength > MAX_FRAME_BYTES)
    throw new FrameError('too_large', `frame is ${out.byteLength} bytes; the limit is ${MAX_FRAME_BYTES}`)
  return out
}

/** Decodes one frame; requests have their signature checked against `from`. Throws {@link FrameError}. */
export function decodeFrame(data: Uint8Array, verify: SignatureVerifier): Frame {
  if (data.byteLength > MAX_FRAME_BYTES)
    throw new FrameError('too_large', `frame is ${data.byteLength} bytes`)
  let raw: unknown
  try {
    raw = packr.unpack(data)
  } catch (err) {
    throw new FrameError('malformed', `not msgpack: ${(err as Error).message}`)
  }
  const kind = (raw as { t?: unknown } | null)?.t
  if (kind === 'res') {
    const parsed = replySchema.safeParse(raw)
    if (!parsed.success) throw new FrameError('malformed', `reply: ${parsed.error.issues[0]?.message}`)
    return parsed.data
  }
  const parsed = requestSchema.safeParse(raw)
  if (!parsed.success)
    throw new FrameError(
      'malformed',
      `request: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
    )
  const { sig, ...body } = parsed.data
  if (!verify(body.from, canonicalEncode(body), sig))
    throw new FrameError('bad_signature', 'request signature does not match its sender')
  return parsed.data
}
