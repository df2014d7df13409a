import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import {
  decodeDescriptor,
  DescriptorError,
  signDescriptor,
  type UnsignedDescriptor,
} from '../../src/discovery/descriptor.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { tempDir } from '../helpers.ts'

let id: Identity
const verify = createVerifier()
beforeAll(async () => {
  const { dir } = await tempDir()
  id = await createIdentity(join(dir, 'id.key'))
})

const capability = fc.record({
  id: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
  title: fc.string({ minLength: 1, maxLength: 40 }),
  description: fc.string({ maxLength: 80 }),
  tags: fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 4 }),
  kind: fc.constantFrom('script' as const, 'device' as const, 'sensor' as const),
  risk: fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
  input: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  output: fc.constant({}),
})

const descriptor = (peer: () => string) =>
  fc
    .record({
      seq: fc.nat(),
      iat: fc.nat({ max: 2 ** 42 }),
      ttl: fc.integer({ min: 1000, max: 3_600_000 }),
      load: fc.double({ min: 0, max: 100, noNaN: true }),
      memFree: fc.nat(),
      battery: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      caps: fc.array(capability, { maxLength: 4 }),
    })
    .map((d): UnsignedDescriptor => ({
      v: 1,
      peer: peer(),
      seq: d.seq,
      iat: d.iat,
      ttl: d.ttl,
      addrs: ['/ip4/127.0.0.1/tcp/1'],
      state: {
        load: d.load,
        memFree: d.memFree,
        queue: 0,
        ...(d.battery != null ? { battery: d.battery } : {}),
      },
      caps: d.caps,
      attest: { tpm: false },
    }))

describe('descriptor codec properties', () => {
  it('decodes whatever it signs, and a flipped byte never yields a different valid descriptor', () => {
    fc.assert(
      fc.property(
        descriptor(() => id.peerId.toString()),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (unsigned, at, flip) => {
          const signed = signDescriptor(unsigned, id.sign)
          const back = decodeDescriptor(signed.bytes, verify)
          expect(Buffer.from(back.digest)).toEqual(Buffer.from(signed.digest))
          const mutated = new Uint8Array(signed.bytes)
          mutated[at % mutated.length]! ^= flip
          try {
            decodeDescriptor(mutated, verify)
            throw new Error('a mutated descriptor was accepted')
          } catch (err) {
            expect(err).toBeInstanceOf(DescriptorError)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
