import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import {
  type ContractDecision,
  ContractPolicy,
  type ContractPolicyInit,
  type ContractTerms,
  contractInitFromConfig,
  PRETRUSTED_PRIORITY,
} from '../../src/execution/contracts.ts'
import { Reciprocity } from '../../src/execution/reciprocity.ts'
import { WriteQueue } from '../../src/store/write-queue.ts'
import {
  DEFAULT_WORKER_HEAP_MB,
  MAX_MEMORY_BYTES,
  MAX_STACK_BYTES,
  MAX_TIMEOUT_MS,
  SANDBOX_DEFAULTS,
  WorkerSandbox,
} from '../../src/execution/sandbox/index.ts'
import { sandboxInitFromConfig } from '../../src/execution/script-capabilities.ts'
import { openDatabase } from '../../src/store/database.ts'
import { tempDir } from '../helpers.ts'

const HOUSE = '12D3KooWSNnorxwZYTvcQMkQnLoM6sZQf4bURGGD4pDP1VDUoSdg'
const terms = (over: Partial<ContractTerms> = {}): ContractTerms => ({
  peer: 'stranger',
  cap: 'echo',
  inputBytes: 100,
  deadlineMs: 5_000,
  evidence: 'none',
  ...over,
})

/** A policy on a hand-driven clock. */
function policy(init: ContractPolicyInit = {}) {
  const clock = { now: 0 }
  return { p: new ContractPolicy({ now: () => clock.now, ...init }), clock }
}

function declined(d: ContractDecision) {
  return d.accept ? { accept: true } : { status: d.status, reason: d.reason }
}

