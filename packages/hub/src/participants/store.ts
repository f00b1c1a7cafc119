/**
 * The participant registry table: one row per processor with its public keys (the current one and its
 * history), routing prefix and pinned TLS certificate.
 */
import type { Selectable } from 'kysely';
import type { Participant, PublishedKey } from '@semops/protocol';
import type { HubDb, ParticipantsTable } from '../shared/schema.js';

/** A stored participant and its signing keys, current first (undefined for a row from before rotation). */
export interface StoredParticipant {
  readonly participant: Participant;
  readonly keys: PublishedKey[] | undefined;
}

export interface ParticipantStore {
  all(): Promise<StoredParticipant[]>;
  /** Inserts or updates in `tx` with its signing keys; returns true when the participant is new. */
  upsert(tx: HubDb, p: Participant, keys: readonly PublishedKey[], now: number): Promise<boolean>;
  /** Replaces a participant's signing keys (a rotation or retirement): `keys[0]` is the current key. */
  saveKeys(tx: HubDb, id: string, keys: readonly PublishedKey[], now: number): Promise<void>;
  /** The id of the participant holding a routing prefix, if any (read in `tx` when given). */
  prefixOwner(prefix: string, tx?: HubDb): Promise<string | undefined>;
}

function toStored(r: Selectable<ParticipantsTable>): StoredParticipant {
  return {
    participant: {
      id: r.id,
      name: r.name,
      kind: r.kind,
      baseUrl: r.base_url,
      currencies: JSON.parse(r.currencies) as string[],
      routingPrefix: r.routing_prefix,
      signingKey: JSON.parse(r.signing_key) as Participant['signingKey'],
      encryptionKey: JSON.parse(r.encryption_key) as Participant['encryptionKey'],
      ...(r.tls_cert_sha256 ? { tlsCertSha256: r.tls_cert_sha256 } : {}),
    },
    keys: r.signing_keys === null ? undefined : (JSON.parse(r.signing_keys) as PublishedKey[]),
  };
}

export function createParticipantStore(db: HubDb): ParticipantStore {
  return {
    async all() {
      const rows = await db.selectFrom('participants').selectAll().orderBy('id').execute();
      return rows.map(toStored);
    },

    async upsert(tx, p, keys, now) {
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
          signing_keys: JSON.stringify(keys),
          tls_cert_sha256: p.tlsCertSha256 ?? null,
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
            signing_keys: eb.ref('excluded.signing_keys'),
            tls_cert_sha256: eb.ref('excluded.tls_cert_sha256'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
      return existing === undefined;
    },

    async saveKeys(tx, id, keys, now) {
      await tx
        .updateTable('participants')
        .set({
          signing_key: JSON.stringify(keys[0]!.key),
          signing_keys: JSON.stringify(keys),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
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
