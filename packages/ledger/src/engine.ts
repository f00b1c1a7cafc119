// The rules of the ledger, applied to one group-commit batch inside one open database transaction.
// Storage-independent: a store provides lookups and writes through `BatchStore`. Account sums are kept
// in memory for the batch and written once at its end, so a hot account (settlement, a big merchant)
// costs one write per batch instead of one per transfer.
import { sameResolveCommand, sameTransferCommand } from './idempotency.js';
import { toAccount, toTransfer, type AccountState, type TransferRecord } from './records.js';
import type { LedgerFailure, LedgerResult, Transfer, TransferState } from './types.js';
import type { ValidCommand, ValidCreateAccount, ValidPost, ValidTransfer, ValidVoid } from './validate.js';
import { MAX_AMOUNT, fail } from './validate.js';

/** A prepared command: validated, or already failed validation. */
export type PreparedCommand = ValidCommand | LedgerFailure;

export type EndState = Exclude<TransferState, 'pending'>;

/**
 * What the engine needs from a store during one batch. Lookups are synchronous: SQLite reads on demand,
 * PostgreSQL answers from what it loaded (and locked) before the batch started. Every lookup reflects the
 * writes made earlier in the batch.
 */
export interface BatchStore<A extends AccountState> {
  /** The account, or undefined when there is none. Asked at most once per id per batch. */
  loadAccount(id: string): A | undefined;
  /** Creates an account with zero sums and returns its state. */
  insertAccount(c: ValidCreateAccount, now: number): A;
  /** A transfer, post or void record by id. */
  transfer(id: string): TransferRecord | undefined;
  /**
   * Stores a new record between two accounts (already marked dirty); false, and nothing stored, when
   * the id is taken: the command was seen before.
   */
  insertTransfer(t: TransferRecord, debit: A, credit: A): boolean;
  /** Sets the state of a record that is pending in the store; anything else is a bug and throws. */
  endPending(t: TransferRecord, state: EndState): void;
  /** Pending records whose timeout is at or before `at`, by timeout, then arrival. */
  due(at: number): TransferRecord[];
  /** Writes the sums of the accounts changed in the batch. */
  writeAccounts(accounts: readonly A[]): void;
  /** Brackets an atomic group; `keep` false undoes every store change made since `beginAtomic`. */
  beginAtomic(): void;
  endAtomic(keep: boolean): void;
}

const overflows = (value: bigint): boolean => value > MAX_AMOUNT;

export class BatchApplier<A extends AccountState> {
  /** The accounts used by this batch; each is loaded once. */
  private readonly accounts = new Map<string, A>();
  /** Set while an atomic group runs: how to restore the in-memory state if the group fails. */
  private undo: Array<() => void> | undefined;

  constructor(
    private readonly store: BatchStore<A>,
    private readonly now: number,
  ) {}

  /** Each command as if alone: a failure changes nothing. */
  applyEach(commands: readonly PreparedCommand[]): LedgerResult[] {
    return commands.map((c) => this.apply(c));
  }

  /** All or nothing: on any failure the group is undone and the successes report LINKED_FAILED. */
  applyAtomic(commands: readonly PreparedCommand[]): LedgerResult[] {
    const undo: Array<() => void> = [];
    this.store.beginAtomic();
    this.undo = undo;
    let keep = false;
    try {
      const results = commands.map((c) => this.apply(c));
      keep = results.every((r) => r.ok);
      if (keep) return results;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      return results.map((r) => (r.ok ? fail('LINKED_FAILED') : r));
    } finally {
      this.undo = undefined;
      this.store.endAtomic(keep);
    }
  }

  /** Releases every pending transfer whose timeout is at or before `at`. */
  expire(at: number): Transfer[] {
    return this.store.due(at).map((t) => {
      this.end(t, 'expired', 0n);
      return toTransfer(t);
    });
  }

