/**
 * The hub's tables, one numbered Kysely migration each, in portable DDL that runs on SQLite and on
 * PostgreSQL: text, bigint epoch milliseconds, decimal-text amounts, 0/1 integer flags. The ledger's tables
 * are the ledger's own (`@semops/ledger`).
 */
import { PostgresAdapter, sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';
import { migrateStore, type Engine, type Store } from '@semops/node';
import { newId } from '@semops/protocol';

/** A bigint column of epoch milliseconds: PostgreSQL returns BIGINT as a string, so read it with `millis`. */
type Millis = ColumnType<number | string, number, number>;
/** A nullable column added by a later migration (optional on insert). */
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

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
  /**
   * JSON array of the participant's signing keys, current first, each `{ kid, key, since, until? }`
   * (`PublishedKey`); null for a row from before rotation (its one key is `signing_key`).
   */
  signing_keys: Nullable<string>;
  /** Pinned SHA-256 fingerprint of its TLS certificate (64 lowercase hex digits), if any. */
  tls_cert_sha256: Nullable<string>;
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
  /** What the payer said the transfer pays for (`purchase`, `p2p`); null when it did not say (p2p). */
  purpose: Nullable<'purchase' | 'p2p'>;
  /** The hub's fees, fixed at prepare (decimal minor units of `currency`); null when none apply. */
  fee_msc: Nullable<string>;
  fee_interchange: Nullable<string>;
  /**
   * The payer's conversion as JSON (`{ source, margin, fee?, rate }`, as `TransferPrepare.fx`), for the
   * settlement report; null if none.
   */
  fx: Nullable<string>;
  /** The settlement window the transfer committed in (set in the same UPDATE as COMMITTED). */
  window_id: Nullable<string>;
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

/** One row per fee schedule entry; the whole schedule is replaced at once. */
export interface FeeScheduleTable {
  /** A processor id or `*`. */
  payee: string;
  /** An ISO 4217 code or `*`. */
  currency: string;
  msc_bps: number;
  /** Decimal minor units. */
  msc_fixed: string;
  interchange_bps: number;
  updated_at: Millis;
}

export type WindowState = 'OPEN' | 'CLOSED';

/** Settlement windows: exactly one OPEN (a partial unique index), the others CLOSED with their report. */
export interface SettlementWindowsTable {
  window_id: string;
  /** 1, 2, 3, … in the order the windows opened. */
  seq: number;
  state: WindowState;
  opened_at: Millis;
  closed_at: Nullable<number | string>;
  /** Committed transfers of the window, counted when it closed. */
  transfers: Nullable<number>;
}

/** A closed window's report: one row per processor and currency, amounts in decimal minor units. */
export interface SettlementPositionsTable {
  window_id: string;
  processor_id: string;
  currency: string;
  sent: string;
  received: string;
  interchange_paid: string;
  interchange_received: string;
  msc: string;
  fx_margin: string;
  /** The converting payer's conversion fee, in its customers' currency (added by 0008; '0' before). */
  fx_fee: ColumnType<string, string | undefined, string>;
  transfers: number;
  /** Signed: positive receives, negative pays. */
  net: string;
  /** When the hub's ledger booked the settlement (`stl` ↔ `liq`); null while still to do. */
  booked_at: Nullable<number | string>;
}

/** `settlement.notice` deliveries: one per processor with transfers in a closed window, until acknowledged. */
export interface SettlementNoticesTable {
  window_id: string;
  processor_id: string;
  attempts: number;
  next_at: Millis;
  delivered_at: Nullable<number | string>;
  last_error: Nullable<string>;
}

export interface HubTables {
  participants: ParticipantsTable;
  directory: DirectoryTable;
  transfers: TransfersTable;
  outbox: OutboxTable;
  fee_schedule: FeeScheduleTable;
  settlement_windows: SettlementWindowsTable;
  settlement_positions: SettlementPositionsTable;
  settlement_notices: SettlementNoticesTable;
}

/** The hub's database, or a transaction on it. */
export type HubDb = Kysely<HubTables>;

/** Reads a bigint column (a string on PostgreSQL) as a number. */
export const millis = (v: number | string): number => Number(v);

/** The engine behind a hub database (for the few statements that differ, such as row locks). */
export function engineOf(db: HubDb): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

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
    '0006_fee_schedule': {
      async up(db) {
        await db.schema
          .createTable('fee_schedule')
          .ifNotExists()
          .addColumn('payee', 'text', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('msc_bps', 'integer', (c) => c.notNull().check(sql`msc_bps BETWEEN 0 AND 10000`))
          .addColumn('msc_fixed', 'text', (c) => c.notNull())
          .addColumn('interchange_bps', 'integer', (c) =>
            c.notNull().check(sql`interchange_bps BETWEEN 0 AND 10000`),
          )
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('fee_schedule_pk', ['payee', 'currency'])
          .execute();
      },
    },
    '0007_settlement': {
      async up(db) {
        for (const column of ['purpose', 'fee_msc', 'fee_interchange', 'fx', 'window_id']) {
          await db.schema.alterTable('transfers').addColumn(column, 'text').execute();
        }
        await db.schema
          .createIndex('transfers_by_window')
          .ifNotExists()
          .on('transfers')
          .columns(['window_id', 'transfer_id'])
          .execute();
        await db.schema
          .createTable('settlement_windows')
          .ifNotExists()
          .addColumn('window_id', 'text', (c) => c.primaryKey())
          .addColumn('seq', 'integer', (c) => c.notNull().unique())
          .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('OPEN', 'CLOSED')`))
          .addColumn('opened_at', 'bigint', (c) => c.notNull())
          .addColumn('closed_at', 'bigint')
          .addColumn('transfers', 'integer')
          .addCheckConstraint('settlement_windows_closed', sql`(state = 'OPEN') = (closed_at IS NULL)`)
          .execute();
        // At most one OPEN window, whatever races between hub instances.
        await db.schema
          .createIndex('settlement_windows_one_open')
          .ifNotExists()
          .unique()
          .on('settlement_windows')
          .column('state')
          .where(sql.ref('state'), '=', 'OPEN')
          .execute();
        // The first window holds every transfer committed before windows existed, so that its settlement
        // brings every position back to zero.
        const first = newId('win');
        await db
          .insertInto('settlement_windows')
          .values({ window_id: first, seq: 1, state: 'OPEN', opened_at: Date.now() })
          .execute();
        await db
          .updateTable('transfers')
          .set({ window_id: first })
          .where('state', '=', 'COMMITTED')
          .execute();
        await db.schema
          .createTable('settlement_positions')
          .ifNotExists()
          .addColumn('window_id', 'text', (c) => c.notNull())
          .addColumn('processor_id', 'text', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('sent', 'text', (c) => c.notNull())
          .addColumn('received', 'text', (c) => c.notNull())
          .addColumn('interchange_paid', 'text', (c) => c.notNull())
          .addColumn('interchange_received', 'text', (c) => c.notNull())
          .addColumn('msc', 'text', (c) => c.notNull())
          .addColumn('fx_margin', 'text', (c) => c.notNull())
          .addColumn('transfers', 'integer', (c) => c.notNull())
          .addColumn('net', 'text', (c) => c.notNull())
          .addColumn('booked_at', 'bigint')
          .addPrimaryKeyConstraint('settlement_positions_pk', ['window_id', 'processor_id', 'currency'])
          .execute();
        await db.schema
          .createIndex('settlement_positions_unbooked')
          .ifNotExists()
          .on('settlement_positions')
          .column('window_id')
          .where(sql<boolean>`booked_at IS NULL`)
          .execute();
        await db.schema
          .createTable('settlement_notices')
          .ifNotExists()
          .addColumn('window_id', 'text', (c) => c.notNull())
          .addColumn('processor_id', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .addColumn('last_error', 'text')
          .addPrimaryKeyConstraint('settlement_notices_pk', ['window_id', 'processor_id'])
          .execute();
        await db.schema
          .createIndex('settlement_notices_due')
          .ifNotExists()
          .on('settlement_notices')
          .column('next_at')
          .where(sql<boolean>`delivered_at IS NULL`)
          .execute();
      },
    },
    '0008_fx_fee': {
      async up(db) {
        // The converting processor's conversion fee (`TransferPrepare.fx.fee`) in the report lines; the fee
        // itself is kept in the transfer's `fx` JSON. Lines stored before this migration keep '0'.
        await db.schema
          .alterTable('settlement_positions')
          .addColumn('fx_fee', 'text', (c) => c.notNull().defaultTo('0'))
          .execute();
      },
    },
    '0009_participant_keys': {
      async up(db) {
        // Key rotation: the key history of each participant; TLS: its pinned certificate fingerprint.
        await db.schema.alterTable('participants').addColumn('signing_keys', 'text').execute();
        await db.schema.alterTable('participants').addColumn('tls_cert_sha256', 'text').execute();
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
