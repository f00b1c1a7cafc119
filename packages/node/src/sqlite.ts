/**
 * Opening a node's SQLite database: WAL journal, full fsync on commit, foreign keys, busy timeout.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openSqlite(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Applies numbered migrations once each, recorded in `schema_migrations(name, version)`. */
export function migrate(db: Db, name: string, steps: readonly string[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, version))',
  );
  const done = new Set(
    (
      db.prepare('SELECT version FROM schema_migrations WHERE name = ?').all(name) as Array<{
        version: number;
      }>
    ).map((r) => r.version),
  );
  steps.forEach((sql, i) => {
    if (done.has(i + 1)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (name, version) VALUES (?, ?)').run(name, i + 1);
    })();
  });
}
