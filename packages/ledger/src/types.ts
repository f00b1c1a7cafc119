import type pg from 'pg';
import type { LedgerErrorCode } from './errors.js';

/**
 * The balance limit of an account. Pending amounts count against the limit, so a reservation can never
 * be posted into an overdraft.
 * - `debits_must_not_exceed_credits`: `debitsPending + debitsPosted <= creditsPosted` (a customer wallet)
 * - `credits_must_not_exceed_debits`: `creditsPending + creditsPosted <= debitsPosted` (a funding source)
 * - `none`: no limit (settlement, fee income)
 */
export type AccountRule = 'debits_must_not_exceed_credits' | 'credits_must_not_exceed_debits' | 'none';

export const ACCOUNT_RULES: readonly AccountRule[] = [
  'debits_must_not_exceed_credits',
  'credits_must_not_exceed_debits',
  'none',
];

/** An account and its four running sums, in minor units of `currency`. */
export interface Account {
  readonly id: string;
  /** ISO 4217 alpha code, three uppercase letters. */
  readonly currency: string;
  readonly rule: AccountRule;
  /** Free category, e.g. `customer`, `merchant`, `settlement`, `funding`. */
  readonly code: string;
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

/**
 * - `posted`: a single-phase transfer, a pending transfer that was posted, or a post command's record.
 * - `pending`: a reservation waiting for a post or a void (or its timeout).
 * - `voided`: a pending transfer that was voided, or a void command's record.
 * - `expired`: a pending transfer released by {@link Ledger.expirePending}.
 */
export type TransferState = 'posted' | 'pending' | 'voided' | 'expired';

/**
 * A transfer record. A pending transfer's `state` changes exactly once, to `posted`, `voided` or `expired`;
 * the post or void command that resolved it is a record of its own whose `pendingId` points back to it
 * (a post record's `amount` is the amount posted; a void record's is the amount released).
 */
export interface Transfer {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly state: TransferState;
  /** Set on post and void records: the pending transfer they resolved. */
  readonly pendingId?: string;
  readonly code?: string;
  readonly reference?: string;
  /** Epoch milliseconds after which a pending transfer can no longer be posted or voided. */
  readonly timeoutAt?: number;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

/**
 * How a transfer record came to be: a single-phase transfer, a pending one, or the record of a post or
 * void command. Stored beside each record; needed to compare a repeated command with the first one.
 */
export type TransferKind = 'single' | 'pending' | 'post' | 'void';

/** Opens an account. Repeating it with the same content is a no-op that returns the account. */
export interface CreateAccountCommand {
  readonly kind: 'createAccount';
  readonly id: string;
  readonly currency: string;
  readonly rule: AccountRule;
  readonly code: string;
}

/** Moves `amount` from `debitAccountId` to `creditAccountId`, at once or as a reservation (`pending`). */
export interface TransferCommand {
  readonly kind: 'transfer';
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  /** Reserve instead of posting; resolve later with a post or void command. */
  readonly pending?: boolean;
  /** Pending only: milliseconds after which the reservation expires. Omit for no timeout. */
  readonly timeoutMs?: number;
  readonly code?: string;
  readonly reference?: string;
}

/** Posts a pending transfer, in full or (with `amount`) in part; a partial post releases the remainder. */
export interface PostCommand {
  readonly kind: 'post';
  readonly id: string;
  readonly pendingId: string;
  readonly amount?: bigint;
  /** Defaults to the pending transfer's code. */
  readonly code?: string;
  /** Defaults to the pending transfer's reference. */
  readonly reference?: string;
}

/** Releases a pending transfer. */
export interface VoidCommand {
  readonly kind: 'void';
  readonly id: string;
  readonly pendingId: string;
  /** Defaults to the pending transfer's code. */
  readonly code?: string;
  /** Defaults to the pending transfer's reference. */
  readonly reference?: string;
}

export type LedgerCommand = CreateAccountCommand | TransferCommand | PostCommand | VoidCommand;

export type CreateAccountInput = Omit<CreateAccountCommand, 'kind'>;
export type TransferInput = Omit<TransferCommand, 'kind'>;
export type PostInput = Omit<PostCommand, 'kind'>;
export type VoidInput = Omit<VoidCommand, 'kind'>;

/**
 * The outcome of one command. On success `transfer` (transfer, post, void) or `account` (createAccount)
 * holds the record in its current state; `replayed` is true when the id had already been applied with the
 * same content and nothing changed. Failed commands are not stored: retrying one re-evaluates it.
 */
export type LedgerResult = LedgerSuccess | LedgerFailure;

export interface LedgerSuccess {
  readonly ok: true;
  readonly transfer?: Transfer;
  readonly account?: Account;
  readonly replayed: boolean;
}

export interface LedgerFailure {
  readonly ok: false;
  readonly code: LedgerErrorCode;
  readonly message: string;
}

export interface ListTransfersOptions {
  /** How many single-phase and pending transfers (post and void records come in addition): 1..1000, default 100. */
  readonly limit?: number;
  /** Only transfers created strictly before this epoch-millisecond time (for paging). */
  readonly before?: number;
}

export interface CurrencyTotals {
  readonly currency: string;
  readonly debitsPosted: bigint;
  readonly creditsPosted: bigint;
  readonly debitsPending: bigint;
  readonly creditsPending: bigint;
}

/** The caller's open transaction that `Ledger.executeWithin` joins. */
export interface OpenTransaction {
  /** PostgreSQL: the connection (a `pg` client) holding the transaction; unused on SQLite. */
  readonly client?: pg.ClientBase;
}

/**
 * A double-entry, two-phase, idempotent ledger. Implemented on SQLite by `createSqliteLedger` and on
 * PostgreSQL by `createPostgresLedger`, with the same results; one conformance suite runs on both.
 */
export interface Ledger {
  /**
   * Applies commands in order, each as if alone (a failure affects only its own command), in one
   * database transaction. Concurrent calls are group-committed. Never rejects for a failing command.
   */
  execute(commands: readonly LedgerCommand[]): Promise<LedgerResult[]>;
  /**
   * All or nothing: when any command fails, none is applied; failing commands report their own code, the
   * others `LINKED_FAILED`. Commands see the effects of the earlier ones of the same batch.
   */
  executeAtomic(commands: readonly LedgerCommand[]): Promise<LedgerResult[]>;
  /**
   * `execute` (or, with `atomic`, `executeAtomic`) inside a transaction the caller holds open on the ledger's
   * own database, so that the legs commit or roll back with the caller's rows — a payment's state and its
   * money in one commit. Not group-committed and not durable until the caller commits. On SQLite the
   * caller's transaction is on the ledger's connection (`within` is `{}`); on PostgreSQL `within.client` is
   * the connection holding it, in the ledger's database, and a deadlock or serialization failure is thrown
   * for the caller to run its whole transaction again.
   */
  executeWithin(
    within: OpenTransaction,
    commands: readonly LedgerCommand[],
    opts?: { readonly atomic?: boolean },
  ): Promise<LedgerResult[]>;
  /** Convenience wrappers around `execute`: return the record, or throw a `LedgerError`. */
  createAccount(input: CreateAccountInput): Promise<Account>;
  transfer(input: TransferInput): Promise<Transfer>;
  post(input: PostInput): Promise<Transfer>;
  void(input: VoidInput): Promise<Transfer>;
  getAccount(id: string): Promise<Account | undefined>;
  /** The accounts found, in the order of `ids`; unknown ids are left out. */
  getAccounts(ids: readonly string[]): Promise<Account[]>;
  getTransfer(id: string): Promise<Transfer | undefined>;
  /**
   * Transfers debiting or crediting the account, newest first: at most `limit` single-phase and pending
   * transfers created before `before`, each ended pending transfer preceded by its post or void record.
   */
  listTransfers(accountId: string, opts?: ListTransfersOptions): Promise<Transfer[]>;
  /** Expires pending transfers whose `timeoutAt <= now` (default: the clock) and returns them. */
  expirePending(now?: number): Promise<Transfer[]>;
  /** Per-currency sums over all accounts; double entry means debits equal credits in each. */
  totals(): Promise<CurrencyTotals[]>;
  /** Waits for queued commands, then refuses new ones. Does not close the caller's database. */
  close(): Promise<void>;
}