describe('ContractPolicy', () => {
  it('accepts ordinary terms from an unknown peer at priority 0', () => {
    const d = policy().p.decide(terms())
    expect(d).toMatchObject({ accept: true, priority: 0 })
  })

  it('denies terms that are not numbers', () => {
    const { p } = policy()
    expect(declined(p.decide(terms({ inputBytes: Number.NaN })))).toEqual({
      status: 'denied',
      reason: 'invalid-terms',
    })
    expect(declined(p.decide(terms({ inputBytes: -1 })))).toEqual({
      status: 'denied',
      reason: 'invalid-terms',
    })
    expect(declined(p.decide(terms({ deadlineMs: Infinity })))).toMatchObject({ reason: 'invalid-terms' })
  })

  it('denies peers missing from the allow-list, but never the pre-trusted ones', () => {
    const { p } = policy({ allowPeers: ['friend'], pretrusted: [HOUSE] })
    expect(declined(p.decide(terms()))).toEqual({ status: 'denied', reason: 'not-allowed' })
    expect(p.decide(terms({ peer: 'friend' })).accept).toBe(true)
    expect(p.decide(terms({ peer: HOUSE })).accept).toBe(true)
  })

  it('denies input over the limit and deadlines outside the bounds', () => {
    const { p } = policy({ maxInputBytes: 1000, minDeadlineMs: 50, maxDeadlineMs: 10_000 })
    expect(p.decide(terms({ inputBytes: 1000 })).accept).toBe(true)
    expect(declined(p.decide(terms({ inputBytes: 1001 })))).toEqual({
      status: 'denied',
      reason: 'input-too-large',
    })
    expect(declined(p.decide(terms({ deadlineMs: 49 })))).toEqual({
      status: 'denied',
      reason: 'deadline-too-short',
    })
    expect(declined(p.decide(terms({ deadlineMs: 10_001 })))).toEqual({
      status: 'denied',
      reason: 'deadline-too-long',
    })
  })

  it('denies evidence the node cannot supply', () => {
    const noTpm = policy().p
    expect(noTpm.decide(terms({ evidence: 'receipt' })).accept).toBe(true)
    expect(declined(noTpm.decide(terms({ evidence: 'tpm' })))).toEqual({
      status: 'denied',
      reason: 'evidence-unavailable',
    })
    expect(policy({ evidence: { tpm: true } }).p.decide(terms({ evidence: 'tpm' })).accept).toBe(true)
    const noReceipts = policy({ evidence: { receipt: false } }).p
    expect(declined(noReceipts.decide(terms({ evidence: 'receipt' })))).toMatchObject({
      reason: 'evidence-unavailable',
    })
  })

  it('rate-limits each peer with a token bucket that refills over time', () => {
    const { p, clock } = policy({ perPeer: { ratePerSec: 2, burst: 3, maxConcurrent: 100 } })
    for (let i = 0; i < 3; i++) p.decide(terms())
    expect(declined(p.decide(terms()))).toEqual({ status: 'busy', reason: 'rate-limited' })
    expect(p.decide(terms({ peer: 'other' })).accept).toBe(true)
    clock.now = 499
    expect(p.decide(terms()).accept).toBe(false)
    clock.now = 1000 // two tokens back
    expect(p.decide(terms()).accept).toBe(true)
    expect(p.decide(terms()).accept).toBe(true)
    expect(p.decide(terms()).accept).toBe(false)
  })

  it('limits the tasks one peer has here at once, and frees a place on release (once)', () => {
    const { p } = policy({ perPeer: { maxConcurrent: 2, burst: 100 } })
    const a = p.decide(terms())
    const b = p.decide(terms())
    expect(declined(p.decide(terms()))).toEqual({ status: 'busy', reason: 'peer-concurrency' })
    expect(p.inFlight('stranger')).toBe(2)
    if (!a.accept || !b.accept) throw new Error('expected both accepted')
    a.release()
    a.release()
    expect(p.inFlight('stranger')).toBe(1)
    expect(p.decide(terms()).accept).toBe(true)
  })

  it('when loaded, answers busy to free riders first and still serves helpful and household peers', () => {
    const balances: Record<string, number> = { taker: -3, giver: 5, [HOUSE]: -50 }
    const loaded = { now: false }
    const { p } = policy({
      pretrusted: [HOUSE],
      balance: (peer) => balances[peer] ?? 0,
      loaded: () => loaded.now,
    })
    expect(p.decide(terms({ peer: 'taker' })).accept).toBe(true)
    loaded.now = true
    expect(declined(p.decide(terms({ peer: 'taker' })))).toEqual({ status: 'busy', reason: 'free-rider' })
    expect(p.decide(terms({ peer: 'newcomer' })).accept).toBe(true)
    expect(p.decide(terms({ peer: 'giver' }))).toMatchObject({ accept: true, priority: 5 })
    expect(p.decide(terms({ peer: HOUSE }))).toMatchObject({ accept: true, priority: PRETRUSTED_PRIORITY })
  })

  it('ranks peers by balance, clamped below the household priority', () => {
    const balances: Record<string, number> = { saint: 1e9, leech: -1e9 }
    const { p } = policy({ balance: (peer) => balances[peer] ?? 0 })
    expect(p.decide(terms({ peer: 'saint' }))).toMatchObject({ priority: PRETRUSTED_PRIORITY - 1 })
    expect(p.decide(terms({ peer: 'leech' }))).toMatchObject({ priority: -(PRETRUSTED_PRIORITY - 1) })
  })

  it('forgets the stalest idle peer beyond its bound, never one with tasks in flight', () => {
    const { p } = policy({ maxTrackedPeers: 2, perPeer: { burst: 1, ratePerSec: 0.001 } })
    const done = (d: ContractDecision) => (d.accept ? d.release() : undefined)
    const held = p.decide(terms({ peer: 'a' }))
    done(p.decide(terms({ peer: 'b' })))
    done(p.decide(terms({ peer: 'c' }))) // forgets b, the stalest idle one; a still has a task in flight
    expect(p.inFlight('a')).toBe(1)
    expect(p.decide(terms({ peer: 'b' })).accept).toBe(true) // a fresh bucket
    expect(declined(p.decide(terms({ peer: 'a' })))).toMatchObject({ reason: 'rate-limited' })
    if (held.accept) held.release()
  })

  it('takes its settings from the execution and trust sections of the config', () => {
    const config = configSchema.parse({
      execution: { maxInputBytes: 4096, maxTaskTimeout: 20_000, perPeer: { burst: 1 }, allowPeers: [HOUSE] },
    })
    const p = new ContractPolicy(contractInitFromConfig(config))
    expect(declined(p.decide(terms({ inputBytes: 5000 })))).toMatchObject({ reason: 'not-allowed' })
    expect(declined(p.decide(terms({ peer: HOUSE, deadlineMs: 30_000 })))).toMatchObject({
      reason: 'deadline-too-long',
    })
    expect(p.decide(terms({ peer: HOUSE })).accept).toBe(true)
    expect(declined(p.decide(terms({ peer: HOUSE })))).toMatchObject({ reason: 'rate-limited' })
  })
})

