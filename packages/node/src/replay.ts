/**
 * Remembers message ids until they expire so that each signed message is accepted once. Ids live in memory
 * and are written behind to SQLite every `flushMs` in one transaction (so checking a message costs no fsync);
 * on start the unexpired ids are loaded back. Every handler is also idempotent by its business id (a payment
 * id, a nonce), so a message replayed within the last flush window after a crash still moves no money twice.
 */
import type { ReplayGuard } from '@semops/protocol';
import type { Db } from './sqlite.js';
import { migrate } from './sqlite.js';

export interface PersistentReplayGuard extends ReplayGuard {
  close(): void;
}

export function createReplayGuard(
  db: Db,
  opts: { flushMs?: number; now?: () => number } = {},
): PersistentReplayGuard {
  migrate(db, 'replay', [
    'CREATE TABLE seen_messages (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID',
  ]);
  const now = opts.now ?? Date.now;
  const seen = new Map<string, number>();
  for (const row of db
    .prepare('SELECT id, expires_at FROM seen_messages WHERE expires_at > ?')
    .all(now()) as Array<{
    id: string;
    expires_at: number;
  }>) {
    seen.set(row.id, row.expires_at);
  }
  let pending: Array<[string, number]> = [];
  const insert = db.prepare('INSERT OR IGNORE INTO seen_messages (id, expires_at) VALUES (?, ?)');
  const purge = db.prepare('DELETE FROM seen_messages WHERE expires_at <= ?');
  const flush = db.transaction((rows: Array<[string, number]>, t: number) => {
    for (const [id, exp] of rows) insert.run(id, exp);
    purge.run(t);
  });
  const timer = setInterval(() => {
    const t = now();
    for (const [id, exp] of seen) if (exp <= t) seen.delete(id);
    if (pending.length === 0) return;
    const rows = pending;
    pending = [];
    flush(rows, t);
  }, opts.flushMs ?? 100);
  timer.unref();
  return {
    remember(id, expiresAt) {
      if (seen.has(id)) return false;
      seen.set(id, expiresAt);
      pending.push([id, expiresAt]);
      return true;
    },
    close() {
      clearInterval(timer);
      if (pending.length > 0) flush(pending, now());
      pending = [];
    },
  };
}
