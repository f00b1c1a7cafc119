// Prepared statements of the SQLite ledger and the mapping between rows and records. Statements are
// prepared once; they read integers as bigint (safeIntegers) without changing the caller's default.
import type Database from 'better-sqlite3';
import type { StoredTransfer } from './idempotency.js';
import type { Account, AccountRule, Transfer, TransferKind, TransferState } from './types.js';

export interface AccountRow {
  id: string;
  currency: string;
  rule: AccountRule;
  code: string;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  created_at: bigint;
}

export interface TransferRow {
  seq: bigint;
  id: string;
  kind: TransferKind;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  currency: string;
  state: TransferState;
  pending_id: string | null;
  code: string | null;
  reference: string | null;
  timeout_at: bigint | null;
  created_at: bigint;
}

/** The columns of a pending transfer needed to post or void it. */
export type PendingRow = Pick<
  TransferRow,
  | 'id'
  | 'kind'
  | 'state'
  | 'debit_account_id'
  | 'credit_account_id'
  | 'amount'
  | 'currency'
  | 'code'
  | 'reference'
  | 'timeout_at'
>;

interface TotalsRow {
  currency: string;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
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
];

const TRANSFER_COLUMNS =
  'seq, id, kind, debit_account_id, credit_account_id, amount, currency, state, pending_id, code, ' +
  'reference, timeout_at, created_at';

// `pending_id IS NULL` matches the partial account indexes: post and void records are not indexed by
// account (see schema.ts) and are found through their pending transfer instead.
const LIST_HALF = (column: string): string =>
  `SELECT * FROM (SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
     WHERE ${column} = @account AND pending_id IS NULL AND created_at < @before
     ORDER BY created_at DESC, seq DESC LIMIT @limit)`;

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface Statements {
  readonly selectAccount: Stmt<[id: string], AccountRow>;
  /** Takes a JSON array of ids. */
  readonly selectAccounts: Stmt<[idsJson: string], AccountRow>;
  readonly insertAccount: Stmt<
    [id: string, currency: string, rule: AccountRule, code: string, createdAt: number]
  >;
  readonly updateAccount: Stmt<
    [debitsPending: bigint, debitsPosted: bigint, creditsPending: bigint, creditsPosted: bigint, id: string]
  >;
  readonly selectTransfer: Stmt<[id: string], TransferRow>;
  readonly insertTransfer: Stmt<TransferValues>;
  readonly selectPending: Stmt<[id: string], PendingRow>;
  /** Ends a pending transfer; changes no row unless it is still pending. */
  readonly endPending: Stmt<[state: Exclude<TransferState, 'pending'>, id: string]>;
  readonly selectDue: Stmt<[now: number], TransferRow>;
  /** Single-phase and pending transfers of an account, newest first. */
  readonly listTransfers: Stmt<[{ account: string; before: number; limit: number }], TransferRow>;
  /** Post and void records of the pending transfers whose ids are in a JSON array. */
  readonly selectEnders: Stmt<[pendingIdsJson: string], TransferRow>;
  readonly totals: Stmt<[], TotalsRow>;
  readonly savepoint: Stmt<[]>;
  readonly rollbackToSavepoint: Stmt<[]>;
  readonly releaseSavepoint: Stmt<[]>;
}

export function prepareStatements(db: Database.Database): Statements {
  const read = <P extends unknown[], R>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql).safeIntegers(true);
  return {
    selectAccount: read<[string], AccountRow>('SELECT * FROM ledger_accounts WHERE id = ?'),
    selectAccounts: read<[string], AccountRow>(
      'SELECT * FROM ledger_accounts WHERE id IN (SELECT value FROM json_each(?))',
    ),
    insertAccount: db.prepare<[string, string, AccountRule, string, number]>(
      'INSERT INTO ledger_accounts (id, currency, rule, code, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    updateAccount: db.prepare<[bigint, bigint, bigint, bigint, string]>(
      `UPDATE ledger_accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?,
         credits_posted = ? WHERE id = ?`,
    ),
    selectTransfer: read<[string], TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ?`,
    ),
    // Only a conflict on the id is tolerated: it means the command was seen before (idempotency).
    insertTransfer: db.prepare<TransferValues>(
      `INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, currency,
         state, pending_id, code, reference, timeout_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    selectPending: read<[string], PendingRow>(
      `SELECT id, kind, state, debit_account_id, credit_account_id, amount, currency, code, reference,
         timeout_at FROM ledger_transfers WHERE id = ?`,
    ),
    endPending: db.prepare<[Exclude<TransferState, 'pending'>, string]>(
      `UPDATE ledger_transfers SET state = ? WHERE id = ? AND state = 'pending'`,
    ),
    selectDue: read<[number], TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
       WHERE state = 'pending' AND timeout_at <= ? ORDER BY timeout_at, seq`,
    ),
    listTransfers: db
      .prepare<[{ account: string; before: number; limit: number }], TransferRow>(
        `${LIST_HALF('debit_account_id')} UNION ALL ${LIST_HALF('credit_account_id')}
         ORDER BY created_at DESC, seq DESC LIMIT @limit`,
      )
      .safeIntegers(true),
    selectEnders: read<[string], TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers
       WHERE pending_id IN (SELECT value FROM json_each(?))`,
    ),
    totals: read<[], TotalsRow>(
      `SELECT currency, sum(debits_pending) AS debits_pending, sum(debits_posted) AS debits_posted,
         sum(credits_pending) AS credits_pending, sum(credits_posted) AS credits_posted
       FROM ledger_accounts GROUP BY currency ORDER BY currency`,
    ),
    savepoint: db.prepare<[]>('SAVEPOINT ledger_atomic'),
    rollbackToSavepoint: db.prepare<[]>('ROLLBACK TO ledger_atomic'),
    releaseSavepoint: db.prepare<[]>('RELEASE ledger_atomic'),
  };
}

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    currency: row.currency,
    rule: row.rule,
    code: row.code,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
    createdAt: Number(row.created_at),
  };
}

/** Builds a transfer record, leaving out the optional fields that are null. */
export function makeTransfer(
  id: string,
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
): Transfer {
  const t: { -readonly [K in keyof Transfer]: Transfer[K] } = {
    id,
    debitAccountId,
    creditAccountId,
    amount,
    currency,
    state,
    createdAt,
  };
  if (pendingId !== null) t.pendingId = pendingId;
  if (code !== null) t.code = code;
  if (reference !== null) t.reference = reference;
  if (timeoutAt !== null) t.timeoutAt = timeoutAt;
  return t;
}

export function toTransfer(row: TransferRow, state: TransferState = row.state): Transfer {
  return makeTransfer(
    row.id,
    row.debit_account_id,
    row.credit_account_id,
    row.amount,
    row.currency,
    state,
    row.pending_id,
    row.code,
    row.reference,
    row.timeout_at === null ? null : Number(row.timeout_at),
    Number(row.created_at),
  );
}

export function toStoredTransfer(row: TransferRow): StoredTransfer {
  return { ...toTransfer(row), kind: row.kind };
}