describe('execution config', () => {
  it('has defaults for every key and rejects a task timeout above the maximum', () => {
    expect(configSchema.parse({}).execution).toEqual({
      maxQueue: 16,
      taskTimeout: 10_000,
      maxTaskTimeout: 60_000,
      maxInputBytes: 256 * 1024,
      perPeer: { ratePerSec: 10, burst: 20, maxConcurrent: 4 },
      sandbox: {
        memoryBytes: SANDBOX_DEFAULTS.memoryBytes,
        stackBytes: SANDBOX_DEFAULTS.stackBytes,
        maxOutputBytes: SANDBOX_DEFAULTS.maxOutputBytes,
        warmWorkers: 1,
        idleTimeout: 60_000,
        workerHeapMb: DEFAULT_WORKER_HEAP_MB,
      },
    })
    const r = configSchema.safeParse({ execution: { taskTimeout: 61_000 } })
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['execution.taskTimeout'])
    expect(configSchema.safeParse({ execution: { allowPeers: ['not-a-peer'] } }).success).toBe(false)
  })

  it('bounds the sandbox keys by the sandbox’s own ceilings', () => {
    const issues = (sandbox: Record<string, unknown>, execution: Record<string, unknown> = {}) => [
      ...new Set(
        configSchema
          .safeParse({ execution: { ...execution, sandbox } })
          .error?.issues.map((i) => i.path.join('.')),
      ),
    ]
    expect(issues({ stackBytes: MAX_STACK_BYTES + 1 })).toEqual(['execution.sandbox.stackBytes'])
    expect(issues({ memoryBytes: MAX_MEMORY_BYTES + 1 })).toEqual(['execution.sandbox.memoryBytes'])
    expect(issues({ timeoutMs: MAX_TIMEOUT_MS + 1 }, { maxTaskTimeout: 600_000 })).toEqual([
      'execution.sandbox.timeoutMs',
    ])
    expect(issues({ timeoutMs: 30_000 }, { maxTaskTimeout: 20_000, taskTimeout: 10_000 })).toEqual([
      'execution.sandbox.timeoutMs',
    ])
    expect(issues({ maxOutputBytes: 2 * 1024 * 1024 })).toEqual(['execution.sandbox.maxOutputBytes'])
    expect(issues({ workers: 0 })).toEqual(['execution.sandbox.workers'])
    expect(issues({ workerHeapMb: 16 })).toEqual(['execution.sandbox.workerHeapMb'])
    expect(issues({ memory: 1 })).toEqual(['execution.sandbox'])
  })

  it('gives the sandbox its settings, and the task limits where the sandbox section leaves them out', () => {
    const defaults = sandboxInitFromConfig(configSchema.parse({ execution: { maxConcurrent: 3 } }))
    expect(defaults).toEqual({
      workers: 3,
      // no script capability: no worker waits once idle
      warmWorkers: 0,
      idleTimeoutMs: 60_000,
      workerHeapMb: DEFAULT_WORKER_HEAP_MB,
      limits: {
        memoryBytes: SANDBOX_DEFAULTS.memoryBytes,
        stackBytes: SANDBOX_DEFAULTS.stackBytes,
        timeoutMs: 60_000,
        maxInputBytes: 256 * 1024,
        maxOutputBytes: SANDBOX_DEFAULTS.maxOutputBytes,
      },
    })
    const set = sandboxInitFromConfig(
      configSchema.parse({
        execution: {
          sandbox: { memoryBytes: 8 * 1024 * 1024, timeoutMs: 500, workers: 1, maxOutputBytes: 4096 },
        },
      }),
    )
    expect(set).toMatchObject({
      workers: 1,
      limits: { memoryBytes: 8 * 1024 * 1024, timeoutMs: 500, maxOutputBytes: 4096 },
    })
    // whatever the config allows, the sandbox accepts
    expect(() => new WorkerSandbox(set)).not.toThrow()
  })
})

