/**
 * The alias directory: blinded alias (HMAC of a phone number or address, 64 hex) → processor id. The hub
 * never sees the phone number itself.
 */
import { chunks, type HubDb } from '../shared/schema.js';

export interface DirectoryStore {
  /** Points every alias (distinct) at `processorId` in `tx`, moving aliases registered by another processor. */
  register(tx: HubDb, aliases: readonly string[], processorId: string, now: number): Promise<void>;
  lookup(alias: string): Promise<string | undefined>;
}

export function createDirectoryStore(db: HubDb): DirectoryStore {
  return {
    async register(tx, aliases, processorId, now) {
      for (const part of chunks(aliases)) {
        await tx
          .insertInto('directory')
          .values(part.map((alias) => ({ alias, processor_id: processorId, updated_at: now })))
          .onConflict((oc) =>
            oc
              .column('alias')
              .doUpdateSet((eb) => ({
                processor_id: eb.ref('excluded.processor_id'),
                updated_at: eb.ref('excluded.updated_at'),
              }))
              .whereRef('directory.processor_id', '<>', 'excluded.processor_id'),
          )
          .execute();
      }
    },

    async lookup(alias) {
      const row = await db
        .selectFrom('directory')
        .select('processor_id')
        .where('alias', '=', alias)
        .executeTakeFirst();
      return row?.processor_id;
    },
  };
}
