import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Migration } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateStore, openStore, type Store } from './store.js';

describe('migrateStore', () => {
  let dir: string;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies each migration once, and refuses a database from an older chain with a way out', async () => {
    dir = mkdtempSync(join(tmpdir(), 'semops-migrate-'));
    store = await openStore({ dataDir: dir, name: 'node' });
    let runs = 0;
    const first: Record<string, Migration> = {
      '0001_core': {
        up: async (db) => {
          runs += 1;
          await sql`CREATE TABLE things (id TEXT PRIMARY KEY)`.execute(db);
        },
      },
    };
    await migrateStore(store, 'demo', first);
    await migrateStore(store, 'demo', first);
    expect(runs).toBe(1);
    // The chain was squashed into another baseline: this database cannot be upgraded, and says why.
    const squashed = { '0001_baseline': { up: async () => undefined } };
    await expect(migrateStore(store, 'demo', squashed)).rejects.toThrow(
      /holds demo tables of a pre-release SEMOPS \(migration 0001_core is missing\).*Move it away/,
    );
  });
});
