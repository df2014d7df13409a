import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Checkpointer } from '../../src/execution/checkpointer.ts'
import { Journal, type NewTask } from '../../src/execution/journal.ts'
import { WriteQueue } from '../../src/store/write-queue.ts'
import { type Database, openDatabase } from '../../src/store/database.ts'
import { tempDir, waitFor } from '../helpers.ts'

const T0 = 1_700_000_000_000
const task = (id: string, over: Partial<NewTask> = {}): NewTask => ({
  id,
  direction: 'in',
  peer: 'peer-a',
  cap: 'echo',
  deadline: T0 + 10_000,
  inputHash: `in-${id}`,
  ...over,
})

let db: Database
beforeEach(() => {
  db = openDatabase(':memory:')
})
afterEach(() => {
  if (db.isOpen) db.close()
})

describe('Journal', () => {
  it('tells its listeners of every write, deferred ones when they are deferred, until unsubscribed', () => {
    const journal = new Journal(db)
    let calls = 0
    const off = journal.onChange(() => calls++)
    journal.recordQueued(task('t1'), T0)
    journal.deferRunning('t1', T0 + 1)
    journal.deferFinished('t1', 'ok', {}, T0 + 2)
    expect(calls).toBe(3)
    expect(journal.version).toBe(3)
    off()
    journal.recordStarted(task('t2'), T0)
    expect(calls).toBe(3)
  })

  it('records a task through queued, running and ok with its times and hashes', () => {
    const journal = new Journal(db)
    expect(journal.recordQueued(task('t1'), T0)).toBe(true)
    expect(journal.get('t1')).toMatchObject({
      status: 'queued',
      createdAt: T0,
      attempts: 0,
      inputHash: 'in-t1',
    })
    expect(journal.recordRunning('t1', T0 + 5)).toBe(true)
    expect(journal.recordFinished('t1', 'ok', { outputHash: 'out' }, T0 + 9)).toBe(true)
    expect(journal.get('t1')).toEqual({
      ...task('t1'),
      status: 'ok',
      outputHash: 'out',
      createdAt: T0,
      startedAt: T0 + 5,
      endedAt: T0 + 9,
      attempts: 1,
    })
  })

  it('records errors and timeouts with their message and never changes a finished task', () => {
    const journal = new Journal(db)
    journal.recordQueued(task('e'), T0)
    journal.recordRunning('e', T0)
    journal.recordFinished('e', 'error', { error: 'script threw' }, T0 + 1)
    journal.recordQueued(task('t'), T0)
    journal.recordFinished('t', 'timeout', { error: 'deadline' }, T0 + 2)
    expect(journal.get('e')).toMatchObject({ status: 'error', error: 'script threw' })
    expect(journal.get('t')).toMatchObject({ status: 'timeout', endedAt: T0 + 2 })
    expect(journal.recordRunning('e', T0 + 3)).toBe(false)
    expect(journal.recordFinished('e', 'ok', {}, T0 + 3)).toBe(false)
    expect(journal.get('e')?.status).toBe('error')
  })

  it('refuses a task id that was already accepted, and says it has been seen', () => {
    const journal = new Journal(db)
    expect(journal.seen('t1')).toBe(false)
    journal.recordQueued(task('t1'), T0)
    expect(journal.seen('t1')).toBe(true)
    expect(journal.recordQueued(task('t1'), T0 + 1)).toBe(false)
    journal.recordFinished('t1', 'ok', {}, T0 + 2)
    expect(journal.recordQueued(task('t1', { peer: 'peer-b' }), T0 + 3)).toBe(false)
    expect(journal.get('t1')?.peer).toBe('peer-a')
  })

  it('lets the same peer offer again an id that was only refused busy, but not another peer', () => {
    const journal = new Journal(db)
    expect(journal.recordRefused(task('b'), 'busy', 'queue full', T0)).toBe(true)
    expect(journal.get('b')).toMatchObject({ status: 'busy', error: 'queue full', endedAt: T0 })
    expect(journal.seen('b')).toBe(false)
    expect(journal.recordQueued(task('b', { peer: 'peer-b' }), T0 + 1)).toBe(false)
    expect(journal.recordQueued(task('b'), T0 + 1)).toBe(true)
    expect(journal.get('b')).toMatchObject({ status: 'queued', createdAt: T0 })
    expect(journal.get('b')?.error).toBeUndefined()
    expect(journal.recordRefused(task('b'), 'denied', 'late refusal', T0 + 2)).toBe(false)
  })

  it('counts each provider an outgoing task was sent to', () => {
    const journal = new Journal(db)
    journal.recordQueued(task('o', { direction: 'out', peer: 'provider-1' }), T0)
    journal.recordRunning('o', T0 + 1)
    journal.recordRunning('o', T0 + 50, 'provider-2')
    journal.recordFinished('o', 'ok', { outputHash: 'h' }, T0 + 60)
    expect(journal.get('o')).toMatchObject({
      peer: 'provider-2',
      attempts: 2,
      startedAt: T0 + 1,
      status: 'ok',
    })
  })

  it('after a crash, reports every task that was in flight as interrupted and never runs it again', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const file = join(dir, 'kith.db')
      const before = openDatabase(file)
      const journal = new Journal(before)
      journal.recordQueued(task('done'), T0)
      journal.recordRunning('done', T0)
      journal.recordFinished('done', 'ok', {}, T0 + 1)
      journal.recordQueued(task('running'), T0 + 2)
      journal.recordRunning('running', T0 + 3)
      journal.recordQueued(task('waiting'), T0 + 4)
      journal.recordQueued(task('sent', { direction: 'out' }), T0 + 5)
      before.close() // the process dies here

      const after = openDatabase(file)
      const again = new Journal(after)
      const lost = again.recover(T0 + 100)
      expect(lost.map((t) => [t.id, t.direction, t.status])).toEqual([
        ['running', 'in', 'interrupted'],
        ['waiting', 'in', 'interrupted'],
        ['sent', 'out', 'interrupted'],
      ])
      expect(lost[0]).toMatchObject({ endedAt: T0 + 100, error: 'interrupted by a restart' })
      expect(again.get('done')?.status).toBe('ok')
      expect(again.recover(T0 + 200)).toEqual([])
      expect(again.seen('running')).toBe(true)
      expect(again.recordQueued(task('running'), T0 + 300)).toBe(false)
      expect(again.recordRunning('running', T0 + 300)).toBe(false)
      after.close()
    } finally {
      await cleanup()
    }
  })

  it('records an outgoing task as started in one write, and refuses its id a second time', () => {
    const journal = new Journal(db)
    expect(journal.recordStarted(task('o', { direction: 'out', peer: 'self' }), T0)).toBe(true)
    expect(journal.get('o')).toMatchObject({ status: 'running', startedAt: T0, attempts: 1 })
    expect(journal.recordStarted(task('o', { direction: 'out', peer: 'self' }), T0 + 1)).toBe(false)
  })

  it('commits deferred changes together later; a crash before that leaves the task in flight', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const file = join(dir, 'kith.db')
      const before = openDatabase(file)
      const writes = new WriteQueue(before, { flushMs: 60_000 })
      const journal = new Journal(before, { writes })
      const status = (id: string) =>
        (before.prepare('SELECT status FROM tasks WHERE id = ?').get(id) as { status: string } | undefined)
          ?.status
      journal.recordQueued(task('a'), T0)
      journal.deferRunning('a', T0 + 1)
      journal.deferFinished('a', 'ok', { outputHash: 'h' }, T0 + 2)
      // the next task's row is durable at once, on its own; the deferred changes wait
      journal.recordQueued(task('b'), T0 + 3)
      expect(status('a')).toBe('queued')
      expect(status('b')).toBe('queued')
      expect(writes.pending).toBe(2)
      writes.flush()
      expect(status('a')).toBe('ok')
      journal.deferRunning('b', T0 + 4)
      journal.deferFinished('b', 'ok', {}, T0 + 5)
      journal.deferRefused(task('c'), 'busy', 'no room', T0 + 6)
      before.close() // the process dies with three changes not written

      const again = new Journal(openDatabase(file))
      expect(again.get('a')).toMatchObject({
        status: 'ok',
        startedAt: T0 + 1,
        endedAt: T0 + 2,
        outputHash: 'h',
      })
      expect(again.recover(T0 + 100).map((t) => [t.id, t.status])).toEqual([['b', 'interrupted']])
      expect(again.get('c')).toBeUndefined()
    } finally {
      await cleanup()
    }
  })

  it('commits deferred changes on its own a moment later, and before any read', async () => {
    const writes = new WriteQueue(db, { flushMs: 5 })
    const journal = new Journal(db, { writes })
    journal.recordQueued(task('a'), T0)
    journal.deferFinished('a', 'error', { error: 'threw' }, T0 + 1)
    expect(journal.get('a')?.status).toBe('error')
    journal.recordQueued(task('b'), T0)
    journal.deferFinished('b', 'ok', {}, T0 + 1)
    await waitFor('the deferred changes to be committed', () => writes.pending === 0, 5_000)
    expect((db.prepare("SELECT status FROM tasks WHERE id = 'b'").get() as { status: string }).status).toBe(
      'ok',
    )
  })

  it('leaves WAL checkpoints to a thread of their own while it runs', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const file = join(dir, 'kith.db')
      const fileDb = openDatabase(file)
      const autocheckpoint = () =>
        (fileDb.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
          .wal_autocheckpoint
      const checkpointer = new Checkpointer(fileDb, file, { intervalMs: 20 })
      await checkpointer.start()
      expect(checkpointer.running).toBe(true)
      expect(autocheckpoint()).toBe(0)
      const before = (await stat(file)).size
      const journal = new Journal(fileDb)
      for (let i = 0; i < 2000; i++) journal.recordQueued(task(`t${i}`), T0 + i)
      // the node's connection no longer copies the WAL back: only the thread can have grown the file
      await waitFor('the thread to checkpoint', async () => (await stat(file)).size > before)
      await checkpointer.stop()
      expect(checkpointer.running).toBe(false)
      expect(autocheckpoint()).toBe(1000)
      expect(journal.get('t1999')?.status).toBe('queued')
      fileDb.close()
    } finally {
      await cleanup()
    }
  })

  it('ends the checkpoint thread when no commit comes for idleMs, and starts it again at the next', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const file = join(dir, 'kith.db')
      const fileDb = openDatabase(file)
      const autocheckpoint = () =>
        Number(fileDb.prepare('PRAGMA wal_autocheckpoint').get()?.wal_autocheckpoint)
      const checkpointer = new Checkpointer(fileDb, file, { intervalMs: 20, idleMs: 100 })
      await checkpointer.start()
      expect(checkpointer.running).toBe(true)
      await waitFor('the idle thread to end', () => !checkpointer.running)
      // meanwhile the node's connection checkpoints by itself
      expect(autocheckpoint()).toBe(1000)
      const writes = new WriteQueue(fileDb, { onCommit: () => checkpointer.touch() })
      const journal = new Journal(fileDb, { writes })
      journal.recordQueued(task('t1'), T0)
      journal.deferFinished('t1', 'ok', {}, T0 + 1)
      writes.flush()
      await waitFor('the thread to start again', () => checkpointer.running)
      expect(autocheckpoint()).toBe(0)
      await checkpointer.stop()
      expect(checkpointer.running).toBe(false)
      fileDb.close()
    } finally {
      await cleanup()
    }
  })

  it('lists recent tasks newest first', () => {
    const journal = new Journal(db)
    for (let i = 0; i < 5; i++) journal.recordQueued(task(`t${i}`), T0 + i)
    expect(journal.recent(3).map((t) => t.id)).toEqual(['t4', 't3', 't2'])
  })

  it('prunes the oldest finished rows beyond the bound, keeping in-flight and unexpired ones', () => {
    const journal = new Journal(db)
    for (let i = 0; i < 10; i++) {
      journal.recordQueued(task(`t${i}`, { deadline: i === 0 ? T0 + 100 : T0 + i }), T0 + i)
      if (i !== 2) journal.recordFinished(`t${i}`, 'ok', {}, T0 + i)
    }
    // t2 is still queued; t0's deadline has not passed yet, so a replay of it must still be recognised
    expect(journal.prune(3, T0 + 8)).toBe(5)
    expect(
      journal
        .recent(20)
        .map((t) => t.id)
        .sort(),
    ).toEqual(['t0', 't2', 't7', 't8', 't9'])
  })

  it('bounds itself while tasks keep arriving', () => {
    const journal = new Journal(db, { maxRows: 20, pruneEvery: 10 })
    for (let i = 0; i < 200; i++) {
      journal.recordQueued(task(`t${i}`, { deadline: T0 }), T0 + 1 + i)
      journal.recordFinished(`t${i}`, 'ok', {}, T0 + 1 + i)
    }
    const rows = (db.prepare('SELECT count(*) AS n FROM tasks').get() as { n: number }).n
    expect(rows).toBeLessThanOrEqual(30)
    expect(journal.get('t199')?.status).toBe('ok')
  })
})
