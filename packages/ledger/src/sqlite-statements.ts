// Prepared statements of the SQLite ledger and the mapping from rows to records. Statements are
// prepared once; they read integers as bigint (safeIntegers) without changing the caller's default.
import type Database from 'better-sqlite3';
import type { AccountState, TotalsRow, TransferRow } from './records.js';
export { toRecord, toTotals, type TotalsRow, type TransferRow } from './records.js';
import type { AccountRule, TransferKind, TransferState } from './types.js';

/** An account with what the SQLite store keeps beside its sums (see schema version 2). */
export interface SqliteAccount extends AccountState {
  /** The rowid of the account in ledger_accounts and ledger_balances. */
  readonly n: number;
  /** seq of the account's newest history entry. */
  historyHead: number | null;
  historyLength: number;
}

export const RULE_CODES: Readonly<Record<AccountRule, number>> = {
  none: 0,
  debits_must_not_exceed_credits: 1,
  credits_must_not_exceed_debits: 2,
};

export interface AccountRow {
  n: bigint;
  id: string;
  currency: string;
  rule: AccountRule;
  code: string;
  created_at: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  history_head: bigint | null;
  history_length: bigint;
}

/** Column order of `insertTransfer`. */
export type TransferValues = [
  id: string,
  kind: TransferKind,
  debitAccountId: string,
  creditAccountId: string,
  amount: bigint,
  currency: string,
  state: TransferState,
  pendingId: string | null,
  code: string | null,
  reference: string | null,
  timeoutAt: number | null,
  createdAt: number,
  debitPrev: number | null,
  creditPrev: number | null,
];

export interface HistoryParams {
  /** seq where the walk starts. */
  start: number;
  account: string;
  before: number;
  /** At most this many entries are visited. */
  steps: number;
  limit: number;
}

const TRANSFER_COLUMNS =
  't.seq, t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.currency, t.state, ' +
  't.pending_id, t.code, t.reference, t.timeout_at, t.created_at';

const ACCOUNT_SELECT = `SELECT a.n, a.id, a.currency, a.rule, a.code, a.created_at, b.debits_pending,
    b.debits_posted, b.credits_pending, b.credits_posted, b.history_head, b.history_length
  FROM ledger_accounts a JOIN ledger_balances b ON b.n = a.n`;

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface Statements {
  readonly selectAccount: Stmt<[id: string], AccountRow>;
  /** Takes a JSON array of ids. */
  readonly selectAccounts: Stmt<[idsJson: string], AccountRow>;
  readonly insertAccount: Stmt<
    [id: string, currency: string, rule: AccountRule, code: string, createdAt: number]
  >;
  readonly insertBalance: Stmt<[n: number, rule: number]>;
  readonly updateBalance: Stmt<
    [
      debitsPending: bigint,
      debitsPosted: bigint,
      creditsPending: bigint,
      creditsPosted: bigint,
      historyHead: number | null,
      historyLength: number,
      n: number,
    ]
  >;
  readonly selectTransfer: Stmt<[id: string], TransferRow>;
  /** Changes no row when the id is taken. */
  readonly insertTransfer: Stmt<TransferValues>;
  readonly insertMark: Stmt<[account: number, createdAt: number, seq: number]>;
  /** Ends a pending transfer (by seq); changes no row unless it is still pending. */
  readonly endPending: Stmt<[state: Exclude<TransferState, 'pending'>, seq: number]>;
  readonly selectDue: Stmt<[now: number], TransferRow>;
  /** Where an account's history starts: its rowid and newest entry. */
  readonly selectHead: Stmt<[id: string], { n: bigint; history_head: bigint | null }>;
  /** The oldest mark of an account at or after a time: where a walk for `before` starts. */
  readonly selectMark: Stmt<[account: bigint, before: number], { seq: bigint }>;
  /** Single-phase and pending transfers of an account, newest first, by walking its history. */
  readonly history: Stmt<[HistoryParams], TransferRow>;
  /** Post and void records of the pending transfers whose ids are in a JSON array. */
  readonly selectEnders: Stmt<[pendingIdsJson: string], TransferRow>;
  readonly totals: Stmt<[], TotalsRow>;
  /** The newest createdAt stored: createdAt of new transfers must not be older. */
  readonly newestCreatedAt: Stmt<[], bigint | null>;
  readonly dataVersion: Stmt<[], number>;
  readonly savepoint: Stmt<[]>;
  readonly rollbackToSavepoint: Stmt<[]>;
  readonly releaseSavepoint: Stmt<[]>;
}

