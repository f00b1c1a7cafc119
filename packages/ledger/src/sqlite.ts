// The SQLite implementation of `Ledger`: commands are validated on arrival, queued, and applied by
// group commit in one transaction per batch. better-sqlite3 is synchronous, so a batch runs without
// interleaving and reads always see committed state.
import type Database from 'better-sqlite3';
import { createBatcher, type BatchJob, type Batcher } from './batch.js';
import { LedgerError } from './errors.js';
import { migrate } from './schema.js';
import { SqliteBatch, type PreparedCommand } from './sqlite-apply.js';
import {
  prepareStatements,
  toAccount,
  toTransfer,
  type Statements,
  type TransferRow,
} from './sqlite-statements.js';
import type {
  Account,
  CreateAccountInput,
  CurrencyTotals,
  Ledger,
  LedgerCommand,
  LedgerResult,
  LedgerSuccess,
  ListTransfersOptions,
  PostInput,
  Transfer,
  TransferInput,
  VoidInput,
} from './types.js';
import { validateCommand } from './validate.js';

export interface SqliteLedgerOptions {
  /** The node's database, opened by the caller (see `openDatabase`); the ledger adds `ledger_` tables. */
  readonly db: Database.Database;
  /** Epoch milliseconds; defaults to `Date.now`. Tests pass a fake clock. */
  readonly clock?: () => number;
  /** A batch is flushed at once when this many commands are queued (default 1000). */
  readonly maxBatch?: number;
}

type Job = BatchJob &
  (
    | { kind: 'execute'; atomic: boolean; commands: PreparedCommand[]; resolve(r: LedgerResult[]): void }
    | { kind: 'expire'; at: number | undefined; resolve(t: Transfer[]): void }
  );

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** The record of a convenience call's single result, or its failure thrown as a LedgerError. */
function unwrap<K extends 'transfer' | 'account'>(
  result: LedgerResult | undefined,
  key: K,
): NonNullable<LedgerSuccess[K]> {
  if (result === undefined) throw new Error('ledger: missing result');
  if (!result.ok) throw new LedgerError(result.code, result.message);
  const value = result[key];
  if (value === undefined) throw new Error(`ledger: result without ${key}`);
  return value;
}

