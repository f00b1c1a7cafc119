/**
 * The node's ledger on the engine of its store: the SQLite ledger on the store's connection (committing
 * inside the store's lock), or the PostgreSQL ledger in the store's schema with a pool of its own.
 */
import { createPostgresLedger, createSqliteLedger, type Ledger } from '@semops/ledger';
import type { Store } from './store.js';
import { fatal } from './sql.js';

/** `onBatch`: told how many jobs each of the ledger's own group commits holds (the node's metrics). */
export async function createLedgerFor(
  store: Store,
  opts: { onBatch?: (jobs: number) => void } = {},
): Promise<Ledger> {
  if (store.sqlite) {
    return createSqliteLedger({
      db: store.sqlite,
      ...opts,
      exclusive: (fn) => store.exclusive(fn),
      // An fsync that fails stops the node (see `fatal`): nothing settles on a commit that may be lost.
      ...(store.durable ? { durable: () => store.durable!().catch(fatal) } : {}),
    });
  }
  if (!store.pg) throw new Error('The store has neither a SQLite connection nor a PostgreSQL pool.');
  return createPostgresLedger({ pool: store.pg.url, schema: store.pg.schema, ...opts });
}
