import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { decodeBounded, decodeChecked } from '../../src/util/bounded-decode.ts'
import { canonicalEncode, decodeMsgpack, encodeMsgpack, sha256, sha256Hex } from '../../src/util/canonical.ts'

class TestError extends Error {
  readonly reason: string
  constructor(reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}
const fail = (reason: string, message: string) => new TestError(reason, message)

describe('canonicalEncode', () => {
  it('gives one encoding per value: keys sorted at every level, undefined fields dropped', () => {
    const a = canonicalEncode({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })
    const b = canonicalEncode({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 })
    expect(Buffer.from(a).equals(b)).toBe(true)
    expect(decodeMsgpack(a)).toEqual({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 })
  })

  it('keeps the order given when not canonical', () => {
    expect(Buffer.from(encodeMsgpack({ b: 1, a: 2 })).equals(canonicalEncode({ b: 1, a: 2 }))).toBe(false)
  })

  it('hashes with SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex')).toBe(sha256Hex('abc'))
  })
})

describe('decodeBounded', () => {
  const init = { what: 'thing', maxBytes: 16, fail }

  it('refuses bytes over the cap before decoding them', () => {
    expect(() => decodeBounded(new Uint8Array(17), init)).toThrow(
      expect.objectContaining({ reason: 'oversize', message: 'thing is 17 bytes; the limit is 16' }),
    )
  })

  it('refuses bytes that are not msgpack as malformed', () => {
    expect(() => decodeBounded(Uint8Array.of(0x92, 0x01), init)).toThrow(
      expect.objectContaining({ reason: 'malformed', message: expect.stringMatching(/^not msgpack: /) }),
    )
  })

  it('checks the shape and names the first field that does not fit', () => {
    const schema = z.strictObject({ n: z.number() })
    expect(decodeChecked(canonicalEncode({ n: 1 }), schema, init)).toEqual({ n: 1 })
    expect(() => decodeChecked(canonicalEncode({ n: 'x' }), schema, init)).toThrow(
      expect.objectContaining({ reason: 'malformed', message: expect.stringMatching(/^n: /) }),
    )
    expect(() => decodeChecked(canonicalEncode(7), schema, init)).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/^\(root\): /) }),
    )
  })
})
