// The in-memory form of accounts and transfers while a batch is applied, shared by both stores, and
// its conversion to the public `Account` and `Transfer` values. Optional fields are `null` here (as in
// the databases) and left out of the public values.
import type { Account, AccountRule, CurrencyTotals, Transfer, TransferKind, TransferState } from './types.js';

/** An account as a batch sees it: the sums change in place and are written once per batch. */
export interface AccountState {
  readonly id: string;
  readonly currency: string;
  readonly rule: AccountRule;
  readonly code: string;
  readonly createdAt: number;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  /** Changed in this batch: to be written when it ends. */
  dirty: boolean;
}

/** A stored transfer record. Only `state` ever changes, once, from `pending`. */
export interface TransferRecord {
  readonly id: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  state: TransferState;
  readonly pendingId: string | null;
  readonly code: string | null;
  readonly reference: string | null;
  readonly timeoutAt: number | null;
  readonly createdAt: number;
  /** Arrival order, once the store has assigned it. */
  seq: number | undefined;
}

export function toAccount(a: AccountState): Account {
  return {
    id: a.id,
    currency: a.currency,
    rule: a.rule,
    code: a.code,
    debitsPending: a.debitsPending,
    debitsPosted: a.debitsPosted,
    creditsPending: a.creditsPending,
    creditsPosted: a.creditsPosted,
    createdAt: a.createdAt,
  };
}

/** A snapshot of the record, leaving out the optional fields that are null. */
export function toTransfer(t: TransferRecord): Transfer {
  const out: { -readonly [K in keyof Transfer]: Transfer[K] } = {
    id: t.id,
    debitAccountId: t.debitAccountId,
    creditAccountId: t.creditAccountId,
    amount: t.amount,
    currency: t.currency,
    state: t.state,
    createdAt: t.createdAt,
  };
  if (t.pendingId !== null) out.pendingId = t.pendingId;
  if (t.code !== null) out.code = t.code;
  if (t.reference !== null) out.reference = t.reference;
  if (t.timeoutAt !== null) out.timeoutAt = t.timeoutAt;
  return out;
}

/**
 * One page of an account's history from the store, newest first, and the post and void records of the
 * pending transfers among them: each ender is placed right before the transfer it ended.
 */
export function historyPage(page: readonly TransferRecord[], enders: readonly TransferRecord[]): Transfer[] {
  const byPending = new Map(enders.map((e) => [e.pendingId, e]));
  return page.flatMap((t) => {
    const ender = byPending.get(t.id);
    return ender === undefined ? [toTransfer(t)] : [toTransfer(ender), toTransfer(t)];
  });
}

/** The ids of the pending transfers of a page that have been posted or voided (whose enders to load). */
export function endedPendingIds(page: readonly TransferRecord[]): string[] {
  return page
    .filter((t) => t.kind === 'pending' && (t.state === 'posted' || t.state === 'voided'))
    .map((t) => t.id);
}

/** A transfer row as both stores read it (amounts and times as bigint). */
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

/** Per-currency sums as both stores read them. */
export interface TotalsRow {
  currency: string;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

export function toRecord(row: TransferRow): TransferRecord {
  return {
    id: row.id,
    kind: row.kind,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: row.amount,
    currency: row.currency,
    state: row.state,
    pendingId: row.pending_id,
    code: row.code,
    reference: row.reference,
    timeoutAt: row.timeout_at === null ? null : Number(row.timeout_at),
    createdAt: Number(row.created_at),
    seq: Number(row.seq),
  };
}

export function toTotals(row: TotalsRow): CurrencyTotals {
  return {
    currency: row.currency,
    debitsPosted: row.debits_posted,
    creditsPosted: row.credits_posted,
    debitsPending: row.debits_pending,
    creditsPending: row.credits_pending,
  };
}
