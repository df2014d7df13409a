/**
 * The node's one SQLite file (node:sqlite: built into Node 24, no native addon, works inside the single
 * binary). WAL mode; the schema version lives in `PRAGMA user_version` and each plane's tables are added by
 * numbered migrations, applied in order inside a transaction.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { KithError } from '../util/errors.ts'

export type Database = DatabaseSync

/** Migration N (1-based) takes the schema from version N-1 to N. Append only; never edit a shipped one. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE peers (
     peer_id   TEXT PRIMARY KEY,
     addrs     TEXT NOT NULL,
     last_seen INTEGER NOT NULL
   );
   CREATE INDEX peers_last_seen ON peers (last_seen DESC);`,
  `CREATE TABLE kv (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // execution plane: the task journal (src/execution/journal.ts) and reciprocity (src/execution/reciprocity.ts)
  `CREATE TABLE tasks (
     id          TEXT PRIMARY KEY,
     direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
     peer        TEXT NOT NULL,
     cap         TEXT NOT NULL,
     status      TEXT NOT NULL CHECK (status IN
                   ('queued', 'running', 'ok', 'error', 'busy', 'denied', 'timeout', 'interrupted')),
     input_hash  TEXT,
     output_hash TEXT,
     error       TEXT,
     created_at  INTEGER NOT NULL,
     started_at  INTEGER,
     ended_at    INTEGER,
     deadline    INTEGER NOT NULL,
     attempts    INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX tasks_in_flight ON tasks (status) WHERE status IN ('queued', 'running');
   CREATE INDEX tasks_created ON tasks (created_at DESC);
   CREATE INDEX tasks_peer ON tasks (peer, created_at DESC);
   CREATE TABLE reciprocity (
     peer       TEXT PRIMARY KEY,
     served_us  INTEGER NOT NULL DEFAULT 0,
     we_served  INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX reciprocity_updated ON reciprocity (updated_at DESC);`,
  // trust plane: local reputation records per peer, topic and outcome kind (src/trust/reputation/records.ts)
  `CREATE TABLE reputation (
     peer   TEXT NOT NULL,
     topic  TEXT NOT NULL,
     kind   TEXT NOT NULL,
     weight REAL NOT NULL,
     count  INTEGER NOT NULL,
     at     INTEGER NOT NULL,
     PRIMARY KEY (peer, topic, kind)
   ) WITHOUT ROWID;`,
]

/** The database was written by a newer kith: this one would misread it, so it refuses to open it. */
export class DatabaseVersionError extends KithError {
  static override readonly code = 'database_too_new'
  constructor(file: string, found: number) {
    super(
      `${file}: schema version ${found} is newer than this kith understands (${MIGRATIONS.length}); upgrade kith`,
    )
    this.name = 'DatabaseVersionError'
  }
}

/**
 * Opens (creating if needed) the database at `file` and migrates it to the current schema.
 *
 * @example
 * const db = openDatabase(':memory:')
 * db.prepare('SELECT count(*) AS n FROM peers').get() // { n: 0 }
 */
export function openDatabase(file: string): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new DatabaseSync(file)
  try {
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;',
    )
    migrate(db, file)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

function migrate(db: Database, file: string): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number }
  const current = row.user_version
  if (current > MIGRATIONS.length) throw new DatabaseVersionError(file, current)
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(MIGRATIONS[v] as string)
      db.exec(`PRAGMA user_version = ${v + 1}`)
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw err
    }
  }
}

/** The schema version of an open database. */
export function schemaVersion(db: Database): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
}
