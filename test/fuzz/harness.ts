/**
 * The fuzz harness: hostile inputs built from valid samples, and the one property every decoder must keep —
 * it returns a value or throws its own error type with a reason, never anything else.
 *
 * `KITH_FUZZ_RUNS` sets the inputs per decoder (CI: the default below; `npm run fuzz`: 100,000). With
 * `KITH_FUZZ_REPORT` set to a directory, each decoder writes what it saw there as `<name>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { Packr } from 'msgpackr'

const CI_RUNS = 500
const packr = new Packr({ useRecords: false, variableMapSize: true, mapsAsObjects: true })

/** Inputs per decoder; `scale` shrinks it for decoders whose every input touches the disk. */
export function fuzzRuns(scale = 1): number {
  const runs = Number(process.env.KITH_FUZZ_RUNS ?? CI_RUNS)
  return Math.max(1, Math.round((Number.isFinite(runs) ? runs : CI_RUNS) * scale))
}

/** A value msgpack can carry, hostile in shape: deep, wide, odd numbers, bytes, big integers. */
const anyValue = fc.anything({
  maxDepth: 4,
  maxKeys: 6,
  withBigInt: true,
  withTypedArray: true,
  withNullPrototype: true,
  withSparseArray: true,
  withDate: true,
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype')),
})

function pack(value: unknown): Uint8Array | undefined {
  try {
    return packr.pack(value)
  } catch {
    return undefined
  }
}

function unpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes)
  } catch {
    return undefined
  }
}

/** Every field of a sample replaced, removed, or a foreign one added, one at a time, and packed again. */
function fieldMutation(sample: Uint8Array): fc.Arbitrary<Uint8Array> {
  const raw = unpack(sample)
  const keys = raw != null && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : []
  return fc
    .tuple(
      fc.constantFrom(...keys, 'extra'),
      fc.oneof(anyValue, fc.constant(undefined), fc.uint8Array({ maxLength: 80 })),
    )
    .map(([key, value]) => {
      const copy = { ...(raw as Record<string, unknown>) }
      if (value === undefined) delete copy[key]
      else copy[key] = value
      return pack(copy) ?? sample
    })
}

/**
 * Hostile bytes for a decoder whose valid inputs look like `samples`: random bytes, bit flips, cuts,
 * insertions, fields swapped for hostile values, arbitrary msgpack, and a sample padded past `maxBytes`.
 */
export function hostileBytes(samples: readonly Uint8Array[], maxBytes: number): fc.Arbitrary<Uint8Array> {
  const sample = fc.constantFrom(...samples)
  return fc.oneof(
    fc.uint8Array({ maxLength: Math.min(maxBytes * 2, 4096) }),
    fc
      .tuple(
        sample,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
      )
      .map(([s, flips]) => {
        const out = new Uint8Array(s)
        for (const [at, bits] of flips) out[at % out.length]! ^= bits
        return out
      }),
    fc.tuple(sample, fc.nat()).map(([s, n]) => s.slice(0, n % s.length)),
    fc
      .tuple(sample, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }))
      .map(([s, at, junk]) => Buffer.concat([s.subarray(0, at % s.length), junk, s.subarray(at % s.length)])),
    ...samples.map(fieldMutation),
    anyValue.map((v) => pack(v) ?? new Uint8Array()),
    sample.map((s) => Buffer.concat([s, new Uint8Array(maxBytes + 1 - Math.min(s.length, maxBytes))])),
  )
}

/** What a decoder did with the inputs: values returned, refusals by reason. */
export class Tally {
  readonly name: string
  accepted = 0
  readonly refused = new Map<string, number>()

  constructor(name: string) {
    this.name = name
  }

  /**
   * Runs `decode` on one input: a value counts as accepted, an error of type `expected` with a reason and a
   * message as refused; anything else is thrown again with the input, as hex, for the report.
   */
  check(input: unknown, decode: () => unknown, expected: abstract new (...args: never[]) => Error): void {
    try {
      decode()
      this.accepted++
    } catch (err) {
      const reason = reasonOf(err)
      if (!(err instanceof expected) || err.message === '' || reason === '') {
        const shown = input instanceof Uint8Array ? Buffer.from(input).toString('hex') : JSON.stringify(input)
        throw new Error(`${this.name} crashed on ${shown}: ${(err as Error)?.stack ?? String(err)}`, {
          cause: err,
        })
      }
      this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1)
    }
  }

  /** Writes the tally to `KITH_FUZZ_REPORT/<name>.json` when that is set. */
  report(runs: number): void {
    const dir = process.env.KITH_FUZZ_REPORT
    if (dir == null || dir === '') return
    mkdirSync(dir, { recursive: true })
    const out = {
      decoder: this.name,
      runs,
      accepted: this.accepted,
      refused: Object.fromEntries([...this.refused].sort((a, b) => b[1] - a[1])),
      crashes: 0,
    }
    writeFileSync(join(dir, `${this.name}.json`), `${JSON.stringify(out, null, 2)}\n`)
  }
}

function reasonOf(err: unknown): string {
  if (err == null || typeof err !== 'object') return ''
  const e = err as { reason?: unknown; code?: unknown; name?: unknown }
  for (const r of [e.reason, e.code, e.name]) if (typeof r === 'string' && r !== '') return r
  return ''
}

/** Runs `check` on `runs` inputs from `arb`, then reports the tally. */
export function fuzz<T>(
  tally: Tally,
  arb: fc.Arbitrary<T>,
  check: (input: T) => void,
  runs = fuzzRuns(),
): void {
  fc.assert(
    fc.property(arb, (input) => check(input)),
    { numRuns: runs, endOnFailure: true },
  )
  tally.report(runs)
}
