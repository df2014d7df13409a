/** A small persistent key/value table for counters that must survive restarts (e.g. the descriptor seq). */
import type { Database } from './database.ts'

export class KeyValue {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  get(key: string): string | undefined {
    const row = this.#db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as
      { value: string } | undefined
    return row?.value
  }

  set(key: string, value: string): void {
    this.#db
      .prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value)
  }
}
