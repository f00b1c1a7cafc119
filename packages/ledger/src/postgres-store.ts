// The PostgreSQL side of a batch. Before the engine runs, everything the batch can look at is read in
// two queries: the accounts (locked, in id order) and the transfer records named by its commands. The
// engine then works in memory, and the writes go back in one statement. Several instances may share the
// database: the account locks serialise batches that touch the same accounts, and what a concurrent
// instance did first (an id it inserted, a reservation it made whose accounts we have not locked) makes
// the batch start again.
import type pg from 'pg';
import type { BatchStore, EndState, PreparedCommand } from './engine.js';
import type { Job } from './ledger-base.js';
import type { AccountState, TransferRecord } from './records.js';
import {
  bigintArray,
  textArray,
  toAccountState,
  toRecord,
  type AccountRow,
  type LedgerSql,
  type TransferRow,
  type WriteCounts,
} from './postgres-sql.js';
import type { ValidCreateAccount } from './validate.js';

/** What a batch will look at, known from its commands before it runs. */
export interface BatchPlan {
  readonly accountIds: ReadonlySet<string>;
  /** Ids of transfer, post and void commands, and the pending transfers they name. */
  readonly transferIds: ReadonlySet<string>;
  readonly pendingIds: ReadonlySet<string>;
  /** The latest time an expire job of the batch looks at, or null without one. */
  readonly dueAt: number | null;
}

export function planBatch(jobs: readonly Job[], now: number, extraAccounts: readonly string[]): BatchPlan {
  const accountIds = new Set(extraAccounts);
  const transferIds = new Set<string>();
  const pendingIds = new Set<string>();
  let dueAt: number | null = null;
  const add = (c: PreparedCommand): void => {
    if ('ok' in c) return;
    switch (c.kind) {
      case 'createAccount':
        accountIds.add(c.id);
        break;
      case 'transfer':
        accountIds.add(c.debitAccountId).add(c.creditAccountId);
        transferIds.add(c.id);
        break;
      case 'post':
      case 'void':
        transferIds.add(c.id).add(c.pendingId);
        pendingIds.add(c.pendingId);
        break;
    }
  };
  for (const job of jobs) {
    if (job.kind === 'expire') dueAt = Math.max(dueAt ?? job.at ?? now, job.at ?? now);
    else job.commands.forEach(add);
  }
  return { accountIds, transferIds, pendingIds, dueAt };
}

/**
 * A deadlock (two instances inserting the same new ids in opposite orders wait for each other) or a
 * serialization failure: the batch may simply run again.
 */