describe('Reciprocity', () => {
  it('keeps each peer’s balance across a restart', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const file = join(dir, 'kith.db')
      const db = openDatabase(file)
      const ledger = new Reciprocity(db)
      expect(ledger.balance('p')).toBe(0)
      ledger.recordServedUs('p', 1, 10)
      ledger.recordWeServed('p', 3, 20)
      ledger.recordWeServed('q', 1, 30)
      ledger.flush() // what the node does when it stops
      db.close()
      const again = new Reciprocity(openDatabase(file))
      expect(again.balance('p')).toBe(-2)
      expect(again.get('p')).toEqual({ peer: 'p', servedUs: 1, weServed: 3, balance: -2, updatedAt: 20 })
      expect(again.list().map((e) => e.peer)).toEqual(['q', 'p'])
    } finally {
      await cleanup()
    }
  })

  it('keeps only the most recently active peers', () => {
    const ledger = new Reciprocity(openDatabase(':memory:'), { maxPeers: 3, trimEvery: 5 })
    for (let i = 0; i < 10; i++) ledger.recordWeServed(`p${i}`, 1, i)
    expect(ledger.list().map((e) => e.peer)).toEqual(['p9', 'p8', 'p7'])
    expect(ledger.balance('p0')).toBe(0)
  })

  it('answers balances from memory at once and writes the counts with the group commit', () => {
    const db = openDatabase(':memory:')
    const writes = new WriteQueue(db, { flushMs: 60_000 })
    const ledger = new Reciprocity(db, { writes })
    ledger.recordServedUs('p', 2, 10)
    ledger.recordWeServed('p', 5, 20)
    expect(ledger.balance('p')).toBe(-3)
    const stored = () => db.prepare("SELECT served_us, we_served FROM reciprocity WHERE peer = 'p'").get()
    expect(stored()).toBeUndefined()
    writes.flush()
    expect(stored()).toEqual({ served_us: 2, we_served: 5 })
    // a new ledger over the same file reads what the first one wrote
    expect(new Reciprocity(db).get('p')).toEqual({
      peer: 'p',
      servedUs: 2,
      weServed: 5,
      balance: -3,
      updatedAt: 20,
    })
  })

  it('commits the other deferred writes when one of them fails', () => {
    const db = openDatabase(':memory:')
    const writes = new WriteQueue(db, { flushMs: 60_000 })
    const ledger = new Reciprocity(db, { writes })
    ledger.recordWeServed('a', 1, 1)
    writes.defer(() => {
      throw new Error('a write that fails')
    })
    ledger.recordWeServed('b', 1, 2)
    writes.flush()
    expect(ledger.list().map((e) => e.peer)).toEqual(['b', 'a'])
  })

  it('refuses negative or fractional counts', () => {
    const ledger = new Reciprocity(openDatabase(':memory:'))
    expect(() => ledger.recordServedUs('p', -1)).toThrow(RangeError)
    expect(() => ledger.recordWeServed('p', 0.5)).toThrow(RangeError)
  })
})
