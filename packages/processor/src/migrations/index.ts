/**
 * The processor's migrations, applied in name order once each (recorded in `processor_migrations`). A change
 * of schema after the baseline is a new file `0002_…` here, never an edit of one that ran.
 */
import { sql } from 'kysely';
import { ddl, migrateStore, type AnyDb, type Store } from '@semops/node';
import { baseline } from './0001_baseline.js';
import { channelSend } from './0002_channel_send.js';

/** Runs a script of `;`-terminated statements one by one (SQLite prepares one statement at a time). */
async function script(db: AnyDb, text: string): Promise<void> {
  const statements = text
    .split(/;\s*\n/)
    .map((st) => st.replace(/^\s*--.*$/gm, '').trim())
    .filter((st) => st.length > 0);
  for (const st of statements) await sql.raw(st).execute(db);
}

/** Creates or upgrades the processor's tables on SQLite or PostgreSQL. */
export async function migrateProcessor(store: Store): Promise<void> {
  const d = ddl(store.engine);
  await migrateStore(store, 'processor', {
    '0001_baseline': { up: (db) => script(db, baseline(d)) },
    '0002_channel_send': { up: (db) => script(db, channelSend) },
  });
}
