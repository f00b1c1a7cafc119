// PostgreSQL schema of the ledger, as numbered migrations, in a schema of the caller's choice. Tables
// are prefixed `ledger_` like on SQLite, so the ledger can share a schema with the node's own tables.
import type pg from 'pg';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema name, double-quoted for SQL; only plain identifiers are accepted. */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) throw new RangeError(`schema must match ${IDENTIFIER.source}`);
  return `"${schema}"`;
}

/**
 * Version 1. Ids compare byte by byte (COLLATE "C"): the order in which batches lock accounts must be
 * the same in every instance, whatever the database's locale.
 *
 * Rows that are rewritten leave room on their page (fillfactor), and no index covers what changes, so a
 * rewrite is a HOT update that touches no index: accounts (their sums change in every batch that
 * touches them) and pending transfers (their state changes once; up to half the rows of a page). That is
 * why the reservations that can expire are listed in a table of their own instead of a partial index on
 * ledger_transfers WHERE state = 'pending': such an index would make every change of state a full
 * update of the row and of all its indexes (measured: a tenth more database time per payment).
 */
const V1 = (s: string): string => `
CREATE TABLE ${s}.ledger_accounts (
  id text COLLATE "C" PRIMARY KEY,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  rule text NOT NULL
    CHECK (rule IN ('debits_must_not_exceed_credits', 'credits_must_not_exceed_debits', 'none')),
  code text NOT NULL,
  debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  created_at bigint NOT NULL,
  -- The balance rules, enforced a second time by the database (in numeric: the sum may pass 2^63).
  CHECK (rule <> 'debits_must_not_exceed_credits' OR debits_pending::numeric + debits_posted <= credits_posted),
  CHECK (rule <> 'credits_must_not_exceed_debits' OR credits_pending::numeric + credits_posted <= debits_posted)
) WITH (fillfactor = 50);

-- seq: arrival order, the tie-break of listTransfers for equal created_at (unique, not indexed: an
-- index would cost every insert and serve no query).
--
-- No foreign keys: a batch inserts a record only after reading its accounts (and the pending transfer it
-- ends) under lock in the same transaction, and the ledger deletes nothing. PostgreSQL checks a foreign
-- key with a query per row; the three checks of a payment cost a third of its database time (measured).
CREATE TABLE ${s}.ledger_transfers (
  id text COLLATE "C" PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  kind text NOT NULL CHECK (kind IN ('single', 'pending', 'post', 'void')),
  debit_account_id text COLLATE "C" NOT NULL,
  credit_account_id text COLLATE "C" NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  state text NOT NULL CHECK (state IN ('posted', 'pending', 'voided', 'expired')),
  pending_id text COLLATE "C",
  code text,
  reference text,
  timeout_at bigint,
  created_at bigint NOT NULL,
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((kind IN ('post', 'void')) = (pending_id IS NOT NULL)),
  CHECK (timeout_at IS NULL OR kind = 'pending'),
  CHECK (kind <> 'single' OR state = 'posted'),
  CHECK (kind <> 'post' OR state = 'posted'),
  CHECK (kind <> 'void' OR state = 'voided')
) WITH (fillfactor = 60);

-- Account history (listTransfers); post and void records are found through their pending transfer.
CREATE INDEX ledger_transfers_debit
  ON ${s}.ledger_transfers (debit_account_id, created_at, seq) WHERE pending_id IS NULL;
CREATE INDEX ledger_transfers_credit
  ON ${s}.ledger_transfers (credit_account_id, created_at, seq) WHERE pending_id IS NULL;
-- A pending transfer is resolved by at most one post or void.
CREATE UNIQUE INDEX ledger_transfers_resolution
  ON ${s}.ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;

-- The pending transfers that have a timeout, while they are pending: what expirePending looks at.
CREATE TABLE ${s}.ledger_pending_timeouts (
  timeout_at bigint NOT NULL,
  transfer_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (timeout_at, transfer_id)
);
`;

/** MIGRATIONS[i] brings the schema from version i to version i + 1. */
const MIGRATIONS: ReadonlyArray<(schema: string) => string> = [V1];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema when missing and applies the migrations it lacks, in one transaction. An advisory
 * lock serialises instances that start at the same time; a database written by newer code is refused.
 */
export async function migratePostgres(client: pg.ClientBase, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`semops_ledger:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.ledger_schema_version (version integer NOT NULL)`);
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${s}.ledger_schema_version`,
    );
    const from = rows[0]?.version ?? 0;
    if (from > PG_SCHEMA_VERSION) {
      throw new Error(`ledger schema version ${from} is newer than this code (${PG_SCHEMA_VERSION})`);
    }
    if (from < PG_SCHEMA_VERSION) {
      for (const migration of MIGRATIONS.slice(from)) await client.query(migration(s));
      if (from === 0) await client.query(`INSERT INTO ${s}.ledger_schema_version (version) VALUES (0)`);
      await client.query(`UPDATE ${s}.ledger_schema_version SET version = $1`, [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
