/**
 * Opening a node's SQLite database: WAL journal, foreign keys, busy timeout, and durable commits — either
 * SQLite's own fsync on every commit (`synchronous = FULL`, which blocks the event loop for the fsync), or
 * commits that only write the WAL (`NORMAL`) made durable by `createWalSync`, which fsyncs the WAL file on
 * libuv's thread pool and lets every commit made before it share one fsync (group commit off the event loop).
 */
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openSqlite(path: string, opts: { walSync?: boolean } = {}): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // With walSync the caller makes commits durable by `createWalSync` before acting on them.
  db.pragma(opts.walSync ? 'synchronous = NORMAL' : 'synchronous = FULL');
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

/**
 * Durability for a database opened with `walSync`: `sync()` resolves once every commit made before the call
 * is on disk. It fsyncs the WAL file (the pages of a commit in WAL mode) off the event loop; calls that arrive
 * while an fsync runs share the next one, so one fsync serves every commit of a busy moment.
 */
export function createWalSync(path: string): { sync(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  let running: Promise<void> | undefined;
  let waiting: Promise<void> | undefined;
  const fsyncWal = async (): Promise<void> => {
    handle ??= open(`${path}-wal`, 'r');
    await (await handle).sync();
  };
  const start = (): Promise<void> => {
    const p = fsyncWal().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return {
    sync() {
      if (running === undefined) return start();
      // An fsync is under way and may have started before this caller's commit: wait for the next one.
      waiting ??= running
        .catch(() => undefined)
        .then(() => {
          waiting = undefined;
          return running ?? start();
        });
      return waiting;
    },
    async close() {
      await running?.catch(() => undefined);
      if (handle) await (await handle).close();
    },
  };
}
