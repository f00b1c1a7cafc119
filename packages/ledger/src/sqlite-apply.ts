// Applies validated commands inside one open SQLite transaction (one group-commit batch). Account rows
// are read once per batch and their sums kept in memory, then written once at the end: a hot account
// (settlement, fee income) costs one UPDATE per batch instead of one per transfer.
import { sameResolveCommand, sameTransferCommand } from './idempotency.js';
import type { AccountRow, PendingRow, Statements } from './sqlite-statements.js';
import { makeTransfer, toStoredTransfer, toTransfer } from './sqlite-statements.js';
import type {
  Account,
  AccountRule,
  LedgerFailure,
  LedgerResult,
  Transfer,
  TransferKind,
  TransferState,
} from './types.js';
import type { ValidCommand, ValidCreateAccount, ValidPost, ValidTransfer, ValidVoid } from './validate.js';
import { MAX_AMOUNT, fail } from './validate.js';

/** A prepared command: validated, or already failed validation. */
export type PreparedCommand = ValidCommand | LedgerFailure;

interface AccountState {
  readonly id: string;
  readonly currency: string;
  readonly rule: AccountRule;
  readonly code: string;
  readonly createdAt: number;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  dirty: boolean;
}

function fromRow(row: AccountRow): AccountState {
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

function snapshot(a: AccountState): Account {
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

const overflows = (value: bigint): boolean => value > MAX_AMOUNT;

export class SqliteBatch {
  private readonly accounts = new Map<string, AccountState>();
  /** Set while an atomic group runs: how to restore the in-memory sums if the group fails. */
  private undo: Array<() => void> | undefined;

  constructor(
    private readonly s: Statements,
    private readonly now: number,
  ) {}

  /** Each command as if alone: a failure changes nothing. */
  applyEach(commands: readonly PreparedCommand[]): LedgerResult[] {
    return commands.map((c) => this.apply(c));
  }

  /** All or nothing: on any failure the group is rolled back and the successes report LINKED_FAILED. */
  applyAtomic(commands: readonly PreparedCommand[]): LedgerResult[] {
    const undo: Array<() => void> = [];
    this.s.savepoint.run();
    this.undo = undo;
    try {
      const results = commands.map((c) => this.apply(c));
      if (results.every((r) => r.ok)) return results;
      this.s.rollbackToSavepoint.run();
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      return results.map((r) => (r.ok ? fail('LINKED_FAILED') : r));
    } finally {
      this.undo = undefined;
      this.s.releaseSavepoint.run();
    }
  }

  /** Releases every pending transfer whose timeout is at or before `at`. */
  expire(at: number): Transfer[] {
    return this.s.selectDue.all(at).map((row) => {
      this.end(row, 'expired', 0n);
      return toTransfer(row, 'expired');
    });
  }

  /** Writes the sums of the accounts changed in this batch. */
  finish(): void {
    for (const a of this.accounts.values()) {
      if (!a.dirty) continue;
      this.s.updateAccount.run(a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted, a.id);
      a.dirty = false;
    }
  }

  private apply(c: PreparedCommand): LedgerResult {
    if ('ok' in c) return c;
    switch (c.kind) {
      case 'createAccount':
        return this.createAccount(c);
      case 'transfer':
        return this.transfer(c);
      case 'post':
      case 'void':
        return this.resolveCommand(c);
    }
  }

  private account(id: string): AccountState | undefined {
    let a = this.accounts.get(id);
    if (a === undefined) {
      const row = this.s.selectAccount.get(id);
      if (row === undefined) return undefined;
      a = fromRow(row);
      this.accounts.set(id, a);
    }
    return a;
  }

  /** Marks the account for writing, remembering its sums in case the atomic group fails. */
  private touch(a: AccountState): AccountState {
    a.dirty = true;
    if (this.undo !== undefined) {
      const { debitsPending, debitsPosted, creditsPending, creditsPosted } = a;
      this.undo.push(() => Object.assign(a, { debitsPending, debitsPosted, creditsPending, creditsPosted }));
    }
    return a;
  }

  private createAccount(c: ValidCreateAccount): LedgerResult {
    const existing = this.account(c.id);
    if (existing !== undefined) {
      const same = existing.currency === c.currency && existing.rule === c.rule && existing.code === c.code;
      if (!same) return fail('ACCOUNT_EXISTS_DIFFERENT', c.id);
      return { ok: true, account: snapshot(existing), replayed: true };
    }
    this.s.insertAccount.run(c.id, c.currency, c.rule, c.code, this.now);
    const a: AccountState = {
      id: c.id,
      currency: c.currency,
      rule: c.rule,
      code: c.code,
      createdAt: this.now,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      dirty: false,
    };
    this.accounts.set(c.id, a);
    this.undo?.push(() => this.accounts.delete(c.id));
    return { ok: true, account: snapshot(a), replayed: false };
  }

  /**
   * The result of a command whose id is already stored: a replay, or a conflict; undefined when the id
   * is new. `pending` is the row named by a post or void command's pendingId.
   */
  private replay(c: ValidTransfer | ValidPost | ValidVoid, pending?: PendingRow): LedgerResult | undefined {
    const row = this.s.selectTransfer.get(c.id);
    if (row === undefined) return undefined;
    const stored = toStoredTransfer(row);
    const same =
      c.kind === 'transfer'
        ? sameTransferCommand(c, stored)
        : sameResolveCommand(
            c,
            stored,
            pending && {
              amount: pending.amount,
              code: pending.code ?? undefined,
              reference: pending.reference ?? undefined,
            },
          );
    if (!same) return fail('ID_EXISTS_DIFFERENT', c.id);
    return { ok: true, transfer: toTransfer(row), replayed: true };
  }

  /** The result of a command whose insert hit an existing id. */
  private replayStored(c: ValidTransfer | ValidPost | ValidVoid, pending?: PendingRow): LedgerResult {
    const result = this.replay(c, pending);
    if (result === undefined) throw new Error(`ledger: transfer ${c.id} conflicted but is not stored`);
    return result;
  }

  private checkTransfer(
    c: ValidTransfer,
    debit: AccountState | undefined,
    credit: AccountState | undefined,
  ): LedgerFailure | undefined {
    if (debit === undefined) return fail('ACCOUNT_NOT_FOUND', c.debitAccountId);
    if (credit === undefined) return fail('ACCOUNT_NOT_FOUND', c.creditAccountId);
    if (debit.currency !== c.currency || credit.currency !== c.currency) {
      return fail('CURRENCY_MISMATCH', `${c.currency}: ${debit.currency} to ${credit.currency}`);
    }
    const amount = c.amount;
    const debitSide = c.pending ? debit.debitsPending : debit.debitsPosted;
    const creditSide = c.pending ? credit.creditsPending : credit.creditsPosted;
    if (overflows(debitSide + amount) || overflows(creditSide + amount)) {
      return fail('INVALID_COMMAND', 'the account sums would exceed the 64-bit range');
    }
    if (
      debit.rule === 'debits_must_not_exceed_credits' &&
      debit.debitsPending + debit.debitsPosted + amount > debit.creditsPosted
    ) {
      return fail('EXCEEDS_CREDITS', c.debitAccountId);
    }
    if (
      credit.rule === 'credits_must_not_exceed_debits' &&
      credit.creditsPending + credit.creditsPosted + amount > credit.debitsPosted
    ) {
      return fail('EXCEEDS_DEBITS', c.creditAccountId);
    }
    return undefined;
  }

  private transfer(c: ValidTransfer): LedgerResult {
    const debit = this.account(c.debitAccountId);
    const credit = this.account(c.creditAccountId);
    const failure = this.checkTransfer(c, debit, credit);
    if (failure !== undefined || debit === undefined || credit === undefined) {
      // A retry of a command that succeeded may no longer pass the checks: the stored result wins.
      return this.replay(c) ?? failure ?? fail('ACCOUNT_NOT_FOUND');
    }
    const kind: TransferKind = c.pending ? 'pending' : 'single';
    const state: TransferState = c.pending ? 'pending' : 'posted';
    const timeoutAt = c.timeoutMs === undefined ? null : this.now + c.timeoutMs;
    const code = c.code ?? null;
    const reference = c.reference ?? null;
    const inserted = this.s.insertTransfer.run(
      c.id,
      kind,
      c.debitAccountId,
      c.creditAccountId,
      c.amount,
      c.currency,
      state,
      null,
      code,
      reference,
      timeoutAt,
      this.now,
    );
    if (inserted.changes === 0) return this.replayStored(c);
    this.touch(debit);
    this.touch(credit);
    if (c.pending) {
      debit.debitsPending += c.amount;
      credit.creditsPending += c.amount;
    } else {
      debit.debitsPosted += c.amount;
      credit.creditsPosted += c.amount;
    }
    return {
      ok: true,
      transfer: makeTransfer(
        c.id,
        c.debitAccountId,
        c.creditAccountId,
        c.amount,
        c.currency,
        state,
        null,
        code,
        reference,
        timeoutAt,
        this.now,
      ),
      replayed: false,
    };
  }

  /** Post or void: ends a pending transfer and stores the command as a record of its own. */
  private resolveCommand(c: ValidPost | ValidVoid): LedgerResult {
    const row = this.s.selectPending.get(c.pendingId);
    const pending = row !== undefined && row.kind === 'pending' ? row : undefined;
    const amount = pending === undefined || c.kind === 'void' ? undefined : (c.amount ?? pending.amount);
    const failure = this.checkResolve(c, pending, amount);
    if (failure !== undefined || pending === undefined) {
      // A repeated post or void finds its pending transfer resolved: the stored result wins.
      return this.replay(c, pending) ?? failure ?? fail('PENDING_NOT_FOUND');
    }
    const state: TransferState = c.kind === 'post' ? 'posted' : 'voided';
    const recordAmount = amount ?? pending.amount;
    const code = c.code ?? pending.code;
    const reference = c.reference ?? pending.reference;
    const inserted = this.s.insertTransfer.run(
      c.id,
      c.kind,
      pending.debit_account_id,
      pending.credit_account_id,
      recordAmount,
      pending.currency,
      state,
      pending.id,
      code,
      reference,
      null,
      this.now,
    );
    if (inserted.changes === 0) return this.replayStored(c, pending);
    this.end(pending, state, amount ?? 0n);
    return {
      ok: true,
      transfer: makeTransfer(
        c.id,
        pending.debit_account_id,
        pending.credit_account_id,
        recordAmount,
        pending.currency,
        state,
        pending.id,
        code,
        reference,
        null,
        this.now,
      ),
      replayed: false,
    };
  }

  /** `amount` is the amount to post (undefined for a void). */
  private checkResolve(
    c: ValidPost | ValidVoid,
    pending: PendingRow | undefined,
    amount: bigint | undefined,
  ): LedgerFailure | undefined {
    if (pending === undefined) return fail('PENDING_NOT_FOUND', c.pendingId);
    switch (pending.state) {
      case 'posted':
        return fail('PENDING_ALREADY_POSTED', c.pendingId);
      case 'voided':
        return fail('PENDING_ALREADY_VOIDED', c.pendingId);
      case 'expired':
        return fail('PENDING_EXPIRED', c.pendingId);
      case 'pending':
        break;
    }
    if (pending.timeout_at !== null && pending.timeout_at <= BigInt(this.now)) {
      return fail('PENDING_EXPIRED', c.pendingId);
    }
    if (amount === undefined) return undefined;
    if (amount > pending.amount) {
      return fail('POST_AMOUNT_EXCEEDS_PENDING', `${amount} > ${pending.amount}`);
    }
    const [debit, credit] = this.accountsOf(pending);
    if (overflows(debit.debitsPosted + amount) || overflows(credit.creditsPosted + amount)) {
      return fail('INVALID_COMMAND', 'the account sums would exceed the 64-bit range');
    }
    return undefined;
  }

  private accountsOf(
    t: Pick<PendingRow, 'id' | 'debit_account_id' | 'credit_account_id'>,
  ): [AccountState, AccountState] {
    const debit = this.account(t.debit_account_id);
    const credit = this.account(t.credit_account_id);
    if (debit === undefined || credit === undefined) throw new Error(`ledger: accounts of ${t.id} missing`);
    return [debit, credit];
  }

  /** Ends a pending transfer: releases its reservation and posts `posted` of it (0 for void/expiry). */
  private end(pending: PendingRow, state: Exclude<TransferState, 'pending'>, posted: bigint): void {
    if (this.s.endPending.run(state, pending.id).changes !== 1) {
      throw new Error(`ledger: pending transfer ${pending.id} was not pending`);
    }
    const [debit, credit] = this.accountsOf(pending);
    this.touch(debit);
    this.touch(credit);
    debit.debitsPending -= pending.amount;
    credit.creditsPending -= pending.amount;
    debit.debitsPosted += posted;
    credit.creditsPosted += posted;
  }
}