  /** Writes the sums of the accounts changed in this batch. */
  finish(): void {
    const dirty = [...this.accounts.values()].filter((a) => a.dirty);
    if (dirty.length > 0) this.store.writeAccounts(dirty);
    for (const a of dirty) a.dirty = false;
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

  private account(id: string): A | undefined {
    let a = this.accounts.get(id);
    if (a === undefined) {
      a = this.store.loadAccount(id);
      if (a === undefined) return undefined;
      this.accounts.set(id, a);
    }
    return a;
  }

  /**
   * Marks the account for writing. In an atomic group, remembers all of its fields first (the sums and
   * whatever the store keeps beside them) in case the group fails.
   */
  private touch(a: A): void {
    if (this.undo !== undefined) {
      const saved = { ...a };
      this.undo.push(() => Object.assign(a, saved));
    }
    a.dirty = true;
  }

  private createAccount(c: ValidCreateAccount): LedgerResult {
    const existing = this.account(c.id);
    if (existing !== undefined) {
      const same = existing.currency === c.currency && existing.rule === c.rule && existing.code === c.code;
      if (!same) return fail('ACCOUNT_EXISTS_DIFFERENT', c.id);
      return { ok: true, account: toAccount(existing), replayed: true };
    }
    const a = this.store.insertAccount(c, this.now);
    this.accounts.set(c.id, a);
    this.undo?.push(() => this.accounts.delete(c.id));
    return { ok: true, account: toAccount(a), replayed: false };
  }

  /**
   * The result of a command whose id is already stored: a replay, or a conflict; undefined when the id
   * is new. `pending` is the record named by a post or void command's pendingId.
   */
  private replay(
    c: ValidTransfer | ValidPost | ValidVoid,
    pending?: TransferRecord,
  ): LedgerResult | undefined {
    const stored = this.store.transfer(c.id);
    if (stored === undefined) return undefined;
    const same =
      c.kind === 'transfer' ? sameTransferCommand(c, stored) : sameResolveCommand(c, stored, pending);
    if (!same) return fail('ID_EXISTS_DIFFERENT', c.id);
    return { ok: true, transfer: toTransfer(stored), replayed: true };
  }

  /** The result of a command whose insert hit an existing id. */
  private replayStored(c: ValidTransfer | ValidPost | ValidVoid, pending?: TransferRecord): LedgerResult {
    const result = this.replay(c, pending);
    if (result === undefined) throw new Error(`ledger: transfer ${c.id} conflicted but is not stored`);
    return result;
  }

  private checkTransfer(
    c: ValidTransfer,
    debit: A | undefined,
    credit: A | undefined,
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
    const record: TransferRecord = {
      id: c.id,
      kind: c.pending ? 'pending' : 'single',
      debitAccountId: c.debitAccountId,
      creditAccountId: c.creditAccountId,
      amount: c.amount,
      currency: c.currency,
      state: c.pending ? 'pending' : 'posted',
      pendingId: null,
      code: c.code ?? null,
      reference: c.reference ?? null,
      timeoutAt: c.timeoutMs === undefined ? null : this.now + c.timeoutMs,
      createdAt: this.now,
      seq: undefined,
    };
    // Touched before the insert: the store may keep bookkeeping beside the sums (SQLite: history).
    this.touch(debit);
    this.touch(credit);
    if (!this.store.insertTransfer(record, debit, credit)) return this.replayStored(c);
    if (c.pending) {
      debit.debitsPending += c.amount;
      credit.creditsPending += c.amount;
    } else {
      debit.debitsPosted += c.amount;
      credit.creditsPosted += c.amount;
    }
    return { ok: true, transfer: toTransfer(record), replayed: false };
  }

  /** Post or void: ends a pending transfer and stores the command as a record of its own. */
  private resolveCommand(c: ValidPost | ValidVoid): LedgerResult {
    const found = this.store.transfer(c.pendingId);
    const pending = found?.kind === 'pending' ? found : undefined;
    const amount = pending === undefined || c.kind === 'void' ? undefined : (c.amount ?? pending.amount);
    const failure = this.checkResolve(c, pending, amount);
    if (failure !== undefined || pending === undefined) {
      // A repeated post or void finds its pending transfer resolved: the stored result wins.
      return this.replay(c, pending) ?? failure ?? fail('PENDING_NOT_FOUND');
    }
    const state: EndState = c.kind === 'post' ? 'posted' : 'voided';
    const record: TransferRecord = {
      id: c.id,
      kind: c.kind,
      debitAccountId: pending.debitAccountId,
      creditAccountId: pending.creditAccountId,
      amount: amount ?? pending.amount,
      currency: pending.currency,
      state,
      pendingId: pending.id,
      code: c.code ?? pending.code,
      reference: c.reference ?? pending.reference,
      timeoutAt: null,
      createdAt: this.now,
      seq: undefined,
    };
    const [debit, credit] = this.accountsOf(pending);
    this.touch(debit);
    this.touch(credit);
    if (!this.store.insertTransfer(record, debit, credit)) return this.replayStored(c, pending);
    this.end(pending, state, amount ?? 0n);
    return { ok: true, transfer: toTransfer(record), replayed: false };
  }

  /** `amount` is the amount to post (undefined for a void). */
  private checkResolve(
    c: ValidPost | ValidVoid,
    pending: TransferRecord | undefined,
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
    if (pending.timeoutAt !== null && pending.timeoutAt <= this.now) {
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

  private accountsOf(t: TransferRecord): [A, A] {
    const debit = this.account(t.debitAccountId);
    const credit = this.account(t.creditAccountId);
    if (debit === undefined || credit === undefined) throw new Error(`ledger: accounts of ${t.id} missing`);
    return [debit, credit];
  }

  /** Ends a pending transfer: releases its reservation and posts `posted` of it (0 for void/expiry). */
  private end(pending: TransferRecord, state: EndState, posted: bigint): void {
    const [debit, credit] = this.accountsOf(pending);
    this.store.endPending(pending, state);
    this.touch(debit);
    this.touch(credit);
    debit.debitsPending -= pending.amount;
    credit.creditsPending -= pending.amount;
    debit.debitsPosted += posted;
    credit.creditsPosted += posted;
  }
}
