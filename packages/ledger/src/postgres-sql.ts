// The hand-written SQL of the PostgreSQL ledger and the mapping from rows to records. Every query reads
// bigint and numeric as JavaScript bigint through its own type parsers; the caller's pool keeps its own.
import pg from 'pg';
import type { AccountState } from './records.js';
export { toRecord, toTotals, type TotalsRow, type TransferRow } from './records.js';
import type { AccountRule } from './types.js';

const BIGINT_OID = 20;
const NUMERIC_OID = 1700;

/** Type parsers for the ledger's queries only: int8 and numeric (sums) as bigint. */
export const LEDGER_TYPES = new pg.TypeOverrides();
LEDGER_TYPES.setTypeParser(BIGINT_OID, (v: string) => BigInt(v));
LEDGER_TYPES.setTypeParser(NUMERIC_OID, (v: string) => BigInt(v));

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

export interface WriteCounts {
  accounts: number;
  changed: number;
  transfers: number;
  ended: number;
}

const ACCOUNT_COLUMNS =
  'id, currency, rule, code, debits_pending, debits_posted, credits_pending, credits_posted, created_at';
const TRANSFER_COLUMNS =
  'seq, id, kind, debit_account_id, credit_account_id, amount, currency, state, pending_id, code, ' +
  'reference, timeout_at, created_at';

