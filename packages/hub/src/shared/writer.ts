/**
 * Group commit for the hub's own tables: every write queued during one turn of the event loop runs in one
 * SQLite transaction (one fsync), each inside its own savepoint so that one failing write does not undo the
 * others. Callers get their result only after the transaction has committed. better-sqlite3 is synchronous,
 * so a write function sees committed state plus the writes before it in the same batch, and nothing
 * interleaves with it: a state transition that reads and then updates a row is atomic.
 */
import type { Db } from '@semops/node';

export interface Writer {
  /** Runs `fn` in the next shared transaction; resolves with its result once committed. */
  write<T>(fn: () => T): Promise<T>;
  /** Resolves once everything queued so far has committed. */
  drain(): Promise<void>;
}

interface Job {
  readonly fn: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function createWriter(db: Db): Writer {
  let queue: Job[] = [];
  let scheduled = false;
  let idle: Promise<void> = Promise.resolve();
  let markIdle: (() => void) | undefined;

  // Called inside `batch`, a transaction function becomes a savepoint.
  const inner = db.transaction((fn: () => unknown) => fn());
  const batch = db.transaction((jobs: readonly Job[]): Outcome[] =>
    jobs.map((job) => {
      try {
        return { ok: true, value: inner(job.fn) };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );

  const flush = (): void => {
    scheduled = false;
    const jobs = queue;
    queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = batch(jobs);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      outcomes = [];
    }
    outcomes.forEach((o, i) => {
      const job = jobs[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    });
    if (queue.length === 0) {
      markIdle?.();
      markIdle = undefined;
    }
  };

  return {
    write<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve, reject });
        if (scheduled) return;
        scheduled = true;
        if (markIdle === undefined) idle = new Promise<void>((r) => (markIdle = r));
        setImmediate(flush);
      });
    },
    drain() {
      return queue.length === 0 && !scheduled ? Promise.resolve() : idle;
    },
  };
}
