/** Descriptor v2: the signed summary, its catalog pages, the cut for any number of fields, and bad pages. */
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import { CatalogIntake } from '../../src/discovery/catalog-intake.ts'
import {
  buildPages,
  MAX_PAGE_BYTES,
  MAX_PAGES,
  openPage,
  PageError,
} from '../../src/discovery/catalog-page.ts'
import {
  type Capability,
  DescriptorError,
  signDescriptor,
  splitSigned,
} from '../../src/discovery/descriptor.ts'
import { PageCache } from '../../src/discovery/page-cache.ts'
import { DescriptorStore } from '../../src/discovery/store.ts'
import { parseSummary, signSummary, type SummaryInput } from '../../src/discovery/summary.ts'
import { createVerifier } from '../../src/discovery/verify.ts'
import { decodeNoticeV2, encodeAnnounce } from '../../src/discovery/wire.ts'
import { tempDir } from '../helpers.ts'
import { canonicalEncode, sha256 } from '../../src/util/canonical.ts'

let alice: Identity
let mallory: Identity
let clock = 1_700_000_000_000
const now = () => clock
const verify = createVerifier()

beforeAll(async () => {
  const { dir } = await tempDir()
  alice = await createIdentity(join(dir, 'alice.key'))
  mallory = await createIdentity(join(dir, 'mallory.key'))
})

const ON_OFF = { type: 'object', properties: { state: { enum: ['ON', 'OFF'] } }, required: ['state'] }
const READING = { type: 'object', properties: { value: { type: 'number' }, unit: { type: 'string' } } }

/** A hub's devices as the bridge makes them: one action and two sensors per device. */
function household(devices: number): Capability[] {
  return Array.from({ length: devices }, (_, i) => {
    const d = `plug-${String(i).padStart(3, '0')}`
    const base = { tags: ['plug', 'power', `room-${i % 7}`], risk: 'low' as const }
    return [
      {
        ...base,
        id: `${d}.set`,
        title: `Switch ${d}`,
        description: `Turns ${d} on or off`,
        kind: 'device' as const,
        input: ON_OFF,
        output: ON_OFF,
      },
      {
        ...base,
        id: `${d}.state`,
        title: `${d} state`,
        description: `Whether ${d} is on`,
        kind: 'sensor' as const,
        input: {},
        output: ON_OFF,
      },
      {
        ...base,
        id: `${d}.power`,
        title: `${d} power`,
        description: `Power drawn by ${d} (W)`,
        kind: 'sensor' as const,
        input: {},
        output: READING,
      },
    ]
  }).flat()
}

function input(caps: Capability[], seq = 1): SummaryInput {
  return {
    peer: alice.peerId.toString(),
    seq,
    iat: clock,
    ttl: 15_000,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    state: { load: 0.1, memFree: 1_000_000, queue: 0 },
    attest: { tpm: false },
    caps,
  }
}

function setup(cache = new PageCache()) {
  const store = new DescriptorStore({ now })
  cache.follow(store)
  const intake = new CatalogIntake({ store, verify, self: 'me', pages: cache }, { now })
  return { store, intake, cache }
}

/** A page fetcher over `pages` (by digest), recording what it was asked for. */
function served(pages: Array<{ bytes: Uint8Array; digest: Uint8Array }>) {
  const asked: string[] = []
  const fetch = async (digests: Uint8Array[]) =>
    digests.map((d) => {
      const hex = Buffer.from(d).toString('hex')
      asked.push(hex)
      return pages.find((p) => Buffer.from(p.digest).toString('hex') === hex)?.bytes
    })
  return { fetch, asked }
}

