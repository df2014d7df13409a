import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DatabaseVersionError, MIGRATIONS, openDatabase, schemaVersion } from '../../src/store/database.ts'
import { PeerCache } from '../../src/store/peer-cache.ts'
import { tempDir } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

describe('database', () => {
  it('creates a WAL database at the current schema version and reopens it unchanged', () => {
    const file = join(dir, 'sub', 'kith.db')
    const db = openDatabase(file)
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal')
    db.close()
    const again = openDatabase(file)
    expect(schemaVersion(again)).toBe(MIGRATIONS.length)
    again.close()
  })

  it('refuses a database written by a newer kith', () => {
    const file = join(dir, 'kith.db')
    const raw = new DatabaseSync(file)
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`)
    raw.close()
    expect(() => openDatabase(file)).toThrow(DatabaseVersionError)
  })
})

describe('PeerCache', () => {
  it('keeps only the most recently seen peers up to its limit', () => {
    const db = openDatabase(':memory:')
    const cache = new PeerCache(db, 2)
    cache.remember('a', ['/ip4/127.0.0.1/tcp/1'], 1)
    cache.remember('b', ['/ip4/127.0.0.1/tcp/2'], 2)
    cache.remember('c', ['/ip4/127.0.0.1/tcp/3'], 3)
    cache.remember('b', ['/ip4/127.0.0.1/tcp/22'], 4)
    expect(cache.list().map((p) => [p.peerId, p.addrs[0]])).toEqual([
      ['b', '/ip4/127.0.0.1/tcp/22'],
      ['c', '/ip4/127.0.0.1/tcp/3'],
    ])
    db.close()
  })

  it('bounds the addresses kept per peer and ignores peers without usable addresses', () => {
    const db = openDatabase(':memory:')
    const cache = new PeerCache(db, 10)
    cache.remember(
      'a',
      Array.from({ length: 20 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`),
    )
    cache.remember('b', ['x'.repeat(1000)])
    expect(cache.list()).toHaveLength(1)
    expect(cache.list()[0]?.addrs).toHaveLength(8)
    cache.forget('a')
    expect(cache.list()).toHaveLength(0)
    db.close()
  })
})
