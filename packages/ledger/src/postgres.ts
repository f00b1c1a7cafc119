// The PostgreSQL implementation of `Ledger`, for production and for several instances of a node on one
// database. Same rules and results as the SQLite store (the same engine applies them); a batch is one
// transaction of five round trips: BEGIN, lock and read the accounts, read the records, write, COMMIT.
import pg from 'pg';
import { BatchApplier } from './engine.js';
import { BatchedLedger, applyJobs, maxBatchOption, type Job } from './ledger-base.js';
import { PostgresBatch, isRetryable, planBatch } from './postgres-store.js';
import { migratePostgres, quoteSchema } from './postgres-schema.js';
import {
  ledgerSql,
  toAccountState,
  toRecord,
  toTotals,
  type AccountRow,
  type LedgerSql,
  type TotalsRow,
  type TransferRow,
} from './postgres-sql.js';
import { endedPendingIds, historyPage, toAccount, toTransfer } from './records.js';
import type { PreparedCommand } from './engine.js';
import type { Account, CurrencyTotals, Ledger, LedgerResult, OpenTransaction, Transfer } from './types.js';

export interface PostgresLedgerOptions {
  /**
   * A pool of the caller's (left open by `close`), or a connection string: the ledger then opens a
   * small pool of its own and closes it with `close`.
   */
  readonly pool: pg.Pool | string;
  /** Schema of the `ledger_` tables, created when missing (default `public`). */
  readonly schema?: string;
  /** Epoch milliseconds; defaults to `Date.now`. Tests pass a fake clock. */
  readonly clock?: () => number;
  /** A batch holds at most this many commands (default 4096). */
  readonly maxBatch?: number;
  /** Told how many jobs each group commit holds (a node's metrics). */
  readonly onBatch?: (jobs: number) => void;
}

/** How often a batch is tried when concurrent instances keep getting in its way. */
const MAX_ATTEMPTS = 20;

type Attempt = { done: true; settle: Array<() => void> } | { done: false; lockAlso: readonly string[] };

