import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createOwnerKey } from '../../src/fleet/owner.ts'
import type { OwnerKey } from '../../src/fleet/owner.ts'
import { ReleaseFloor } from '../../src/fleet/release-floor.ts'
import { waveOf } from '../../src/fleet/release-waves.ts'
import {
  MAX_RELEASE_BYTES,
  openRelease,
  ReleaseError,
  releaseManifestSchema,
  signRelease,
} from '../../src/fleet/release.ts'
import type { ReleaseManifest, ReleaseRejectReason } from '../../src/fleet/release.ts'
import { openDatabase } from '../../src/store/database.ts'
import { KeyValue } from '../../src/store/kv.ts'
import { canonicalEncode } from '../../src/util/canonical.ts'
import { tempDir } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
let owner: OwnerKey
let other: OwnerKey
beforeAll(async () => {
  const keys = await tempDir()
  owner = await createOwnerKey(join(keys.dir, 'owner'))
  other = await createOwnerKey(join(keys.dir, 'other'))
  await keys.cleanup()
})
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

const digest = (c: string): string => c.repeat(64)

function manifest(overrides: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    v: 1,
    owner: owner.id,
    release: 3,
    issuedAt: 1_765_000_000_000,
    fleet: digest('a'),
    nodes: [
      {
        name: 'hub',
        peerId: owner.id,
        config: digest('b'),
        scripts: [{ path: 'caps/x.js', sha256: digest('c') }],
      },
      { name: 'pi', peerId: other.id, config: digest('d'), scripts: [] },
    ],
    binaries: [{ target: 'linux-arm64', sha256: digest('e'), bytes: 28_000_000 }],
    waves: [1, '100%'],
    healthWindowMs: 60_000,
    ...overrides,
  }
}

function reason(fn: () => unknown): ReleaseRejectReason | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ReleaseError)
    expect((err as ReleaseError).code).toBe('bad_release')
    return (err as ReleaseError).reason
  }
  return undefined
}

describe('release manifest', () => {
  it('round-trips through sign and open, with canonical bytes', () => {
    const m = manifest()
    const signed = signRelease(m, owner)
    expect(signed.manifest).toEqual(canonicalEncode(m))
    expect(openRelease(signed.manifest, signed.sig, owner.id)).toEqual(m)
  })

  it('refuses a tampered byte and a cut signature with bad_signature', () => {
    const signed = signRelease(manifest(), owner)
    const tampered = Uint8Array.from(signed.manifest)
    const at = Buffer.from(tampered).indexOf('hub')
    tampered[at] = 'H'.charCodeAt(0)
    expect(reason(() => openRelease(tampered, signed.sig, owner.id))).toBe('bad_signature')
    expect(reason(() => openRelease(signed.manifest, signed.sig.slice(1), owner.id))).toBe('bad_signature')
  })

  it("refuses a release signed by another owner's key", () => {
    const theirs = signRelease(manifest({ owner: other.id }), other)
    expect(reason(() => openRelease(theirs.manifest, theirs.sig, owner.id))).toBe('wrong_owner')
    // a manifest that claims our owner but carries another key's signature
    const bytes = canonicalEncode(manifest())
    const forged = signRelease(manifest({ owner: other.id }), other).sig
    expect(reason(() => openRelease(bytes, forged, owner.id))).toBe('bad_signature')
    expect(reason(() => signRelease(manifest(), other))).toBe('wrong_owner')
  })

  it('refuses too_large, malformed and unknown_version', () => {
    const sig = new Uint8Array(64)
    expect(reason(() => openRelease(new Uint8Array(MAX_RELEASE_BYTES + 1), sig, owner.id))).toBe('too_large')
    expect(reason(() => openRelease(Uint8Array.of(0xc1), sig, owner.id))).toBe('malformed')
    expect(reason(() => openRelease(Uint8Array.of(0x92), sig, owner.id))).toBe('malformed')
    expect(reason(() => openRelease(canonicalEncode([1, 2]), sig, owner.id))).toBe('malformed')
    expect(reason(() => openRelease(canonicalEncode({ ...manifest(), v: 2 }), sig, owner.id))).toBe(
      'unknown_version',
    )
    expect(reason(() => openRelease(canonicalEncode({ ...manifest(), extra: 1 }), sig, owner.id))).toBe(
      'malformed',
    )
    expect(reason(() => openRelease(canonicalEncode({ ...manifest(), fleet: 'xyz' }), sig, owner.id))).toBe(
      'malformed',
    )
    expect(reason(() => signRelease(manifest({ release: 0 }), owner))).toBe('malformed')
    expect(reason(() => signRelease(manifest({ waves: [] }), owner))).toBe('malformed')
    const many = Array.from({ length: 1025 }, (_, i) => ({
      name: `n${i}`,
      peerId: owner.id,
      config: digest('b'),
      scripts: [],
    }))
    expect(reason(() => signRelease(manifest({ nodes: many }), owner))).toBe('malformed')
  })

  it('accepts any manifest the schema accepts and round-trips it', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/)
    const node = fc.record({
      name: fc.string({ minLength: 1, maxLength: 64 }),
      peerId: fc.constantFrom(owner.id, other.id),
      config: hex,
      scripts: fc.array(fc.record({ path: fc.string({ minLength: 1, maxLength: 256 }), sha256: hex }), {
        maxLength: 4,
      }),
    })
    const arbitrary = fc.record(
      {
        v: fc.constant(1 as const),
        owner: fc.constant(owner.id),
        release: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        issuedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fleet: hex,
        nodes: fc.array(node, { minLength: 1, maxLength: 8 }),
        binaries: fc.array(
          fc.record({
            target: fc.constantFrom('linux-x64' as const, 'linux-arm64' as const),
            sha256: hex,
            bytes: fc.integer({ min: 1, max: 1024 ** 3 }),
          }),
          { maxLength: 2 },
        ),
        waves: fc.array(
          fc.oneof(
            fc.integer({ min: 1, max: 1024 }),
            fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        healthWindowMs: fc.integer({ min: 0, max: 86_400_000 }),
      },
      { requiredKeys: ['v', 'owner', 'release', 'issuedAt', 'fleet', 'nodes', 'waves', 'healthWindowMs'] },
    )
    fc.assert(
      fc.property(arbitrary, (m) => {
        const parsed = releaseManifestSchema.safeParse(m)
        fc.pre(parsed.success)
        const signed = signRelease(m as ReleaseManifest, owner)
        expect(openRelease(signed.manifest, signed.sig, owner.id)).toEqual(parsed.data)
      }),
      { numRuns: 60 },
    )
  })
})

