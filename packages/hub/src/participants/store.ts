/**
 * The participant registry table: one row per processor with its public keys and routing prefix.
 */
import type { Selectable } from 'kysely';
import type { Participant } from '@semops/protocol';
import type { HubDb, ParticipantsTable } from '../shared/schema.js';

export interface ParticipantStore {
  all(): Promise<Participant[]>;
  /** Inserts or updates in `tx`; returns true when the participant is new. */
  upsert(tx: HubDb, p: Participant, now: number): Promise<boolean>;
  /** The id of the participant holding a routing prefix, if any (read in `tx` when given). */
  prefixOwner(prefix: string, tx?: HubDb): Promise<string | undefined>;
}

function toParticipant(r: Selectable<ParticipantsTable>): Participant {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    baseUrl: r.base_url,
    currencies: JSON.parse(r.currencies) as string[],
    routingPrefix: r.routing_prefix,
    signingKey: JSON.parse(r.signing_key) as Participant['signingKey'],
    encryptionKey: JSON.parse(r.encryption_key) as Participant['encryptionKey'],
  };
}

export function createParticipantStore(db: HubDb): ParticipantStore {
  return {
    async all() {
      const rows = await db.selectFrom('participants').selectAll().orderBy('id').execute();
      return rows.map(toParticipant);
    },

    async upsert(tx, p, now) {
      const existing = await tx
        .selectFrom('participants')
        .select('id')
        .where('id', '=', p.id)
        .executeTakeFirst();
      await tx
        .insertInto('participants')
        .values({
          id: p.id,
          name: p.name,
          kind: p.kind,
          base_url: p.baseUrl,
          currencies: JSON.stringify(p.currencies),
          routing_prefix: p.routingPrefix,
          signing_key: JSON.stringify(p.signingKey),
          encryption_key: JSON.stringify(p.encryptionKey),
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            kind: eb.ref('excluded.kind'),
            base_url: eb.ref('excluded.base_url'),
            currencies: eb.ref('excluded.currencies'),
            routing_prefix: eb.ref('excluded.routing_prefix'),
            signing_key: eb.ref('excluded.signing_key'),
            encryption_key: eb.ref('excluded.encryption_key'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
      return existing === undefined;
    },

    async prefixOwner(prefix, tx = db) {
      const row = await tx
        .selectFrom('participants')
        .select('id')
        .where('routing_prefix', '=', prefix)
        .executeTakeFirst();
      return row?.id;
    },
  };
}