class SqliteLedger implements Ledger {
  private readonly s: Statements;
  private readonly batcher: Batcher<Job>;
  private lastNow = 0;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: () => number,
    maxBatch: number,
  ) {
    this.s = prepareStatements(db);
    this.batcher = createBatcher<Job>({ maxBatch, run: (jobs) => this.run(jobs) });
  }

  execute(commands: readonly LedgerCommand[]): Promise<LedgerResult[]> {
    return this.submit(commands, false);
  }

  executeAtomic(commands: readonly LedgerCommand[]): Promise<LedgerResult[]> {
    return this.submit(commands, true);
  }

  async createAccount(input: CreateAccountInput) {
    const [result] = await this.execute([{ ...input, kind: 'createAccount' }]);
    return unwrap(result, 'account');
  }

  async transfer(input: TransferInput) {
    const [result] = await this.execute([{ ...input, kind: 'transfer' }]);
    return unwrap(result, 'transfer');
  }

  async post(input: PostInput) {
    const [result] = await this.execute([{ ...input, kind: 'post' }]);
    return unwrap(result, 'transfer');
  }

  async void(input: VoidInput) {
    const [result] = await this.execute([{ ...input, kind: 'void' }]);
    return unwrap(result, 'transfer');
  }

  async getAccount(id: string): Promise<Account | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.s.selectAccount.get(id);
    return row === undefined ? undefined : toAccount(row);
  }

  async getAccounts(ids: readonly string[]): Promise<Account[]> {
    if (!Array.isArray(ids) || ids.length === 0) return [];
    const wanted = ids.filter((id): id is string => typeof id === 'string');
    const byId = new Map(this.s.selectAccounts.all(JSON.stringify(wanted)).map((r) => [r.id, toAccount(r)]));
    return wanted.flatMap((id) => byId.get(id) ?? []);
  }

  async getTransfer(id: string): Promise<Transfer | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.s.selectTransfer.get(id);
    return row === undefined ? undefined : toTransfer(row);
  }

  async listTransfers(accountId: string, opts: ListTransfersOptions = {}): Promise<Transfer[]> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const before = opts.before ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new LedgerError('INVALID_COMMAND', `limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    if (!Number.isSafeInteger(before)) throw new LedgerError('INVALID_COMMAND', 'before must be an integer');
    if (typeof accountId !== 'string') return [];
    const rows = this.s.listTransfers.all({ account: accountId, before, limit });
    const ended = rows.filter((r) => r.kind === 'pending' && (r.state === 'posted' || r.state === 'voided'));
    const enders = new Map<string | null, TransferRow>(
      ended.length === 0
        ? []
        : this.s.selectEnders.all(JSON.stringify(ended.map((r) => r.id))).map((r) => [r.pending_id, r]),
    );
    return rows.flatMap((row) => {
      const ender = enders.get(row.id);
      return ender === undefined ? [toTransfer(row)] : [toTransfer(ender), toTransfer(row)];
    });
  }

  expirePending(now?: number): Promise<Transfer[]> {
    if (now !== undefined && !Number.isSafeInteger(now)) {
      return Promise.reject(
        new LedgerError('INVALID_COMMAND', 'now must be an integer of epoch milliseconds'),
      );
    }
    if (this.closed) return Promise.reject(new Error('ledger is closed'));
    return new Promise((resolve, reject) => {
      this.batcher.enqueue({ kind: 'expire', at: now, size: 1, resolve, reject });
    });
  }

  async totals(): Promise<CurrencyTotals[]> {
    return this.s.totals.all().map((r) => ({
      currency: r.currency,
      debitsPosted: r.debits_posted,
      creditsPosted: r.credits_posted,
      debitsPending: r.debits_pending,
      creditsPending: r.credits_pending,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.batcher.drain();
  }

  private submit(commands: readonly LedgerCommand[], atomic: boolean): Promise<LedgerResult[]> {
    if (this.closed) return Promise.reject(new Error('ledger is closed'));
    if (!Array.isArray(commands)) {
      return Promise.reject(new LedgerError('INVALID_COMMAND', 'commands must be an array'));
    }
    if (commands.length === 0) return Promise.resolve([]);
    // Validated now, so the caller may reuse its objects before the batch runs.
    const prepared = commands.map((c: unknown) => validateCommand(c));
    return new Promise((resolve, reject) => {
      this.batcher.enqueue({
        kind: 'execute',
        atomic,
        commands: prepared,
        size: prepared.length,
        resolve,
        reject,
      });
    });
  }

  /** A monotonic clock reading, so createdAt never goes back when the wall clock does. */
  private tick(): number {
    this.lastNow = Math.max(Math.floor(this.clock()), this.lastNow);
    return this.lastNow;
  }

  private run(jobs: Job[]): void {
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
    const now = this.tick();
    const settle = this.db
      .transaction(() => {
        const batch = new SqliteBatch(this.s, now);
        const settlers = jobs.map((job): (() => void) => {
          if (job.kind === 'expire') {
            const expired = batch.expire(job.at ?? now);
            return () => job.resolve(expired);
          }
          const results = job.atomic ? batch.applyAtomic(job.commands) : batch.applyEach(job.commands);
          return () => job.resolve(results);
        });
        batch.finish();
        return settlers;
      })
      .immediate();
    for (const s of settle) s();
  }
}

/**
 * Creates a ledger on the caller's SQLite database, creating its tables on first use.
 *
 * @example
 * const ledger = await createSqliteLedger({ db: openDatabase('node.db') });
 * await ledger.createAccount({ id: 'acc_alice', currency: 'KES', rule: 'debits_must_not_exceed_credits', code: 'customer' });
 */
export async function createSqliteLedger(opts: SqliteLedgerOptions): Promise<Ledger> {
  const maxBatch = opts.maxBatch ?? 1000;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
    throw new RangeError('maxBatch must be a positive integer');
  migrate(opts.db);
  return new SqliteLedger(opts.db, opts.clock ?? Date.now, maxBatch);
}