export function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export class PostgresBatch implements BatchStore<AccountState> {
  /** The locked accounts. */
  private readonly accounts = new Map<string, AccountState>();
  /** Loaded and new records. */
  private readonly transfers = new Map<string, TransferRecord>();
  /** Loaded pending records due by the plan's dueAt. */
  private readonly dueLoaded: TransferRecord[] = [];
  private readonly newAccounts: AccountState[] = [];
  private readonly newTransfers: TransferRecord[] = [];
  private readonly newIds = new Set<string>();
  /** Loaded records ended in this batch. */
  private readonly endedRecords: TransferRecord[] = [];
  private changedAccounts: readonly AccountState[] = [];
  /** Set during an atomic group: how to undo its changes. */
  private journal: Array<() => void> | undefined;

  private constructor(private readonly plan: BatchPlan) {}

  /** Locks and reads what the batch needs (inside the caller's open transaction). */
  static async load(client: pg.ClientBase, sql: LedgerSql, plan: BatchPlan): Promise<PostgresBatch> {
    const batch = new PostgresBatch(plan);
    const locked = await client.query<AccountRow>({
      ...sql.lockAccounts,
      values: [textArray([...plan.accountIds]), textArray([...plan.pendingIds]), plan.dueAt],
    });
    for (const row of locked.rows) batch.accounts.set(row.id, toAccountState(row));
    if (plan.transferIds.size > 0 || plan.dueAt !== null) {
      const loaded = await client.query<TransferRow>({
        ...sql.loadTransfers,
        values: [textArray([...plan.transferIds]), plan.dueAt],
      });
      for (const row of loaded.rows) {
        if (batch.transfers.has(row.id)) continue;
        const t = toRecord(row);
        batch.transfers.set(t.id, t);
        if (
          plan.dueAt !== null &&
          t.state === 'pending' &&
          t.timeoutAt !== null &&
          t.timeoutAt <= plan.dueAt
        ) {
          batch.dueLoaded.push(t);
        }
      }
    }
    return batch;
  }

  /**
   * Accounts of pending transfers the batch may end that are not locked: another instance made the
   * reservation after our lock was taken. The batch must run again with them locked too.
   */
  unlockedAccounts(): string[] {
    const missing = new Set<string>();
    const check = (t: TransferRecord | undefined): void => {
      if (t?.state !== 'pending') return;
      for (const id of [t.debitAccountId, t.creditAccountId]) if (!this.accounts.has(id)) missing.add(id);
    };
    for (const id of this.plan.pendingIds) check(this.transfers.get(id));
    this.dueLoaded.forEach(check);
    return [...missing];
  }

  loadAccount(id: string): AccountState | undefined {
    const a = this.accounts.get(id);
    if (a === undefined && !this.plan.accountIds.has(id))
      throw new Error(`ledger: account ${id} was not loaded`);
    return a;
  }

  insertAccount(c: ValidCreateAccount, now: number): AccountState {
    const a: AccountState = {
      id: c.id,
      currency: c.currency,
      rule: c.rule,
      code: c.code,
      createdAt: now,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      dirty: false,
    };
    this.newAccounts.push(a);
    this.journal?.push(() => this.newAccounts.pop());
    return a;
  }

  transfer(id: string): TransferRecord | undefined {
    const t = this.transfers.get(id);
    if (t === undefined && !this.plan.transferIds.has(id))
      throw new Error(`ledger: transfer ${id} was not loaded`);
    return t;
  }

  insertTransfer(t: TransferRecord): boolean {
    if (this.transfers.has(t.id)) return false;
    this.transfers.set(t.id, t);
    this.newTransfers.push(t);
    this.newIds.add(t.id);
    this.journal?.push(() => {
      this.transfers.delete(t.id);
      this.newTransfers.pop();
      this.newIds.delete(t.id);
    });
    return true;
  }

  endPending(t: TransferRecord, state: EndState): void {
    if (t.state !== 'pending') throw new Error(`ledger: pending transfer ${t.id} was not pending`);
    t.state = state;
    // A record made in this batch is inserted in its final state.
    const loaded = !this.newIds.has(t.id);
    if (loaded) this.endedRecords.push(t);
    this.journal?.push(() => {
      t.state = 'pending';
      if (loaded) this.endedRecords.pop();
    });
  }

  due(at: number): TransferRecord[] {
    const isDue = (t: TransferRecord): boolean =>
      t.kind === 'pending' && t.state === 'pending' && t.timeoutAt !== null && t.timeoutAt <= at;
    // Loaded records have a seq and come first; new ones follow in arrival order (sort is stable).
    return [...this.dueLoaded.filter(isDue), ...this.newTransfers.filter(isDue)].sort(
      (x, y) => (x.timeoutAt ?? 0) - (y.timeoutAt ?? 0) || (x.seq ?? Infinity) - (y.seq ?? Infinity),
    );
  }

  writeAccounts(accounts: readonly AccountState[]): void {
    this.changedAccounts = accounts;
  }

  beginAtomic(): void {
    this.journal = [];
  }

  endAtomic(keep: boolean): void {
    const journal = this.journal ?? [];
    this.journal = undefined;
    if (!keep) for (let i = journal.length - 1; i >= 0; i--) journal[i]?.();
  }

  /**
   * Writes the batch in one statement; false when another instance got there first (an account or
   * record id it inserted meanwhile), and the transaction must be rolled back and the batch run again.
   */
  async write(client: pg.ClientBase, sql: LedgerSql): Promise<boolean> {
    const fresh = new Set(this.newAccounts.map((a) => a.id));
    const changed = this.changedAccounts.filter((a) => !fresh.has(a.id));
    const ended = this.endedRecords;
    const timed = ended.filter((t) => t.timeoutAt !== null);
    if (this.newAccounts.length + changed.length + this.newTransfers.length + ended.length === 0) return true;
    const na = this.newAccounts;
    const nt = this.newTransfers;
    const { rows } = await client.query<WriteCounts>({
      ...sql.write,
      values: [
        textArray(na.map((a) => a.id)),
        textArray(na.map((a) => a.currency)),
        textArray(na.map((a) => a.rule)),
        textArray(na.map((a) => a.code)),
        bigintArray(na.map((a) => a.debitsPending)),
        bigintArray(na.map((a) => a.debitsPosted)),
        bigintArray(na.map((a) => a.creditsPending)),
        bigintArray(na.map((a) => a.creditsPosted)),
        bigintArray(na.map((a) => a.createdAt)),
        textArray(changed.map((a) => a.id)),
        bigintArray(changed.map((a) => a.debitsPending)),
        bigintArray(changed.map((a) => a.debitsPosted)),
        bigintArray(changed.map((a) => a.creditsPending)),
        bigintArray(changed.map((a) => a.creditsPosted)),
        textArray(nt.map((t) => t.id)),
        textArray(nt.map((t) => t.kind)),
        textArray(nt.map((t) => t.debitAccountId)),
        textArray(nt.map((t) => t.creditAccountId)),
        bigintArray(nt.map((t) => t.amount)),
        textArray(nt.map((t) => t.currency)),
        textArray(nt.map((t) => t.state)),
        textArray(nt.map((t) => t.pendingId)),
        textArray(nt.map((t) => t.code)),
        textArray(nt.map((t) => t.reference)),
        bigintArray(nt.map((t) => t.timeoutAt)),
        bigintArray(nt.map((t) => t.createdAt)),
        textArray(ended.map((t) => t.id)),
        textArray(ended.map((t) => t.state)),
        bigintArray(timed.map((t) => t.timeoutAt)),
        textArray(timed.map((t) => t.id)),
      ],
    });
    const counts = rows[0];
    if (counts === undefined) throw new Error('ledger: the write returned no counts');
    if (counts.changed !== changed.length || counts.ended !== ended.length) {
      // Every such row is locked by this transaction: a bug, not a race.
      throw new Error(
        `ledger: wrote ${counts.changed}/${changed.length} accounts, ended ${counts.ended}/${ended.length}`,
      );
    }
    return counts.accounts === na.length && counts.transfers === nt.length;
  }
}
