/**
 * The hub's tables, one numbered Kysely migration each, in portable DDL that runs on SQLite and on
 * PostgreSQL: text, bigint epoch milliseconds, decimal-text amounts, 0/1 integer flags. The ledger's tables
 * are the ledger's own (`@semops/ledger`).
 */
import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';
import { migrateStore, type Engine, type Store } from '@semops/node';

/** A bigint column of epoch milliseconds: PostgreSQL returns BIGINT as a string, so read it with `millis`. */
type Millis = ColumnType<number | string, number, number>;

export interface ParticipantsTable {
  id: string;
  name: string;
  kind: 'bank' | 'mno';
  base_url: string;
  /** JSON array of ISO 4217 codes. */
  currencies: string;
  routing_prefix: string;
  /** Public JWKs as JSON. */
  signing_key: string;
  encryption_key: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface DirectoryTable {
  /** Blinded alias: 64 hex digits. */
  alias: string;
  processor_id: string;
  updated_at: Millis;
}

export type HubTransferState = 'RESERVED' | 'COMMITTED' | 'ABORTED';

export interface TransfersTable {
  transfer_id: string;
  request_id: string;
  /** The original payment a refund pays back (null for a payment). */
  refund_of: ColumnType<string | null, string | null | undefined, string | null>;
  payer: string;
  payee: string;
  /** Decimal minor units. */
  amount: string;
  currency: string;
  expires_at: Millis;
  state: HubTransferState;
  reason: string | null;
  receipt: string | null;
  content_hash: string;
  /** 1 once the ledger has posted or voided the reservation of a final transfer. */
  ledger_done: ColumnType<number, number | undefined, number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface OutboxTable {
  /** BIGINT on PostgreSQL, so a string there. */
  seq: Generated<number | string>;
  processor_id: string;
  transfer_id: string;
  state: 'COMMITTED' | 'ABORTED';
  reason: string | null;
  created_at: Millis;
}

export interface HubTables {
  participants: ParticipantsTable;
  directory: DirectoryTable;
  transfers: TransfersTable;
  outbox: OutboxTable;
}

/** The hub's database, or a transaction on it. */
export type HubDb = Kysely<HubTables>;

/** Reads a bigint column (a string on PostgreSQL) as a number. */
export const millis = (v: number | string): number => Number(v);

/**
 * The migrations, in order. Tables are created only when missing: a hub database made before these
 * migrations existed already holds them, in the same shape.
 */
export function hubMigrations(engine: Engine): Record<string, Migration> {
  return {
    '0001_participants': {
      async up(db) {
        await db.schema
          .createTable('participants')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('bank', 'mno')`))
          .addColumn('base_url', 'text', (c) => c.notNull())
          .addColumn('currencies', 'text', (c) => c.notNull())
          .addColumn('routing_prefix', 'text', (c) => c.notNull().unique())
          .addColumn('signing_key', 'text', (c) => c.notNull())
          .addColumn('encryption_key', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_directory': {
      async up(db) {
        await db.schema
          .createTable('directory')
          .ifNotExists()
          .addColumn('alias', 'text', (c) => c.primaryKey().check(sql`length(alias) = 64`))
          .addColumn('processor_id', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0003_transfers': {
      async up(db) {
        await db.schema
          .createTable('transfers')
          .ifNotExists()
          .addColumn('transfer_id', 'text', (c) => c.primaryKey())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('payer', 'text', (c) => c.notNull())
          .addColumn('payee', 'text', (c) => c.notNull())
          .addColumn('amount', 'text', (c) => c.notNull().check(sql`length(amount) BETWEEN 1 AND 19`))
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) =>
            c.notNull().check(sql`state IN ('RESERVED', 'COMMITTED', 'ABORTED')`),
          )
          .addColumn('reason', 'text')
          .addColumn('receipt', 'text')
          .addColumn('content_hash', 'text', (c) => c.notNull())
          .addColumn('ledger_done', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addCheckConstraint('transfers_two_parties', sql`payer <> payee`)
          .addCheckConstraint(
            'transfers_commit_has_receipt',
            sql`state <> 'COMMITTED' OR receipt IS NOT NULL`,
          )
          .execute();
        // The expiry timer's scan and the ledger catch-up's scan touch only the few rows they need.
        await db.schema
          .createIndex('transfers_reserved')
          .ifNotExists()
          .on('transfers')
          .column('expires_at')
          .where(sql.ref('state'), '=', 'RESERVED')
          .execute();
        await db.schema
          .createIndex('transfers_ledger_behind')
          .ifNotExists()
          .on('transfers')
          .column('updated_at')
          .where(sql<boolean>`ledger_done = 0 AND state IN ('COMMITTED', 'ABORTED')`)
          .execute();
      },
    },
    '0005_refunds': {
      async up(db) {
        await db.schema.alterTable('transfers').addColumn('refund_of', 'text').execute();
      },
    },
    '0004_outbox': {
      async up(db) {
        await db.schema
          .createTable('outbox')
          .ifNotExists()
          // SQLite: an INTEGER PRIMARY KEY is the rowid, numbered on insert; PostgreSQL: an identity.
          .addColumn('seq', engine === 'postgres' ? 'bigint' : 'integer', (c) =>
            engine === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
          )
          .addColumn('processor_id', 'text', (c) => c.notNull())
          .addColumn('transfer_id', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('COMMITTED', 'ABORTED')`))
          .addColumn('reason', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('outbox_by_processor')
          .ifNotExists()
          .on('outbox')
          .columns(['processor_id', 'seq'])
          .execute();
      },
    },
  };
}

/** Applies the hub's migrations to its store and returns its tables, typed. */
export async function migrateHub(store: Store): Promise<HubDb> {
  await migrateStore(store, 'hub', hubMigrations(store.engine));
  return store.db as HubDb;
}

/** Splits `items` into runs of at most `size`, to bound the parameters of one statement. */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
