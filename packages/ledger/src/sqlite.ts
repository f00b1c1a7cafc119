// The SQLite implementation of `Ledger`: commands are validated on arrival, queued, and applied by
// group commit in one transaction per batch. better-sqlite3 is synchronous, so a batch runs without
// interleaving and reads always see committed state.
import type Database from 'better-sqlite3';
import { BatchApplier } from './engine.js';
import { BatchedLedger, applyJobs, maxBatchOption, type Job } from './ledger-base.js';
import { endedPendingIds, historyPage, toAccount, toTransfer } from './records.js';
import { HISTORY_MARK_EVERY, migrate } from './sqlite-schema.js';
import { SqliteStore } from './sqlite-store.js';
import {
  prepareStatements,
  toAccountState,
  toRecord,
  toTotals,
  type Statements,
} from './sqlite-statements.js';
import type { PreparedCommand } from './engine.js';
import type { Account, CurrencyTotals, Ledger, LedgerResult, OpenTransaction, Transfer } from './types.js';

export interface SqliteLedgerOptions {
  /** The node's database, opened by the caller (see `openDatabase`); the ledger adds `ledger_` tables. */
  readonly db: Database.Database;
  /** Epoch milliseconds; defaults to `Date.now`. Tests pass a fake clock. */
  readonly clock?: () => number;
  /** A batch holds at most this many commands (default 4096). */
  readonly maxBatch?: number;
  /**
   * Runs each group commit while nobody else uses the connection. A node that also reaches the same
   * connection through an async query builder passes its lock here, so that a ledger commit never lands
   * inside one of its open transactions. Default: run at once.
   */
  readonly exclusive?: (commit: () => void) => Promise<void>;
  /**
   * For a database whose commits only write the WAL (`synchronous = NORMAL`): resolves once every commit made
   * so far is on disk. A batch's commands settle only then, so no caller acts on a commit that a power cut could
   * still undo. Default: commits are durable when they return (`synchronous = FULL`).
   */
  readonly durable?: () => Promise<void>;
  /** Told how many jobs each group commit holds (a node's metrics). */
  readonly onBatch?: (jobs: number) => void;
}

class SqliteLedger extends BatchedLedger {
  private readonly s: Statements;
  private readonly store: SqliteStore;
  /** The savepoint `applyWithin` runs in. */
  private readonly within: Record<'savepoint' | 'release' | 'rollbackTo', Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    clock: () => number,
    maxBatch: number,
    private readonly exclusive?: (commit: () => void) => Promise<void>,
    private readonly durable?: () => Promise<void>,
    onBatch?: (jobs: number) => void,
  ) {
    super(clock, maxBatch, onBatch);
    this.s = prepareStatements(db);
    this.store = new SqliteStore(db, this.s);
    this.within = {
      savepoint: db.prepare('SAVEPOINT ledger_within'),
      release: db.prepare('RELEASE ledger_within'),
      rollbackTo: db.prepare('ROLLBACK TO ledger_within'),
    };
  }

  protected async readAccounts(ids: readonly string[]): Promise<Account[]> {
    return this.s.selectAccounts.all(JSON.stringify(ids)).map((r) => toAccount(toAccountState(r)));
  }

  async getTransfer(id: string): Promise<Transfer | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.s.selectTransfer.get(id);
    return row === undefined ? undefined : toTransfer(toRecord(row));
  }

  protected async readHistory(accountId: string, limit: number, before: number): Promise<Transfer[]> {
    const head = this.s.selectHead.get(accountId);
    if (head === undefined || head.history_head === null) return [];
    const mark = this.s.selectMark.get(head.n, before);
    const page = this.s.history
      .all({
        start: Number(mark?.seq ?? head.history_head),
        account: accountId,
        before,
        steps: limit + HISTORY_MARK_EVERY,
        limit,
      })
      .map(toRecord);
    const ended = endedPendingIds(page);
    const enders = ended.length === 0 ? [] : this.s.selectEnders.all(JSON.stringify(ended)).map(toRecord);
    return historyPage(page, enders);
  }

  async totals(): Promise<CurrencyTotals[]> {
    return this.s.totals.all().map(toTotals);
  }

  protected async release(): Promise<void> {}

  /**
   * Runs inside the caller's transaction on this connection (in a savepoint of its own). The caches are
   * dropped afterwards: the caller may still roll back what the commands wrote.
   */
  protected async applyWithin(
    _within: OpenTransaction,
    commands: PreparedCommand[],
    atomic: boolean,
  ): Promise<LedgerResult[]> {
    if (!this.db.inTransaction) {
      throw new Error("ledger: executeWithin needs a transaction open on the ledger's connection");
    }
    this.within.savepoint.run();
    try {
      const newest = this.store.begin();
      if (newest !== undefined) this.notBefore(newest);
      const now = this.tick();
      const applier = new BatchApplier(this.store, now);
      const results = atomic ? applier.applyAtomic(commands) : applier.applyEach(commands);
      applier.finish();
      this.within.release.run();
      return results;
    } catch (e) {
      this.within.rollbackTo.run();
      this.within.release.run();
      throw e;
    } finally {
      this.store.committed(true);
    }
  }

  protected runBatch(jobs: Job[]): void | Promise<void> {
    if (this.exclusive) return this.exclusive(() => this.commitBatch(jobs));
    this.commitBatch(jobs);
  }

  private commitBatch(jobs: Job[]): void {
    try {
      this.runTransaction(jobs);
    } catch (e) {
      if (jobs.length === 1) throw e;
      // One job made the database fail (a bug or a full disk): run the others on their own.
      for (const job of jobs) {
        try {
          this.runTransaction([job]);
        } catch (err) {
          job.reject(err);
        }
      }
    }
  }

  /**
   * Runs jobs in one transaction and settles them only after it commits. BEGIN IMMEDIATE takes the
   * write lock up front, so another connection makes it wait (busy_timeout) rather than fail.
   */
  private runTransaction(jobs: Job[]): void {
    const nested = this.db.inTransaction;
    let settle: Array<() => void>;
    try {
      settle = this.db
        .transaction(() => {
          const newest = this.store.begin();
          if (newest !== undefined) this.notBefore(newest);
          const now = this.tick();
          return applyJobs(new BatchApplier(this.store, now), jobs, now);
        })
        .immediate();
    } catch (e) {
      this.store.discard();
      throw e;
    }
    this.store.committed(nested);
    const settleAll = () => {
      for (const s of settle) s();
    };
    if (this.durable && !nested) {
      void this.durable().then(settleAll, (e: unknown) => {
        for (const job of jobs) job.reject(e);
      });
    } else settleAll();
  }
}

/**
 * Creates a ledger on the caller's SQLite database, creating or migrating its tables on first use.
 *
 * @example
 * const ledger = await createSqliteLedger({ db: openDatabase('node.db') });
 * await ledger.createAccount({ id: 'acc_alice', currency: 'KES', rule: 'debits_must_not_exceed_credits', code: 'customer' });
 */
export async function createSqliteLedger(opts: SqliteLedgerOptions): Promise<Ledger> {
  const maxBatch = maxBatchOption(opts.maxBatch);
  migrate(opts.db);
  return new SqliteLedger(
    opts.db,
    opts.clock ?? Date.now,
    maxBatch,
    opts.exclusive,
    opts.durable,
    opts.onBatch,
  );
}