class PostgresLedger extends BatchedLedger {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    private readonly sql: LedgerSql,
    clock: () => number,
    maxBatch: number,
    onBatch?: (jobs: number) => void,
  ) {
    super(clock, maxBatch, onBatch);
  }

  protected async readAccounts(ids: readonly string[]): Promise<Account[]> {
    const { rows } = await this.pool.query<AccountRow>({ ...this.sql.selectAccounts, values: [ids] });
    return rows.map((r) => toAccount(toAccountState(r)));
  }

  async getTransfer(id: string): Promise<Transfer | undefined> {
    if (typeof id !== 'string') return undefined;
    const { rows } = await this.pool.query<TransferRow>({ ...this.sql.selectTransfer, values: [id] });
    return rows[0] === undefined ? undefined : toTransfer(toRecord(rows[0]));
  }

  protected async readHistory(accountId: string, limit: number, before: number): Promise<Transfer[]> {
    const { rows } = await this.pool.query<TransferRow>({
      ...this.sql.history,
      values: [accountId, before, limit],
    });
    const page = rows.map(toRecord);
    const ended = endedPendingIds(page);
    const enders =
      ended.length === 0
        ? []
        : (await this.pool.query<TransferRow>({ ...this.sql.selectEnders, values: [ended] })).rows.map(
            toRecord,
          );
    return historyPage(page, enders);
  }

  async totals(): Promise<CurrencyTotals[]> {
    const { rows } = await this.pool.query<TotalsRow>({ ...this.sql.totals, values: [] });
    return rows.map(toTotals);
  }

  protected async release(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * Runs in the caller's transaction on `within.client`, in a savepoint: what a concurrent instance did first
   * (see `attempt`) rolls back only the savepoint, and the commands run again. A deadlock or serialization
   * failure is thrown: the caller runs its whole transaction again.
   */
  protected async applyWithin(
    within: OpenTransaction,
    commands: PreparedCommand[],
    atomic: boolean,
  ): Promise<LedgerResult[]> {
    const client = within.client;
    if (client === undefined) {
      throw new Error('ledger: executeWithin needs the client holding the transaction');
    }
    let results: LedgerResult[] | undefined;
    const job: Job = {
      kind: 'execute',
      atomic,
      commands,
      size: commands.length,
      resolve: (r) => (results = r),
      reject: () => undefined,
    };
    let lockAlso: readonly string[] = [];
    for (let attempt = 1; ; attempt++) {
      const now = this.tick();
      const plan = planBatch([job], now, lockAlso);
      await client.query('SAVEPOINT ledger_within');
      let retry = false;
      try {
        const batch = await PostgresBatch.load(client, this.sql, plan);
        const unlocked = batch.unlockedAccounts();
        if (unlocked.length > 0) {
          lockAlso = [...lockAlso, ...unlocked];
          retry = true;
        } else {
          const settle = applyJobs(new BatchApplier(batch, now), [job], now);
          if (await batch.write(client, this.sql)) {
            await client.query('RELEASE SAVEPOINT ledger_within');
            for (const s of settle) s();
            if (results === undefined) throw new Error('ledger: missing results');
            return results;
          }
          retry = true;
        }
      } catch (e) {
        // A deadlock or serialization failure is the caller's to handle: its transaction holds locks from before
        // the savepoint, so only running all of it again resolves one.
        await client.query('ROLLBACK TO SAVEPOINT ledger_within').catch(() => undefined);
        throw e;
      }
      await client.query('ROLLBACK TO SAVEPOINT ledger_within');
      if (retry && attempt >= MAX_ATTEMPTS) {
        throw new Error(`ledger: commands still conflicting after ${attempt} attempts`);
      }
    }
  }

  protected async runBatch(jobs: Job[]): Promise<void> {
    try {
      await this.runTransaction(jobs);
    } catch (e) {
      if (jobs.length === 1) throw e;
      // One job made the database fail (a bug, or the connection broke): run the others on their own.
      for (const job of jobs) {
        try {
          await this.runTransaction([job]);
        } catch (err) {
          job.reject(err);
        }
      }
    }
  }

  /** Runs the jobs in one transaction, trying again while concurrent instances get in the way. */
  private async runTransaction(jobs: Job[]): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      let lockAlso: readonly string[] = [];
      for (let attempt = 1; ; attempt++) {
        const outcome = await this.attempt(client, jobs, lockAlso).catch((e: unknown) => {
          broken = !(e instanceof pg.DatabaseError);
          throw e;
        });
        if (outcome.done) {
          for (const s of outcome.settle) s();
          return;
        }
        if (attempt >= MAX_ATTEMPTS)
          throw new Error(`ledger: batch still conflicting after ${attempt} attempts`);
        lockAlso = outcome.lockAlso;
      }
    } finally {
      client.release(broken);
    }
  }

  private async attempt(client: pg.PoolClient, jobs: Job[], lockAlso: readonly string[]): Promise<Attempt> {
    const now = this.tick();
    const plan = planBatch(jobs, now, lockAlso);
    await client.query('BEGIN');
    try {
      const batch = await PostgresBatch.load(client, this.sql, plan);
      const unlocked = batch.unlockedAccounts();
      if (unlocked.length > 0) {
        await client.query('ROLLBACK');
        return { done: false, lockAlso: [...lockAlso, ...unlocked] };
      }
      const settle = applyJobs(new BatchApplier(batch, now), jobs, now);
      if (!(await batch.write(client, this.sql))) {
        await client.query('ROLLBACK');
        return { done: false, lockAlso };
      }
      await client.query('COMMIT');
      return { done: true, settle };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (isRetryable(e)) return { done: false, lockAlso };
      throw e;
    }
  }
}

/**
 * Creates a ledger on PostgreSQL, creating its schema and tables (or migrating them) on first use.
 * Several instances, in one process or many, may share the same schema.
 *
 * @example
 * const ledger = await createPostgresLedger({ pool: 'postgres://semops@db/semops', schema: 'processor_a' });
 * await ledger.createAccount({ id: 'acc_alice', currency: 'KES', rule: 'debits_must_not_exceed_credits', code: 'customer' });
 * await ledger.close(); // closes the pool it opened from the connection string
 */
export async function createPostgresLedger(opts: PostgresLedgerOptions): Promise<Ledger> {
  const maxBatch = maxBatchOption(opts.maxBatch);
  const schema = opts.schema ?? 'public';
  const quoted = quoteSchema(schema);
  const ownsPool = typeof opts.pool === 'string';
  const pool =
    typeof opts.pool === 'string' ? new pg.Pool({ connectionString: opts.pool, max: 4 }) : opts.pool;
  // An idle connection of our own pool that breaks must not crash the process; the next query reports it.
  if (ownsPool) pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, schema);
    } finally {
      client.release();
    }
  } catch (e) {
    if (ownsPool) await pool.end();
    throw e;
  }
  return new PostgresLedger(
    pool,
    ownsPool,
    ledgerSql(quoted),
    opts.clock ?? Date.now,
    maxBatch,
    opts.onBatch,
  );
}
