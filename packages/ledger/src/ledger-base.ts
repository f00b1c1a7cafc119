// What both stores' `Ledger` share: validation on arrival, the group-commit queue, the convenience
// methods, a monotonic clock, and the application of a batch's jobs by the engine. A store supplies how
// a batch runs in a transaction and how records are read.
import { createBatcher, type BatchJob, type Batcher } from './batch.js';
import type { AccountState } from './records.js';
import type { BatchApplier, PreparedCommand } from './engine.js';
import { LedgerError } from './errors.js';
import type {
  Account,
  CreateAccountInput,
  CurrencyTotals,
  Ledger,
  LedgerCommand,
  LedgerResult,
  LedgerSuccess,
  ListTransfersOptions,
  OpenTransaction,
  PostInput,
  Transfer,
  TransferInput,
  VoidInput,
} from './types.js';
import { validateCommand } from './validate.js';

export type Job = BatchJob &
  (
    | { kind: 'execute'; atomic: boolean; commands: PreparedCommand[]; resolve(r: LedgerResult[]): void }
    | { kind: 'expire'; at: number | undefined; resolve(t: Transfer[]): void }
  );

export const DEFAULT_MAX_BATCH = 4096;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** Checks the `maxBatch` option of a store. */
export function maxBatchOption(value: number | undefined): number {
  const maxBatch = value ?? DEFAULT_MAX_BATCH;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError('maxBatch must be a positive integer');
  }
  return maxBatch;
}

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

/**
 * Applies the jobs of a batch in arrival order and returns how to settle each one; the caller settles
 * them only after its transaction has committed.
 */
export function applyJobs<A extends AccountState>(
  applier: BatchApplier<A>,
  jobs: readonly Job[],
  now: number,
): Array<() => void> {
  const settlers = jobs.map((job): (() => void) => {
    if (job.kind === 'expire') {
      const expired = applier.expire(job.at ?? now);
      return () => job.resolve(expired);
    }
    const results = job.atomic ? applier.applyAtomic(job.commands) : applier.applyEach(job.commands);
    return () => job.resolve(results);
  });
  applier.finish();
  return settlers;
}

export abstract class BatchedLedger implements Ledger {
  private readonly batcher: Batcher<Job>;
  private closed = false;
  private lastNow = 0;

  constructor(
    private readonly clock: () => number,
    maxBatch: number,
    /** Told how many jobs each batch (one commit) holds: a node's metrics. */
    onBatch: (jobs: number) => void = () => undefined,
  ) {
    this.batcher = createBatcher<Job>({
      maxBatch,
      run: (jobs) => {
        onBatch(jobs.length);
        return this.runBatch(jobs);
      },
    });
  }

  /** Runs the jobs in one transaction and settles each one (or rejects them all) after it ends. */
  protected abstract runBatch(jobs: Job[]): void | Promise<void>;
  /** Called by `close` once the queue is empty. */
  protected abstract release(): Promise<void>;
  protected abstract readAccounts(ids: readonly string[]): Promise<Account[]>;
  protected abstract readHistory(accountId: string, limit: number, before: number): Promise<Transfer[]>;
  /** Applies validated commands in the caller's open transaction and returns their results. */
  protected abstract applyWithin(
    within: OpenTransaction,
    commands: PreparedCommand[],
    atomic: boolean,
  ): Promise<LedgerResult[]>;
  abstract getTransfer(id: string): Promise<Transfer | undefined>;
  abstract totals(): Promise<CurrencyTotals[]>;

  execute(commands: readonly LedgerCommand[]): Promise<LedgerResult[]> {
    return this.submit(commands, false);
  }

  executeAtomic(commands: readonly LedgerCommand[]): Promise<LedgerResult[]> {
    return this.submit(commands, true);
  }

  async executeWithin(
    within: OpenTransaction,
    commands: readonly LedgerCommand[],
    opts: { readonly atomic?: boolean } = {},
  ): Promise<LedgerResult[]> {
    if (this.closed) throw new Error('ledger is closed');
    if (!Array.isArray(commands)) throw new LedgerError('INVALID_COMMAND', 'commands must be an array');
    if (commands.length === 0) return [];
    return this.applyWithin(
      within,
      commands.map((c: unknown) => validateCommand(c)),
      opts.atomic === true,
    );
  }

  async createAccount(input: CreateAccountInput): Promise<Account> {
    const [result] = await this.execute([{ ...input, kind: 'createAccount' }]);
    return unwrap(result, 'account');
  }

  async transfer(input: TransferInput): Promise<Transfer> {
    const [result] = await this.execute([{ ...input, kind: 'transfer' }]);
    return unwrap(result, 'transfer');
  }

  async post(input: PostInput): Promise<Transfer> {
    const [result] = await this.execute([{ ...input, kind: 'post' }]);
    return unwrap(result, 'transfer');
  }

  async void(input: VoidInput): Promise<Transfer> {
    const [result] = await this.execute([{ ...input, kind: 'void' }]);
    return unwrap(result, 'transfer');
  }

  async getAccount(id: string): Promise<Account | undefined> {
    if (typeof id !== 'string') return undefined;
    const [account] = await this.readAccounts([id]);
    return account;
  }

  async getAccounts(ids: readonly string[]): Promise<Account[]> {
    if (!Array.isArray(ids) || ids.length === 0) return [];
    const wanted = ids.filter((id): id is string => typeof id === 'string');
    const byId = new Map((await this.readAccounts(wanted)).map((a) => [a.id, a]));
    return wanted.flatMap((id) => byId.get(id) ?? []);
  }

  async listTransfers(accountId: string, opts: ListTransfersOptions = {}): Promise<Transfer[]> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const before = opts.before ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new LedgerError('INVALID_COMMAND', `limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
    if (!Number.isSafeInteger(before)) throw new LedgerError('INVALID_COMMAND', 'before must be an integer');
    if (typeof accountId !== 'string') return [];
    return this.readHistory(accountId, limit, before);
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

  async close(): Promise<void> {
    if (this.closed) {
      await this.batcher.drain();
      return;
    }
    this.closed = true;
    await this.batcher.drain();
    await this.release();
  }

  /** A clock reading that never goes back, so createdAt never does when the wall clock does. */
  protected tick(): number {
    this.lastNow = Math.max(Math.floor(this.clock()), this.lastNow);
    return this.lastNow;
  }

  /** Raises the floor of `tick`: createdAt must not be older than one already stored (SQLite). */
  protected notBefore(createdAt: number): void {
    this.lastNow = Math.max(this.lastNow, createdAt);
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
}
