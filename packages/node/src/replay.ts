/**
 * Remembers message ids until they expire so that each signed message is accepted once. Ids live in memory
 * and are written behind to the node's store every `flushMs` in one transaction (so checking a message costs
 * no round trip); on start the unexpired ids are loaded back. Every handler is also idempotent by its
 * business id (a payment id, a nonce), so a message replayed within the last flush window after a crash
 * still moves no money twice.
 */
import type { Migration } from 'kysely';
import type { ReplayGuard } from '@semops/protocol';
import { migrateStore, type Store } from './store.js';

export interface PersistentReplayGuard extends ReplayGuard {
  close(): Promise<void>;
}

const MIGRATIONS: Record<string, Migration> = {
  '0001_seen_messages': {
    async up(db) {
      await db.schema
        .createTable('seen_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('seen_messages_expiry').on('seen_messages').column('expires_at').execute();
    },
  },
};

export async function createReplayGuard(
  store: Store,
  opts: { flushMs?: number; now?: () => number } = {},
): Promise<PersistentReplayGuard> {
  await migrateStore(store, 'replay', MIGRATIONS);
  const { db } = store;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, number>();
  const rows = await db
    .selectFrom('seen_messages')
    .select(['id', 'expires_at'])
    .where('expires_at', '>', now())
    .execute();
  for (const r of rows as Array<{ id: string; expires_at: number | string }>)
    seen.set(r.id, Number(r.expires_at));
  let pending: Array<{ id: string; expires_at: number }> = [];
  let flushing: Promise<void> = Promise.resolve();

  const flush = async () => {
    const t = now();
    for (const [id, exp] of seen) if (exp <= t) seen.delete(id);
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    // Single statements, no transaction held across awaits: on SQLite the connection is shared with the
    // ledger's synchronous group commit.
    for (let i = 0; i < batch.length; i += 500) {
      await db
        .insertInto('seen_messages')
        .values(batch.slice(i, i + 500))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    await db.deleteFrom('seen_messages').where('expires_at', '<=', t).execute();
  };
  const timer = setInterval(() => {
    flushing = flushing.then(flush).catch(() => undefined);
  }, opts.flushMs ?? 100);
  timer.unref();
  return {
    remember(id, expiresAt) {
      if (seen.has(id)) return false;
      seen.set(id, expiresAt);
      pending.push({ id, expires_at: expiresAt });
      return true;
    },
    async close() {
      clearInterval(timer);
      await flushing;
      await flush().catch(() => undefined);
    },
  };
}
