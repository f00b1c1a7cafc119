// SQLite schema of the ledger, as numbered migrations. Tables are prefixed `ledger_` because they live
// in the node's database.
import Database from 'better-sqlite3';

/** Every HISTORY_MARK_EVERY-th entry of an account's history is indexed (see ledger_history_marks). */
export const HISTORY_MARK_EVERY = 64;

/** Version 1: accounts with their sums, transfers indexed by account. */
const V1 = `
CREATE TABLE IF NOT EXISTS ledger_schema_version (
  version INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS ledger_accounts (
  id TEXT PRIMARY KEY,
  currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
  rule TEXT NOT NULL
    CHECK (rule IN ('debits_must_not_exceed_credits', 'credits_must_not_exceed_debits', 'none')),
  code TEXT NOT NULL,
  debits_pending INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  created_at INTEGER NOT NULL,
  CHECK (rule <> 'debits_must_not_exceed_credits' OR debits_pending + debits_posted <= credits_posted),
  CHECK (rule <> 'credits_must_not_exceed_debits' OR credits_pending + credits_posted <= debits_posted)
) STRICT, WITHOUT ROWID;

-- seq is the rowid: arrival order, the tie-break of listTransfers for equal created_at.
CREATE TABLE IF NOT EXISTS ledger_transfers (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('single', 'pending', 'post', 'void')),
  debit_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
  credit_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('posted', 'pending', 'voided', 'expired')),
  pending_id TEXT REFERENCES ledger_transfers (id),
  code TEXT,
  reference TEXT,
  timeout_at INTEGER,
  created_at INTEGER NOT NULL,
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((kind IN ('post', 'void')) = (pending_id IS NOT NULL)),
  CHECK (timeout_at IS NULL OR kind = 'pending'),
  CHECK (kind <> 'single' OR state = 'posted'),
  CHECK (kind <> 'post' OR state = 'posted'),
  CHECK (kind <> 'void' OR state = 'voided')
) STRICT;

CREATE INDEX IF NOT EXISTS ledger_transfers_debit
  ON ledger_transfers (debit_account_id, created_at) WHERE pending_id IS NULL;
CREATE INDEX IF NOT EXISTS ledger_transfers_credit
  ON ledger_transfers (credit_account_id, created_at) WHERE pending_id IS NULL;
-- A pending transfer is resolved by at most one post or void.
CREATE UNIQUE INDEX IF NOT EXISTS ledger_transfers_resolution
  ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_transfers_timeout
  ON ledger_transfers (timeout_at) WHERE state = 'pending' AND timeout_at IS NOT NULL;

INSERT INTO ledger_schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ledger_schema_version);
`;

/**
 * Version 2: less work per transfer, for group commit at tens of thousands of transfers a second.
 *
 * - Sums live in narrow ledger_balances rows (integer key, ~100 rows a page instead of ~35 accounts).
 *   A batch rewrites the sums of every account it touches; with 10,000 accounts that was every page of
 *   ledger_accounts, now a third as many pages go to the WAL at each commit.
 * - The account history is a linked list instead of two indexes keyed by account, where each transfer
 *   added an entry on a random page of a large index (two page writes per transfer at commit). Each
 *   single-phase or pending transfer stores, for each of its accounts, the seq of that account's
 *   previous entry (debit_prev, credit_prev); ledger_balances keeps the newest (history_head). A page of
 *   history is a walk from the head. Every 64th entry of an account also goes into
 *   ledger_history_marks (account, created_at), so that paging with `before` starts near its place (at
 *   most 64 extra steps). The walk order is the order of created_at because createdAt never goes back:
 *   new transfers get at least the newest createdAt stored (created_at_floor: the newest when this
 *   migration ran).
 * - CHECK constraints say `a = 'x' OR a = 'y'` rather than `a IN ('x', 'y')`: SQLite evaluates a
 *   constant IN list through a temporary index on every row, ~1 µs each (measured), a third of the cost
 *   of an insert.
 *
 * Both tables are rebuilt the way SQLite changes a table: create the new one, copy, drop the old one,
 * rename. Tables refer to each other by name, so their foreign keys then point to the new tables.
 */
