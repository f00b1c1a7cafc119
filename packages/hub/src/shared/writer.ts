/**
 * Group commit for the hub's own tables: the writes queued while one group commits run together in the next
 * database transaction (one fsync on SQLite, one commit round trip on PostgreSQL), and each caller gets its
 * result only after that transaction has committed. Groups run one at a time, so under load each one
 * gathers more writes.
 *
 * When a write fails, the group is rolled back and each of its writes runs again in a transaction of its
 * own, so a failing write undoes only itself: a write may run twice, and only its last run counts. (A
 * savepoint per write would do the same at the price of two more statements per write on every group.)
 *
 * A write is a function of the transaction it is given and awaits nothing but queries on it: above all no
 * ledger call, which on SQLite commits inside the connection lock this transaction holds (see app.ts). State
 * transitions do not read and then write: each is a conditional `UPDATE … WHERE state = 'RESERVED'`, atomic
 * on both engines even with several hub instances.
 */
import type { HubDb } from './schema.js';

export interface Writer {
  /** Runs `fn` in the next shared transaction; resolves with its result once committed. */
  write<T>(fn: (tx: HubDb) => Promise<T>): Promise<T>;
  /** Resolves once everything queued so far has committed. */
  drain(): Promise<void>;
}

interface Job {
  readonly fn: (tx: HubDb) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Runs `jobs` in one transaction and answers each after the commit; throws (rolled back) if any fails. */
async function commitTogether(
  db: HubDb,
  jobs: readonly Job[],
  onCommit: (size: number) => void,
): Promise<void> {
  const trx = await db.startTransaction().execute();
  const values: unknown[] = [];
  try {
    for (const job of jobs) values.push(await job.fn(trx));
    await trx.commit().execute();
    onCommit(jobs.length);
  } catch (error) {
    await trx
      .rollback()
      .execute()
      .catch(() => undefined);
    throw error;
  }
  jobs.forEach((job, i) => job.resolve(values[i]));
}

/** `onCommit`: told how many writes each commit held (the hub's metrics). */
export function createWriter(db: HubDb, onCommit: (size: number) => void = () => undefined): Writer {
  let queue: Job[] = [];
  let running: Promise<void> | undefined;
  let scheduled = false;

  const commitGroup = async (jobs: readonly Job[]): Promise<void> => {
    try {
      await commitTogether(db, jobs, onCommit);
    } catch (error) {
      if (jobs.length === 1) {
        jobs[0]!.reject(error);
        return;
      }
      for (const job of jobs) await commitTogether(db, [job], onCommit).catch((e: unknown) => job.reject(e));
    }
  };

  const flush = (): void => {
    scheduled = false;
    if (running !== undefined || queue.length === 0) return;
    const jobs = queue;
    queue = [];
    running = commitGroup(jobs).finally(() => {
      running = undefined;
      if (queue.length > 0) schedule();
    });
  };

  // A macrotask, so that every write queued during this turn of the event loop joins the group.
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    write<T>(fn: (tx: HubDb) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve, reject });
        if (running === undefined) schedule();
      });
    },
    async drain() {
      while (queue.length > 0 || running !== undefined || scheduled) {
        await (running ?? new Promise<void>((r) => setImmediate(r)));
      }
    },
  };
}
