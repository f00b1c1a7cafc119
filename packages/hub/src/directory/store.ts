/**
 * The alias directory: blinded alias (HMAC of a phone number or address, 64 hex) → processor id. The hub
 * never sees the phone number itself.
 */
import { migrate, type Db } from '@semops/node';

export interface DirectoryStore {
  /** Points every alias at `processorId`, moving aliases registered by another processor. */
  register(aliases: readonly string[], processorId: string, now: number): void;
  lookup(alias: string): string | undefined;
}

export function createDirectoryStore(db: Db): DirectoryStore {
  migrate(db, 'hub-directory', [
    `CREATE TABLE directory (
       alias TEXT PRIMARY KEY CHECK (length(alias) = 64),
       processor_id TEXT NOT NULL,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
  ]);
  const upsert = db.prepare(
    `INSERT INTO directory (alias, processor_id, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (alias) DO UPDATE SET processor_id = excluded.processor_id, updated_at = excluded.updated_at
     WHERE processor_id <> excluded.processor_id`,
  );
  const select = db.prepare<[string], { processor_id: string }>(
    'SELECT processor_id FROM directory WHERE alias = ?',
  );
  return {
    register(aliases, processorId, now) {
      for (const alias of aliases) upsert.run(alias, processorId, now);
    },
    lookup: (alias) => select.get(alias)?.processor_id,
  };
}