const V2 = `
CREATE TABLE ledger_accounts_v2 (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
  rule TEXT NOT NULL CHECK (rule = 'debits_must_not_exceed_credits'
    OR rule = 'credits_must_not_exceed_debits' OR rule = 'none'),
  code TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ledger_balances (
  n INTEGER PRIMARY KEY REFERENCES ledger_accounts (n),
  -- The account's rule again, for the CHECKs below: 0 none, 1 debits_must_not_exceed_credits,
  -- 2 credits_must_not_exceed_debits.
  rule INTEGER NOT NULL CHECK (rule BETWEEN 0 AND 2),
  debits_pending INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  history_head INTEGER,
  history_length INTEGER NOT NULL DEFAULT 0,
  -- The balance rules, enforced a second time by the database.
  CHECK (rule <> 1 OR debits_pending + debits_posted <= credits_posted),
  CHECK (rule <> 2 OR credits_pending + credits_posted <= debits_posted)
) STRICT;

-- seq is the rowid: arrival order, the tie-break of listTransfers for equal created_at.
CREATE TABLE ledger_transfers_v2 (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind = 'single' OR kind = 'pending' OR kind = 'post' OR kind = 'void'),
  debit_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
  credit_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state = 'posted' OR state = 'pending' OR state = 'voided' OR state = 'expired'),
  pending_id TEXT REFERENCES ledger_transfers (id),
  code TEXT,
  reference TEXT,
  timeout_at INTEGER,
  created_at INTEGER NOT NULL,
  -- The previous entries of the debit and credit accounts' histories (null for post and void records).
  debit_prev INTEGER,
  credit_prev INTEGER,
  CHECK (debit_account_id <> credit_account_id),
  CHECK ((kind = 'post' OR kind = 'void') = (pending_id IS NOT NULL)),
  CHECK (timeout_at IS NULL OR kind = 'pending'),
  CHECK (kind <> 'single' OR state = 'posted'),
  CHECK (kind <> 'post' OR state = 'posted'),
  CHECK (kind <> 'void' OR state = 'voided')
) STRICT;

CREATE TABLE ledger_history_marks (
  account INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (account, created_at, seq)
) STRICT, WITHOUT ROWID;

-- The history of version 1, entry by entry, in the order of listTransfers.
CREATE TEMP TABLE ledger_history_v1 AS
  SELECT seq, side, account_id, created_at,
    lag(seq) OVER w AS prev, row_number() OVER w AS position
  FROM (
    SELECT seq, 'debit' AS side, debit_account_id AS account_id, created_at
      FROM ledger_transfers WHERE pending_id IS NULL
    UNION ALL
    SELECT seq, 'credit', credit_account_id, created_at
      FROM ledger_transfers WHERE pending_id IS NULL)
  WINDOW w AS (PARTITION BY account_id ORDER BY created_at, seq);
CREATE INDEX temp.ledger_history_v1_seq ON ledger_history_v1 (seq, side);
CREATE INDEX temp.ledger_history_v1_account ON ledger_history_v1 (account_id, position);

INSERT INTO ledger_accounts_v2 (id, currency, rule, code, created_at)
  SELECT id, currency, rule, code, created_at FROM ledger_accounts ORDER BY created_at, id;

INSERT INTO ledger_balances (n, rule, debits_pending, debits_posted, credits_pending, credits_posted,
    history_head, history_length)
  SELECT v2.n,
    CASE a.rule WHEN 'debits_must_not_exceed_credits' THEN 1 WHEN 'credits_must_not_exceed_debits' THEN 2 ELSE 0 END,
    a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
    (SELECT h.seq FROM ledger_history_v1 h WHERE h.account_id = a.id ORDER BY h.position DESC LIMIT 1),
    (SELECT count(*) FROM ledger_history_v1 h WHERE h.account_id = a.id)
  FROM ledger_accounts a JOIN ledger_accounts_v2 v2 ON v2.id = a.id;

INSERT INTO ledger_transfers_v2 (seq, id, kind, debit_account_id, credit_account_id, amount, currency,
    state, pending_id, code, reference, timeout_at, created_at, debit_prev, credit_prev)
  SELECT t.seq, t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.currency, t.state,
    t.pending_id, t.code, t.reference, t.timeout_at, t.created_at,
    (SELECT prev FROM ledger_history_v1 h WHERE h.seq = t.seq AND h.side = 'debit'),
    (SELECT prev FROM ledger_history_v1 h WHERE h.seq = t.seq AND h.side = 'credit')
  FROM ledger_transfers t ORDER BY t.seq;

INSERT INTO ledger_history_marks (account, created_at, seq)
  SELECT v2.n, h.created_at, h.seq
  FROM ledger_history_v1 h JOIN ledger_accounts_v2 v2 ON v2.id = h.account_id
  WHERE h.position % ${HISTORY_MARK_EVERY} = 0;

ALTER TABLE ledger_schema_version ADD COLUMN created_at_floor INTEGER NOT NULL DEFAULT 0;
UPDATE ledger_schema_version SET created_at_floor = coalesce((SELECT max(created_at) FROM ledger_transfers), 0);

DROP TABLE temp.ledger_history_v1;
DROP TABLE ledger_transfers;
DROP TABLE ledger_accounts;
ALTER TABLE ledger_accounts_v2 RENAME TO ledger_accounts;
ALTER TABLE ledger_transfers_v2 RENAME TO ledger_transfers;

-- A pending transfer is resolved by at most one post or void.
CREATE UNIQUE INDEX ledger_transfers_resolution
  ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_timeout
  ON ledger_transfers (timeout_at) WHERE state = 'pending' AND timeout_at IS NOT NULL;
`;