describe('descriptor v2 summary and catalog pages', () => {
  it('carries 300 capabilities of a 100-device hub in a few pages, each under 16 KiB, schemas shared', () => {
    const caps = household(100)
    const own = signSummary(input(caps), alice.sign)
    expect(own.left).toEqual([])
    expect(own.bytes.byteLength).toBeLessThan(4096)
    expect(own.pages.length).toBeGreaterThan(1)
    expect(own.pages.length).toBeLessThanOrEqual(MAX_PAGES)
    for (const page of own.pages) expect(page.bytes.byteLength).toBeLessThanOrEqual(MAX_PAGE_BYTES)
    expect(own.descriptor.catalog).toMatchObject({
      count: 300,
      kinds: { device: 100, sensor: 200, script: 0 },
    })
    expect(own.descriptor.caps).toEqual(caps)
    // opened again, every capability comes back with its schemas, in order
    const opened = own.pages.flatMap((p) => openPage(p.bytes, p.digest, alice.peerId.toString()))
    expect(opened).toEqual(caps)
    // three distinct schemas, stored once per page rather than 600 times
    const total = own.pages.reduce((n, p) => n + p.bytes.byteLength, 0)
    const inline = caps.reduce((n, c) => n + canonicalEncode(c).byteLength, 0)
    expect(total).toBeLessThan(inline)
  })

  it('changes only the last page when a device is added at the end', () => {
    const before = signSummary(input(household(100)), alice.sign)
    const after = signSummary(input(household(101), 2), alice.sign)
    const hex = (d: Uint8Array) => Buffer.from(d).toString('hex')
    const kept = after.pages.filter((p) => before.pages.some((q) => hex(q.digest) === hex(p.digest)))
    expect(kept.length).toBeGreaterThanOrEqual(after.pages.length - 1)
  })

  it('takes a summary once every page is in, and pulls only the pages it lacks on the next one', async () => {
    const { store, intake } = setup()
    const first = signSummary(input(household(100)), alice.sign)
    const source = served(first.pages)
    expect(await intake.take(first.bytes, 'n1', undefined, source.fetch)).toMatchObject({
      result: 'accepted',
    })
    const held = store.get(alice.peerId.toString())
    expect(held?.descriptor.v).toBe(2)
    expect(held?.descriptor.caps).toHaveLength(300)
    expect(source.asked).toHaveLength(first.pages.length)

    const next = signSummary(input(household(101), 2), alice.sign)
    const again = served(next.pages)
    expect(await intake.take(next.bytes, 'n1', undefined, again.fetch)).toMatchObject({ result: 'replaced' })
    expect(again.asked.length).toBeLessThanOrEqual(1)
    expect(intake.counters.pagesReused).toBeGreaterThanOrEqual(next.pages.length - 1)
    expect(store.get(alice.peerId.toString())?.descriptor.caps).toHaveLength(303)
  })

  it('refuses a page that does not hash to its listed digest, and counts it', async () => {
    const { store, intake } = setup()
    const own = signSummary(input(household(20)), alice.sign)
    const [page] = own.pages
    const forged = Uint8Array.from(page!.bytes)
    forged[forged.length - 3] = (forged[forged.length - 3] ?? 0) ^ 0x01
    const bad = served([{ bytes: forged, digest: page!.digest }])
    await expect(intake.take(own.bytes, 'n1', undefined, bad.fetch)).rejects.toThrow(PageError)
    expect(intake.counters.pagesRejected.digest_mismatch).toBe(1)
    expect(store.get(alice.peerId.toString())).toBeUndefined()
  })

  it('leaves a summary out while a page is unavailable, and takes it once it is served', async () => {
    const { store, intake } = setup()
    const own = signSummary(input(household(20)), alice.sign)
    expect(await intake.take(own.bytes, 'n1', undefined, served([]).fetch)).toMatchObject({
      result: 'ignored',
    })
    expect(intake.counters.pagesRejected.missing).toBe(1)
    expect(store.get(alice.peerId.toString())).toBeUndefined()
    expect(await intake.take(own.bytes, 'n1', undefined, served(own.pages).fetch)).toMatchObject({
      result: 'accepted',
    })
  })

  it('refuses a summary whose page came back over the size cap, and counts it', async () => {
    const { store, intake } = setup()
    const own = signSummary(input(household(5)), alice.sign)
    // the catalog stream refuses a frame over 16 KiB before reading it (catalog-exchange.ts)
    const tooBig = async () => {
      throw new PageError('oversize', 'a catalog answer is over 16384 bytes')
    }
    await expect(intake.take(own.bytes, 'n1', undefined, tooBig)).rejects.toThrow(PageError)
    expect(intake.counters.pagesRejected.oversize).toBe(1)
    expect(store.get(alice.peerId.toString())).toBeUndefined()
  })

  it('pulls no more pages from one origin than its page budget, and takes the summary once it refills', async () => {
    const store = new DescriptorStore({ now })
    const cache = new PageCache()
    cache.follow(store)
    const first = signSummary(input(household(100)), alice.sign)
    const intake = new CatalogIntake(
      { store, verify, self: 'me', pages: cache },
      { now, pageBurst: first.pages.length, pageRatePerSec: first.pages.length },
    )
    expect(await intake.take(first.bytes, 'n1', undefined, served(first.pages).fetch)).toMatchObject({
      result: 'accepted',
    })
    // at once a summary whose every page is new: over the budget, nothing pulled
    const renamed = household(100).map((c) => ({ ...c, description: `${c.description}, renamed` }))
    const next = signSummary(input(renamed, 2), alice.sign)
    const source = served(next.pages)
    expect(await intake.take(next.bytes, 'n1', undefined, source.fetch)).toMatchObject({ result: 'ignored' })
    expect(intake.counters.pagesRejected.limited).toBe(1)
    expect(source.asked).toHaveLength(0)
    // the budget refills (here in a second): its origin's next notice brings it in
    clock += 2_000
    expect(await intake.take(next.bytes, 'n1', undefined, source.fetch)).toMatchObject({ result: 'replaced' })
  })

  it('refuses oversize, foreign and malformed pages', () => {
    const peer = alice.peerId.toString()
    const big = new Uint8Array(MAX_PAGE_BYTES + 1)
    expect(() => openPage(big, sha256(big), peer)).toThrow(expect.objectContaining({ reason: 'oversize' }))
    const { pages } = buildPages(mallory.peerId.toString(), household(2))
    const p = pages[0]!
    expect(() => openPage(p.bytes, p.digest, peer)).toThrow(expect.objectContaining({ reason: 'foreign' }))
    const junk = canonicalEncode({ v: 2, peer, caps: [{ id: 'x', in: 9, out: 0 }], schemas: [] })
    expect(() => openPage(junk, sha256(junk), peer)).toThrow(expect.objectContaining({ reason: 'malformed' }))
  })

  it('refuses a summary listing more than 64 pages', () => {
    const unsigned = {
      ...input([]),
      v: 2,
      catalog: {
        count: MAX_PAGES + 1,
        kinds: { script: MAX_PAGES + 1, device: 0, sensor: 0 },
        tags: [],
        pages: Array.from({ length: MAX_PAGES + 1 }, (_, i) => ({
          digest: sha256(Uint8Array.of(i)),
          count: 1,
        })),
      },
    }
    const { caps: _caps, ...fields } = unsigned
    const body = canonicalEncode(fields)
    const bytes = canonicalEncode({ ...fields, sig: alice.sign(body) })
    expect(() => parseSummary(bytes)).toThrow(DescriptorError)
  })

  it('verifies and uses a summary with fields this version does not know, however many fields it has', async () => {
    const own = signSummary(input(household(3)), alice.sign)
    const { caps: _caps, catalog, v: _v, sig: _sig, ...rest } = own.descriptor
    // a later version adds top-level and nested fields: the map grows past 15 fields (a map16 header)
    const extra = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`future${i}`, i]))
    const fields = {
      ...rest,
      v: 2,
      catalog: { ...catalog, rates: { tasksPerSec: 10 } },
      build: 'a'.repeat(64),
      config: 'b'.repeat(64),
      state: { ...rest.state, fan: 3 },
      ...extra,
    }
    const body = canonicalEncode(fields)
    const bytes = canonicalEncode({ ...fields, sig: alice.sign(body) })
    expect(bytes[0]).toBe(0xde)
    expect(Buffer.from(splitSigned(bytes)!.body).equals(body)).toBe(true)
    const parsed = parseSummary(bytes)
    expect(Buffer.from(parsed.digest).equals(sha256(body))).toBe(true)
    const { store, intake } = setup()
    expect(await intake.take(bytes, 'n1', undefined, served(own.pages).fetch)).toMatchObject({
      result: 'accepted',
    })
    expect(store.get(alice.peerId.toString())?.descriptor.caps).toHaveLength(9)
    // and a notice with a field it does not know
    const notice = { peer: 'p', seq: 1, digest: sha256(body), at: clock }
    const withRate = Buffer.concat([Buffer.from(encodeAnnounce(notice))])
    expect(decodeNoticeV2(withRate)).toMatchObject({ seq: 1 })
    expect(decodeNoticeV2(canonicalEncode({ ...notice, rate: 5 }))).toMatchObject({ seq: 1 })
  })

  it('refuses a summary signed by another key', async () => {
    const { intake, store } = setup()
    const own = signSummary(input(household(3)), mallory.sign)
    await expect(intake.take(own.bytes, 'n1', undefined, served(own.pages).fetch)).rejects.toThrow(
      expect.objectContaining({ reason: 'bad_signature' }),
    )
    expect(store.counters.rejected.bad_signature).toBe(1)
  })
})