export function prepareStatements(db: Database.Database): Statements {
  const read = <P extends unknown[], R>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql).safeIntegers(true);
  return {
    selectAccount: read(`${ACCOUNT_SELECT} WHERE a.id = ?`),
    selectAccounts: read(`${ACCOUNT_SELECT} WHERE a.id IN (SELECT value FROM json_each(?))`),
    insertAccount: db.prepare(
      'INSERT INTO ledger_accounts (id, currency, rule, code, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    insertBalance: db.prepare('INSERT INTO ledger_balances (n, rule) VALUES (?, ?)'),
    updateBalance: db.prepare(
      `UPDATE ledger_balances SET debits_pending = ?, debits_posted = ?, credits_pending = ?,
         credits_posted = ?, history_head = ?, history_length = ? WHERE n = ?`,
    ),
    selectTransfer: read(`SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers t WHERE t.id = ?`),
    // Only a conflict on the id is tolerated: it means the command was seen before (idempotency).
    insertTransfer: db.prepare(
      `INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, currency,
         state, pending_id, code, reference, timeout_at, created_at, debit_prev, credit_prev)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    insertMark: db.prepare('INSERT INTO ledger_history_marks (account, created_at, seq) VALUES (?, ?, ?)'),
    endPending: db.prepare(`UPDATE ledger_transfers SET state = ? WHERE seq = ? AND state = 'pending'`),
    selectDue: read(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers t
       WHERE t.state = 'pending' AND t.timeout_at <= ? ORDER BY t.timeout_at, t.seq`,
    ),
    selectHead: read(
      'SELECT a.n, b.history_head FROM ledger_accounts a JOIN ledger_balances b ON b.n = a.n WHERE a.id = ?',
    ),
    selectMark: read(
      `SELECT seq FROM ledger_history_marks WHERE account = ? AND created_at >= ?
       ORDER BY created_at, seq LIMIT 1`,
    ),
    // At each entry the walk follows the pointer of the side the account is on.
    history: read(
      `WITH RECURSIVE walk (step, seq) AS (
         SELECT 0, @start
         UNION ALL
         SELECT walk.step + 1,
           CASE WHEN t.debit_account_id = @account THEN t.debit_prev ELSE t.credit_prev END
         FROM walk JOIN ledger_transfers t ON t.seq = walk.seq
         WHERE walk.step + 1 < @steps)
       SELECT ${TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers t ON t.seq = walk.seq
       WHERE t.created_at < @before ORDER BY walk.step LIMIT @limit`,
    ),
    selectEnders: read(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers t
       WHERE t.pending_id IN (SELECT value FROM json_each(?))`,
    ),
    totals: read(
      `SELECT a.currency, sum(b.debits_pending) AS debits_pending, sum(b.debits_posted) AS debits_posted,
         sum(b.credits_pending) AS credits_pending, sum(b.credits_posted) AS credits_posted
       FROM ledger_accounts a JOIN ledger_balances b ON b.n = a.n GROUP BY a.currency ORDER BY a.currency`,
    ),
    newestCreatedAt: read<[], bigint | null>(
      `SELECT max((SELECT max(created_at_floor) FROM ledger_schema_version),
         coalesce((SELECT created_at FROM ledger_transfers ORDER BY seq DESC LIMIT 1), 0))`,
    ).pluck(),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    savepoint: db.prepare('SAVEPOINT ledger_atomic'),
    rollbackToSavepoint: db.prepare('ROLLBACK TO ledger_atomic'),
    releaseSavepoint: db.prepare('RELEASE ledger_atomic'),
  };
}

export function toAccountState(row: AccountRow): SqliteAccount {
  return {
    id: row.id,
    currency: row.currency,
    rule: row.rule,
    code: row.code,
    createdAt: Number(row.created_at),
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
    dirty: false,
    n: Number(row.n),
    historyHead: row.history_head === null ? null : Number(row.history_head),
    historyLength: Number(row.history_length),
  };
}
