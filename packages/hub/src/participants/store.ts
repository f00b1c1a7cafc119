/**
 * The participant registry table: one row per processor with its public keys and routing prefix.
 */
import { migrate, type Db } from '@semops/node';
import type { Participant } from '@semops/protocol';

interface ParticipantRow {
  id: string;
  name: string;
  kind: 'bank' | 'mno';
  base_url: string;
  currencies: string;
  routing_prefix: string;
  signing_key: string;
  encryption_key: string;
}

export interface ParticipantStore {
  all(): Participant[];
  /** Inserts or updates; returns true when the participant is new. Run inside a transaction. */
  upsert(p: Participant, now: number): boolean;
  /** The id of the participant holding a routing prefix, if any. */
  prefixOwner(prefix: string): string | undefined;
}

function toParticipant(r: ParticipantRow): Participant {
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

export function createParticipantStore(db: Db): ParticipantStore {
  migrate(db, 'hub-participants', [
    `CREATE TABLE participants (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       kind TEXT NOT NULL CHECK (kind IN ('bank', 'mno')),
       base_url TEXT NOT NULL,
       currencies TEXT NOT NULL,
       routing_prefix TEXT NOT NULL UNIQUE,
       signing_key TEXT NOT NULL,
       encryption_key TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     )`,
  ]);
  const selectAll = db.prepare<[], ParticipantRow>('SELECT * FROM participants ORDER BY id');
  const exists = db.prepare<[string], { id: string }>('SELECT id FROM participants WHERE id = ?');
  const byPrefix = db.prepare<[string], { id: string }>(
    'SELECT id FROM participants WHERE routing_prefix = ?',
  );
  const insert = db.prepare(
    `INSERT INTO participants (id, name, kind, base_url, currencies, routing_prefix, signing_key, encryption_key,
       created_at, updated_at)
     VALUES (@id, @name, @kind, @baseUrl, @currencies, @routingPrefix, @signingKey, @encryptionKey, @now, @now)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, base_url = excluded.base_url,
       currencies = excluded.currencies, routing_prefix = excluded.routing_prefix,
       signing_key = excluded.signing_key, encryption_key = excluded.encryption_key, updated_at = excluded.updated_at`,
  );
  return {
    all: () => selectAll.all().map(toParticipant),
    upsert(p, now) {
      const created = exists.get(p.id) === undefined;
      insert.run({
        id: p.id,
        name: p.name,
        kind: p.kind,
        baseUrl: p.baseUrl,
        currencies: JSON.stringify(p.currencies),
        routingPrefix: p.routingPrefix,
        signingKey: JSON.stringify(p.signingKey),
        encryptionKey: JSON.stringify(p.encryptionKey),
        now,
      });
      return created;
    },
    prefixOwner: (prefix) => byPrefix.get(prefix)?.id,
  };
}