/** A 32-bit FNV-1a hash, to name prepared statements per schema. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** The queries of one schema. `s` is the quoted schema name. */
export function ledgerSql(s: string) {
  const t = `${s}.ledger_transfers`;
  const a = `${s}.ledger_accounts`;
  const due = `${s}.ledger_pending_timeouts`;
  const prefix = `semops_ledger_${fnv1a(s)}`;
  const query = (name: string, text: string) => ({ name: `${prefix}_${name}`, text, types: LEDGER_TYPES });
  return {
    /**
     * Locks and reads, in id order, the accounts a batch names ($1) and those of the pending transfers
     * it may end: named by a post or void ($2) or due to expire by $3. One statement and a fixed order,
     * so instances that share the database never deadlock.
     */
    lockAccounts: query(
      'lock',
      `SELECT ${ACCOUNT_COLUMNS} FROM ${a}
       WHERE id IN (
         SELECT unnest($1::text[])
         UNION
         SELECT unnest(ARRAY[p.debit_account_id, p.credit_account_id]) FROM ${t} p
         WHERE p.id = ANY($2::text[]) AND p.state = 'pending'
         UNION
         SELECT unnest(ARRAY[p.debit_account_id, p.credit_account_id])
         FROM ${due} d JOIN ${t} p ON p.id = d.transfer_id
         WHERE d.timeout_at <= $3::bigint AND p.state = 'pending')
       ORDER BY id
       FOR NO KEY UPDATE`,
    ),
    /**
     * The records a batch may replay or end ($1), and the pending transfers due by $2 (a record may
     * come twice).
     */
    loadTransfers: query(
      'load',
      `SELECT ${TRANSFER_COLUMNS} FROM ${t} WHERE id = ANY($1::text[])
       UNION ALL
       SELECT ${TRANSFER_COLUMNS.replace(/(^|, )/g, '$1t.')} FROM ${due} d JOIN ${t} t ON t.id = d.transfer_id
       WHERE d.timeout_at <= $2::bigint`,
    ),
    /**
     * All the writes of a batch in one statement, from arrays: new accounts (with their final sums),
     * the sums of changed accounts, new records (in arrival order) and the timeouts of those still
     * pending, pending transfers ended ($27, $28) and their timeouts ($29, $30). A conflict on an id
     * means another instance wrote it meanwhile: the counts tell, and the batch is retried.
     */
    write: query(
      'write',
      `WITH
       new_accounts AS (
         INSERT INTO ${a} (${ACCOUNT_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
           $7::bigint[], $8::bigint[], $9::bigint[])
         ON CONFLICT (id) DO NOTHING
         RETURNING 1),
       changed AS (
         UPDATE ${a} acc SET debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp,
           credits_posted = u.cpo
         FROM unnest($10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
           AS u (id, dp, dpo, cp, cpo)
         WHERE acc.id = u.id
         RETURNING 1),
       new_transfers AS (
         INSERT INTO ${t} (id, kind, debit_account_id, credit_account_id, amount, currency, state,
           pending_id, code, reference, timeout_at, created_at)
         SELECT id, kind, debit, credit, amount, currency, state, pending_id, code, reference,
           timeout_at, created_at
         FROM unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[],
           $21::text[], $22::text[], $23::text[], $24::text[], $25::bigint[], $26::bigint[])
           WITH ORDINALITY AS u (id, kind, debit, credit, amount, currency, state, pending_id, code,
             reference, timeout_at, created_at, ord)
         ORDER BY ord
         ON CONFLICT (id) DO NOTHING
         RETURNING id, state, timeout_at),
       new_timeouts AS (
         INSERT INTO ${due} (timeout_at, transfer_id)
         SELECT timeout_at, id FROM new_transfers WHERE state = 'pending' AND timeout_at IS NOT NULL),
       ended AS (
         UPDATE ${t} tr SET state = u.state
         FROM unnest($27::text[], $28::text[]) AS u (id, state)
         WHERE tr.id = u.id AND tr.state = 'pending'
         RETURNING 1),
       ended_timeouts AS (
         DELETE FROM ${due} d USING unnest($29::bigint[], $30::text[]) AS u (timeout_at, id)
         WHERE d.timeout_at = u.timeout_at AND d.transfer_id = u.id)
       SELECT (SELECT count(*) FROM new_accounts)::int AS accounts,
         (SELECT count(*) FROM changed)::int AS changed,
         (SELECT count(*) FROM new_transfers)::int AS transfers,
         (SELECT count(*) FROM ended)::int AS ended`,
    ),
    selectAccounts: query('accounts', `SELECT ${ACCOUNT_COLUMNS} FROM ${a} WHERE id = ANY($1::text[])`),
    selectTransfer: query('transfer', `SELECT ${TRANSFER_COLUMNS} FROM ${t} WHERE id = $1`),
    /** Single-phase and pending transfers of an account ($1) before $2, newest first, at most $3. */
    history: query(
      'history',
      `SELECT ${TRANSFER_COLUMNS} FROM (
         (SELECT ${TRANSFER_COLUMNS} FROM ${t}
          WHERE debit_account_id = $1 AND pending_id IS NULL AND created_at < $2
          ORDER BY created_at DESC, seq DESC LIMIT $3)
         UNION ALL
         (SELECT ${TRANSFER_COLUMNS} FROM ${t}
          WHERE credit_account_id = $1 AND pending_id IS NULL AND created_at < $2
          ORDER BY created_at DESC, seq DESC LIMIT $3)) h
       ORDER BY created_at DESC, seq DESC LIMIT $3`,
    ),
    selectEnders: query('enders', `SELECT ${TRANSFER_COLUMNS} FROM ${t} WHERE pending_id = ANY($1::text[])`),
    totals: query(
      'totals',
      `SELECT currency, sum(debits_pending) AS debits_pending, sum(debits_posted) AS debits_posted,
         sum(credits_pending) AS credits_pending, sum(credits_posted) AS credits_posted
       FROM ${a} GROUP BY currency ORDER BY currency COLLATE "C"`,
    ),
  };
}

export type LedgerSql = ReturnType<typeof ledgerSql>;

/**
 * A text[] literal. Faster than letting pg build it (it escapes every element with two regular
 * expressions), which counts at thousands of elements per batch.
 */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (v.includes('"') || v.includes('\\')) out += `"${v.replace(/[\\"]/g, '\\$&')}"`;
    else out += `"${v}"`;
  }
  return `${out}}`;
}

/** A bigint[] literal (numbers are whole). */
export function bigintArray(values: ReadonlyArray<bigint | number | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

export function toAccountState(row: AccountRow): AccountState {
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
  };
}