/** MIGRATIONS[i] brings the schema from version i to version i + 1. */
const MIGRATIONS: readonly string[] = [V1, V2];

export const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ledger_schema_version'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT max(version) AS version FROM ledger_schema_version').get() as {
    version: number | null;
  };
  return row.version ?? 0;
}

/**
 * Brings the ledger tables to the current version (creating them on first use); refuses a database
 * written by a newer version. `target` is for tests that build an old database.
 */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): void {
  const check = (version: number): boolean => {
    if (version > SCHEMA_VERSION) {
      throw new Error(`ledger schema version ${version} is newer than this code (${SCHEMA_VERSION})`);
    }
    return version >= target;
  };
  if (check(currentVersion(db))) return;
  if (db.inTransaction) throw new Error('the ledger schema must be migrated outside a transaction');
  // Rebuilding a table that others refer to needs foreign key enforcement off (SQLite's documented
  // procedure), and that can only be switched outside a transaction. Checked explicitly instead.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      const from = currentVersion(db); // another connection may have migrated meanwhile
      if (check(from)) return;
      for (const migration of MIGRATIONS.slice(from, target)) db.exec(migration);
      const tables = db
        .prepare<[], string>(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('ledger_transfers', 'ledger_balances')",
        )
        .pluck()
        .all();
      for (const table of tables) {
        const broken = db.pragma(`foreign_key_check(${table})`) as unknown[];
        if (broken.length > 0) throw new Error(`ledger migration left broken references in ${table}`);
      }
      db.prepare('UPDATE ledger_schema_version SET version = ?').run(target);
    }).immediate();
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}

/**
 * Opens (or creates) a SQLite database file the way a SEMOPS node uses it: write-ahead log, fsync on every
 * commit, foreign keys enforced, and a 5 s wait when another connection holds the write lock.
 *
 * Integers are read as JavaScript numbers by default; the ledger opts into bigint on its own statements
 * only, so the caller's statements are not affected.
 *
 * @example
 * const db = openDatabase('.semops/node.db');
 * const ledger = await createSqliteLedger({ db });
 */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