describe('one store for v1 and v2', () => {
  it('keeps a v1 peer, lets a v2 summary replace its v1 descriptor, and never the reverse', async () => {
    const { store, intake } = setup()
    const peer = alice.peerId.toString()
    const v1 = signDescriptor({ ...input([]), v: 1, seq: 40, caps: household(1) }, alice.sign)
    store.put(v1)
    expect(store.get(peer)?.descriptor.v).toBe(1)
    // a v2 summary has its own sequence: seq 1 replaces v1's seq 40
    const v2 = signSummary(input(household(10), 1), alice.sign)
    expect(await intake.take(v2.bytes, 'n1', undefined, served(v2.pages).fetch)).toMatchObject({
      result: 'replaced',
    })
    expect(store.get(peer)?.descriptor.caps).toHaveLength(30)
    // the v1 copy a v2 node offers v1-only peers does not take its place
    clock += 10
    const copy = signDescriptor({ ...input([]), v: 1, seq: 41, iat: clock, caps: household(1) }, alice.sign)
    expect(() => store.put(copy)).toThrow(DescriptorError)
    expect(store.counters.superseded).toBe(1)
    expect(store.get(peer)?.descriptor.v).toBe(2)
    expect(store.has(peer, 99, undefined, 1)).toBe(true)
  })

  it('drops a page when no live summary names it any more', async () => {
    const { store, intake, cache } = setup()
    const own = signSummary(input(household(20)), alice.sign)
    await intake.take(own.bytes, 'n1', undefined, served(own.pages).fetch)
    expect(cache.size).toBe(own.pages.length)
    clock += 60_000
    store.expire()
    expect(cache.size).toBe(0)
    expect(cache.counters.released).toBe(own.pages.length)
  })

  it('refuses pages beyond its bounds rather than dropping pages live summaries name', async () => {
    const { store, intake } = setup(new PageCache({ maxPages: 1 }))
    const own = signSummary(input(household(100)), alice.sign)
    expect(await intake.take(own.bytes, 'n1', undefined, served(own.pages).fetch)).toMatchObject({
      result: 'ignored',
    })
    expect(intake.counters.pagesRejected.no_room).toBe(1)
    expect(store.get(alice.peerId.toString())).toBeUndefined()
  })
})