describe('release waves', () => {
  const fleet = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`)

  it('splits 1,25%,100% over 5 and 10 nodes', () => {
    expect(waveOf(fleet(5), [1, '25%', '100%'])).toEqual([0, 1, 2, 2, 2])
    expect(waveOf(fleet(10), [1, '25%', '100%'])).toEqual([0, 1, 1, 2, 2, 2, 2, 2, 2, 2])
  })

  it('takes counts, and the last wave reaches every node', () => {
    expect(waveOf(fleet(5), [2, 4])).toEqual([0, 0, 1, 1, 1])
    expect(waveOf(fleet(3), [1, 2, 5])).toEqual([0, 1, 2])
    expect(waveOf(fleet(4), ['50%'])).toEqual([0, 0, 0, 0])
    expect(waveOf(fleet(1), [1, '100%'])).toEqual([0])
  })

  it('refuses empty and non-increasing lists', () => {
    expect(reason(() => waveOf(fleet(5), []))).toBe('bad_waves')
    expect(reason(() => waveOf(fleet(5), [2, 2]))).toBe('bad_waves')
    expect(reason(() => waveOf(fleet(5), ['50%', '25%']))).toBe('bad_waves')
    expect(reason(() => waveOf(fleet(10), [5, '10%', '100%']))).toBe('bad_waves')
  })
})

describe('release floor', () => {
  it('refuses a release not above the floor, and keeps the floor across a reopen', () => {
    const file = join(dir, 'kith.db')
    let db = openDatabase(file)
    const floor = new ReleaseFloor(new KeyValue(db))
    expect(floor.floor(owner.id)).toBe(0)
    floor.accept(manifest({ release: 1 }))
    floor.raise(manifest({ release: 5 }))
    floor.raise(manifest({ release: 2 }))
    expect(reason(() => floor.accept(manifest({ release: 5 })))).toBe('stale')
    expect(reason(() => floor.accept(manifest({ release: 4 })))).toBe('stale')
    // another owner's floor is its own
    floor.accept({ owner: other.id, release: 1 })
    db.close()

    db = openDatabase(file)
    const reopened = new ReleaseFloor(new KeyValue(db))
    expect(reopened.floor(owner.id)).toBe(5)
    expect(reason(() => reopened.accept(manifest({ release: 3 })))).toBe('stale')
    reopened.accept(manifest({ release: 6 }))
    db.close()
  })
})
